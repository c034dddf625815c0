"""Admin for building surveys and reading their results and exports."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
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

from staff.admin_base import ReadOnlyAdmin
from surveys import results
from surveys.admin.common import PERSONAL_DATA_PERMISSION
from surveys.models import Question, Response, Survey, SurveyVersion
from surveys.services.surveys import survey_version_publish


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
