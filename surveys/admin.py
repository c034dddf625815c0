"""The admin: building surveys, reading results and exports, running draws, the audit log."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from surveys import results
from surveys.email_address import email_normalise
from surveys.models import (
    ConsentRecord,
    DrawAuditEvent,
    DrawPlacement,
    DrawTerms,
    Entry,
    Prize,
    PrizeDraw,
    Question,
    Response,
    Survey,
    SurveyVersion,
)
from surveys.services import draws as draw_services
from surveys.services.entries import entry_disqualify
from surveys.services.surveys import survey_version_publish

PERSONAL_DATA_PERMISSION = "surveys.view_personal_data"


class QuestionInline(admin.StackedInline[Question, Survey]):
    model = Question
    extra = 0
    fields = [
        ("key", "kind", "page", "position", "required"),
        "text",
        "help_text",
        "choices",
        ("allow_other", "shuffle_choices", "min_choices", "max_choices"),
        ("show_if_key", "show_if_value"),
    ]


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin[Survey]):
    list_display = ["title", "status", "updated_at", "results_link"]
    list_filter = ["status"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [QuestionInline]
    fields = ["title", "slug", "status", "intro", "thank_you", "fast_completion_seconds"]

    @admin.display(description="Results")
    def results_link(self, obj: Survey) -> str:
        return format_html(
            '<a href="{}">Results</a>', reverse("admin:surveys_survey_results", args=[obj.pk])
        )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if form.instance.questions.exists():
            version = survey_version_publish(survey=form.instance)
            self.message_user(request, f"Readers now answer version {version.number}.")

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<int:survey_id>/results/",
                self.admin_site.admin_view(self.results_view),
                name="surveys_survey_results",
            ),
            path(
                "<int:survey_id>/export.<str:file_format>",
                self.admin_site.admin_view(self.export_view),
                name="surveys_survey_export",
            ),
        ]
        return own + super().get_urls()

    def _survey_and_version(
        self, request: HttpRequest, survey_id: int
    ) -> tuple[Survey, SurveyVersion | None]:
        survey = get_object_or_404(Survey, pk=survey_id)
        if not self.has_view_permission(request, survey):
            raise PermissionDenied
        version = None
        number = request.GET.get("version", "")
        if number.isdigit():
            version = survey.versions.filter(number=int(number)).first()
        return survey, version

    def results_view(self, request: HttpRequest, survey_id: int) -> HttpResponse:
        survey, version = self._survey_and_version(request, survey_id)
        data = results.survey_results(survey=survey, version=version)
        choice_questions = [
            q
            for q in results.questions_for(survey, version)
            if q["kind"] in results.CHOICE_KINDS_FOR_CROSSTAB
        ]
        keys = {q["key"]: q for q in choice_questions}
        row_key, column_key = request.GET.get("row", ""), request.GET.get("column", "")
        table = None
        if row_key in keys and column_key in keys and row_key != column_key:
            counts = results.crosstab(
                survey=survey, row_key=row_key, column_key=column_key, version=version
            )
            table = {
                "row": keys[row_key],
                "column": keys[column_key],
                "rows": [
                    (
                        choice["label"],
                        [
                            counts.get(choice["value"], {}).get(c["value"], 0)
                            for c in keys[column_key]["choices"]
                        ],
                    )
                    for choice in keys[row_key]["choices"]
                ],
            }
        per_day = results.responses_per_day(survey=survey, version=version)
        peak = max((row["n"] for row in per_day), default=0) or 1
        per_day_bars = [
            {
                **row,
                "x": 14 * i,
                "h": round(120 * row["n"] / peak),
                "y": 122 - round(120 * row["n"] / peak),
            }
            for i, row in enumerate(per_day)
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Results: {survey.title}",
            "survey": survey,
            "version": version,
            "versions": list(survey.versions.order_by("number")),
            "data": data,
            "choice_questions": choice_questions,
            "row_key": row_key,
            "column_key": column_key,
            "table": table,
            "per_day": per_day,
            "per_day_bars": per_day_bars,
            "per_day_width": max(14 * len(per_day), 14),
            "can_see_personal_data": request.user.has_perm(PERSONAL_DATA_PERMISSION),
        }
        return TemplateResponse(request, "surveys/admin/results.html", context)

    def export_view(
        self, request: HttpRequest, survey_id: int, file_format: str
    ) -> HttpResponseBase:
        survey, version = self._survey_and_version(request, survey_id)
        personal = request.user.has_perm(PERSONAL_DATA_PERMISSION)
        rows = results.export_rows(survey=survey, version=version, personal=personal)
        name = f"{survey.slug}-responses" + (f"-v{version.number}" if version else "")
        if file_format == "csv":
            response = StreamingHttpResponse(results.csv_stream(rows), content_type="text/csv")
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
            return response
        if file_format == "xlsx":
            return FileResponse(
                results.xlsx_file(rows),
                as_attachment=True,
                filename=f"{name}.xlsx",
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        raise Http404("unknown export format")


def _field_names(model: Any, *, exclude: list[str]) -> list[str]:
    return [f.name for f in model._meta.fields if f.name not in exclude and f.name != "id"]


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SurveyVersion)
class SurveyVersionAdmin(ReadOnlyAdmin):
    list_display = ["survey", "number", "created_at"]
    list_filter = ["survey"]


@admin.register(Response)
class ResponseAdmin(ReadOnlyAdmin):
    list_display = ["id", "survey", "version", "submitted_at", "duration_seconds", "flagged_fast"]
    list_filter = ["flagged_fast", "survey"]
    list_select_related = ["survey", "version__survey"]
    date_hierarchy = "submitted_at"


class PrizeInline(admin.TabularInline[Prize, PrizeDraw]):
    model = Prize
    extra = 0

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or obj.status == PrizeDraw.Status.DRAFT

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission


class TermsInline(admin.StackedInline[DrawTerms, PrizeDraw]):
    """Terms are versioned: add a new version, never edit one entrants may have accepted."""

    model = DrawTerms
    extra = 0
    fields = ["version", "text", "created_at"]
    readonly_fields = ["created_at"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PlacementInline(admin.TabularInline[DrawPlacement, PrizeDraw]):
    model = DrawPlacement
    extra = 0
    fields = readonly_fields = (
        "rank",
        "entry_public_id",
        "prize",
        "status",
        "claim_expires_at",
        "claimed_at",
    )
    can_delete = False

    @admin.display(description="Entry")
    def entry_public_id(self, obj: DrawPlacement) -> str:
        return obj.entry.public_id

    def get_queryset(self, request: HttpRequest) -> QuerySet[DrawPlacement]:
        return super().get_queryset(request).select_related("entry", "prize")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AuditInline(admin.TabularInline[DrawAuditEvent, PrizeDraw]):
    """The draw's own steps; per-entry events (one per confirmation) are in the audit log list."""

    model = DrawAuditEvent
    verbose_name_plural = "audit log (draw steps; every event is under Draw audit events)"
    extra = 0
    fields = readonly_fields = ("at", "action", "actor", "details")
    can_delete = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[DrawAuditEvent]:
        return super().get_queryset(request).exclude(action__startswith="entry_")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PrizeDraw)
class PrizeDrawAdmin(admin.ModelAdmin[PrizeDraw]):
    list_display = ["title", "survey", "status", "opens_at", "closes_at", "entries_count"]
    list_filter = ["status"]
    list_select_related = ["survey"]
    inlines = [PrizeInline, TermsInline, PlacementInline, AuditInline]
    actions = ["open_entries", "close_entries", "run_draw"]
    proof_fields = [
        "status",
        "commitment",
        "entries_fingerprint",
        "entries_count",
        "opened_at",
        "closed_at",
        "drawn_at",
        "completed_at",
        "personal_data_erased_at",
        "revealed_seed",
    ]
    fieldsets = [
        (None, {"fields": ["survey", "title", "opens_at", "closes_at", "reserves_count"]}),
        (
            "Eligibility and claims",
            {
                "fields": [
                    "minimum_age",
                    "allowed_countries",
                    "excluded_email_domains",
                    "claim_days",
                ]
            },
        ),
        (
            "Public randomness (optional, before close, once)",
            {"fields": ["public_randomness", "public_randomness_source"]},
        ),
        ("Proof", {"fields": list(proof_fields)}),
    ]

    @admin.display(description="Seed")
    def revealed_seed(self, obj: PrizeDraw) -> str:
        return obj.seed if obj.seed_revealed else "(secret until the draw)"

    def get_readonly_fields(self, request: HttpRequest, obj: PrizeDraw | None = None) -> list[str]:
        fields = list(self.proof_fields)
        if obj is not None and obj.status != PrizeDraw.Status.DRAFT:
            fields += ["survey", "opens_at", "closes_at", "reserves_count", "minimum_age"]
            fields += ["allowed_countries", "excluded_email_domains", "claim_days"]
        if obj is not None and (
            obj.public_randomness
            or obj.status not in (PrizeDraw.Status.DRAFT, PrizeDraw.Status.OPEN)
        ):
            fields += ["public_randomness", "public_randomness_source"]
        return fields

    def save_model(self, request: HttpRequest, obj: PrizeDraw, form: Any, change: bool) -> None:
        randomness = obj.public_randomness
        if change and "public_randomness" in form.changed_data:
            obj.public_randomness = ""
            obj.public_randomness_source = ""
        super().save_model(request, obj, form, change)
        if change and randomness and "public_randomness" in form.changed_data:
            try:
                draw_services.draw_public_randomness_set(
                    draw_id=obj.pk,
                    value=randomness,
                    source=form.cleaned_data.get("public_randomness_source", ""),
                    actor=request.user.get_username(),
                )
            except draw_services.DrawError as error:
                self.message_user(request, str(error), messages.ERROR)

    def _step(self, request: HttpRequest, queryset: QuerySet[PrizeDraw], step: Any) -> None:
        if not request.user.has_perm("surveys.run_draw"):
            raise PermissionDenied
        for draw in queryset:
            try:
                step(draw_id=draw.pk, actor=request.user.get_username())
            except draw_services.DrawError as error:
                self.message_user(request, f"{draw}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{draw}: done.", messages.SUCCESS)

    @admin.action(description="Open entries (publish the commitment)")
    def open_entries(self, request: HttpRequest, queryset: QuerySet[PrizeDraw]) -> None:
        self._step(request, queryset, draw_services.draw_open)

    @admin.action(description="Close entries (freeze and publish the fingerprint)")
    def close_entries(self, request: HttpRequest, queryset: QuerySet[PrizeDraw]) -> None:
        self._step(request, queryset, draw_services.draw_close)

    @admin.action(description="Run the draw (rank, notify winners, reveal the seed)")
    def run_draw(self, request: HttpRequest, queryset: QuerySet[PrizeDraw]) -> None:
        self._step(request, queryset, draw_services.draw_run)


class ConsentInline(admin.TabularInline[ConsentRecord, Entry]):
    model = ConsentRecord
    extra = 0
    fields = readonly_fields = ("kind", "granted", "wording", "recorded_at")
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    """Entries; e-mail addresses are shown and searchable only with the personal-data permission."""

    columns = ("public_id", "draw", "status", "flagged_fast", "created_at")
    list_display = columns
    list_filter = ["status", "flagged_fast", "draw"]
    list_select_related = ["draw"]
    inlines = [ConsentInline]
    actions = ["disqualify"]

    @staticmethod
    def _personal(request: HttpRequest) -> bool:
        return request.user.has_perm(PERSONAL_DATA_PERMISSION)

    def get_list_display(self, request: HttpRequest) -> tuple[str, ...]:
        first, *rest = self.columns
        return (first, "email", *rest) if self._personal(request) else self.columns

    def _visible_fields(self, request: HttpRequest) -> list[str]:
        hidden = [] if self._personal(request) else ["email"]
        return _field_names(Entry, exclude=["email_normalised", *hidden])

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return list(self._visible_fields(request))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self._visible_fields(request)

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return ["public_id", "email"] if self._personal(request) else ["public_id"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Entry], search_term: str
    ) -> tuple[QuerySet[Entry], bool]:
        results, duplicates = super().get_search_results(request, queryset, search_term)
        if self._personal(request) and "@" in search_term:
            # The same person under another spelling (dots, +tags, case).
            same_person = queryset.filter(email_normalised=email_normalise(search_term))
            results = results | same_person
        return results, duplicates

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Only so that the disqualify action shows; the change form has no editable field.
        return request.user.has_perm("surveys.change_entry")

    @admin.action(description="Disqualify (before the draw closes)")
    def disqualify(self, request: HttpRequest, queryset: QuerySet[Entry]) -> None:
        for entry in queryset:
            try:
                entry_disqualify(
                    entry_id=entry.pk, reason="staff review", actor=request.user.get_username()
                )
            except draw_services.DrawError as error:
                self.message_user(request, f"{entry}: {error}", messages.ERROR)


@admin.register(DrawPlacement)
class DrawPlacementAdmin(ReadOnlyAdmin):
    list_display = ["draw", "rank", "prize", "status", "claim_expires_at", "claimed_at"]
    list_filter = ["status", "draw"]
    list_select_related = ["draw", "prize"]
    actions = ["rule_ineligible"]
    exclude = ["claim_nonce", "first_name", "county"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return _field_names(DrawPlacement, exclude=self.exclude)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("surveys.run_draw")

    @admin.action(description="Rule ineligible (the prize passes to the next reserve)")
    def rule_ineligible(self, request: HttpRequest, queryset: QuerySet[DrawPlacement]) -> None:
        for placement in queryset:
            try:
                draw_services.placement_mark_ineligible(
                    placement_id=placement.pk,
                    reason="ruled ineligible by staff",
                    actor=request.user.get_username(),
                )
            except draw_services.DrawError as error:
                self.message_user(request, f"{placement}: {error}", messages.ERROR)


@admin.register(DrawAuditEvent)
class DrawAuditEventAdmin(ReadOnlyAdmin):
    """The audit log can be read; nobody, superusers included, can add, change or delete it."""

    list_display = ["at", "draw", "action", "actor"]
    list_filter = ["action", "draw"]
    list_select_related = ["draw"]
    readonly_fields = ["draw", "at", "action", "actor", "details"]
    actions = None
