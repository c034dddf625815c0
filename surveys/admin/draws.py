"""Admin for prize draws: running them, entries, placements and the append-only audit log."""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest

from antiabuse.email_address import email_normalise
from staff.admin_base import PersonalDataAdminMixin, ReadOnlyAdmin
from surveys.admin.common import field_names
from surveys.models import (
    ConsentRecord,
    DrawAuditEvent,
    DrawPlacement,
    DrawTerms,
    Entry,
    Prize,
    PrizeDraw,
)
from surveys.services import draws as draw_services
from surveys.services.entries import entry_disqualify


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

    def has_run_draw_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("surveys.run_draw")

    def _step(self, request: HttpRequest, queryset: QuerySet[PrizeDraw], step: Any) -> None:
        if not self.has_run_draw_permission(request):
            raise PermissionDenied
        for draw in queryset:
            try:
                step(draw_id=draw.pk, actor=request.user.get_username())
            except draw_services.DrawError as error:
                self.message_user(request, f"{draw}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{draw}: done.", messages.SUCCESS)

    @admin.action(description="Open entries (publish the commitment)", permissions=["run_draw"])
    def open_entries(self, request: HttpRequest, queryset: QuerySet[PrizeDraw]) -> None:
        self._step(request, queryset, draw_services.draw_open)

    @admin.action(
        description="Close entries (freeze and publish the fingerprint)", permissions=["run_draw"]
    )
    def close_entries(self, request: HttpRequest, queryset: QuerySet[PrizeDraw]) -> None:
        self._step(request, queryset, draw_services.draw_close)

    @admin.action(
        description="Run the draw (rank, notify winners, reveal the seed)", permissions=["run_draw"]
    )
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
class EntryAdmin(PersonalDataAdminMixin, ReadOnlyAdmin):
    """Entries; e-mail addresses are shown and searchable only with the personal-data permission."""

    list_display = ("public_id", "email", "draw", "status", "flagged_fast", "created_at")
    list_filter = ["status", "flagged_fast", "draw"]
    list_select_related = ["draw"]
    search_fields = ["public_id", "email"]
    fields = readonly_fields = tuple(field_names(Entry, exclude=["email_normalised"]))
    inlines = [ConsentInline]
    actions = ["disqualify"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Entry], search_term: str
    ) -> tuple[QuerySet[Entry], bool]:
        results, duplicates = super().get_search_results(request, queryset, search_term)
        if self.sees_personal_data(request) and "@" in search_term:
            # The same person under another spelling (dots, +tags, case).
            same_person = queryset.filter(email_normalised=email_normalise(search_term))
            results = results | same_person
        return results, duplicates

    def has_disqualify_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("surveys.change_entry")

    @admin.action(description="Disqualify (before the draw closes)", permissions=["disqualify"])
    def disqualify(self, request: HttpRequest, queryset: QuerySet[Entry]) -> None:
        if not self.has_disqualify_permission(request):
            raise PermissionDenied
        for entry in queryset:
            try:
                entry_disqualify(
                    entry_id=entry.pk, reason="staff review", actor=request.user.get_username()
                )
            except draw_services.DrawError as error:
                self.message_user(request, f"{entry}: {error}", messages.ERROR)


@admin.register(DrawPlacement)
class DrawPlacementAdmin(PersonalDataAdminMixin, ReadOnlyAdmin):
    list_display = ["draw", "rank", "prize", "status", "claim_expires_at", "claimed_at"]
    list_filter = ["status", "draw"]
    list_select_related = ["draw", "prize"]
    actions = ["rule_ineligible"]
    exclude = ["claim_nonce", "first_name", "county"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return field_names(DrawPlacement, exclude=self.exclude)

    def has_run_draw_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("surveys.run_draw")

    @admin.action(
        description="Rule ineligible (the prize passes to the next reserve)",
        permissions=["run_draw"],
    )
    def rule_ineligible(self, request: HttpRequest, queryset: QuerySet[DrawPlacement]) -> None:
        if not self.has_run_draw_permission(request):
            raise PermissionDenied
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
