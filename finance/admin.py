"""The finance admin: dashboard with charts, exports, export jobs and their audit, payout
reconciliation. Money screens and downloads need the `payments.export_payments` permission
(the finance role)."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from finance import services
from finance.charts import bar_chart
from finance.exports import minor_to_major_text
from finance.filters import ReportFilterForm, ReportFilters, publisher_tz
from finance.models import (
    ExportAudit,
    ExportFormat,
    ExportJob,
    ExportKind,
    FinanceDashboard,
    MonthlyReportSend,
    PayoutReconciliation,
)
from finance.reconciliation import (
    State,
    payout_movements,
    payout_state,
    payout_transactions_matched,
    payouts_differing,
    payouts_in_state,
    payouts_reconciled,
)
from finance.selectors import SUMMARY_MONEY_FIELDS, MonthSummary, monthly_summary
from staff.admin_base import ReadOnlyAdmin

EXPORT_PERMISSION = "payments.export_payments"


def may_export(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_staff) and request.user.has_perm(
        EXPORT_PERMISSION
    )


def default_filters(today: dt.date) -> ReportFilters:
    """The last twelve months, this one included."""
    start = today.replace(day=1)
    for _ in range(11):
        start = (start - dt.timedelta(days=1)).replace(day=1)
    return ReportFilters(since=start, until=today)


@admin.register(FinanceDashboard)
class FinanceDashboardAdmin(admin.ModelAdmin):
    """The dashboard replaces the list page; exports hang off it."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_export(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_export(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("", view(self.dashboard_view), name="finance_financedashboard_changelist"),
            path("export/", view(self.export_view), name="finance_export"),
        ]

    def _form(self, request: HttpRequest) -> tuple[ReportFilterForm, ReportFilters | None]:
        if not any(key in request.GET for key in ReportFilterForm.base_fields):
            initial = default_filters(timezone.now().astimezone(publisher_tz()).date())
            form = ReportFilterForm(initial.as_json())
        else:
            form = ReportFilterForm(request.GET)
        return form, form.filters() if form.is_valid() else None

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        if not may_export(request):
            raise Http404
        form, filters = self._form(request)
        summaries = monthly_summary(filters=filters) if filters else []
        # The download links carry the filters shown (the defaults when none were given).
        query = urlencode(filters.as_json()) if filters else ""
        context = {
            **self.admin_site.each_context(request),
            "title": "Finance dashboard",
            "opts": self.model._meta,
            "form": form,
            "filters": filters,
            "currencies": _by_currency(summaries),
            "query": query,
            "time_zone": settings.PUBLISHER_TIME_ZONE,
            "inline_max": settings.FINANCE_EXPORT_INLINE_MAX_ROWS,
            "exports": [
                (ExportKind.PAYMENTS, "Payments"),
                (ExportKind.SUMMARY, "Monthly summary"),
                (ExportKind.SUMMARY_BY_CAMPAIGN, "Summary by campaign"),
            ],
        }
        return TemplateResponse(request, "finance/admin/dashboard.html", context)

    def export_view(self, request: HttpRequest) -> HttpResponseBase:
        if not may_export(request):
            raise Http404
        dashboard = reverse("admin:finance_financedashboard_changelist")
        form = ReportFilterForm(request.GET)
        kind = request.GET.get("kind", "")
        fmt = request.GET.get("format", "")
        if kind not in ExportKind.values or fmt not in ExportFormat.values:
            messages.error(request, "Choose what to export (payments or a summary) and a format.")
            return HttpResponseRedirect(dashboard)
        if not form.is_valid():
            messages.error(request, f"The filters are not valid: {form.errors.as_text()}")
            return HttpResponseRedirect(dashboard)
        filters = form.filters()
        rows = services.export_row_estimate(kind=kind, filters=filters)
        if rows > settings.FINANCE_EXPORT_INLINE_MAX_ROWS:
            job = services.export_job_create(
                user=request.user,
                kind=kind,
                fmt=fmt,
                filters=filters,
                rows_total=rows,
            )
            messages.info(
                request,
                f"{rows:,} rows is a large export: it is being written in the background. "
                "Follow it here; you will get an e-mail with a download link when it is ready.",
            )
            return HttpResponseRedirect(reverse("admin:finance_exportjob_change", args=[job.pk]))
        name = services.export_file_name(kind=kind, fmt=fmt, filters=filters)
        if fmt == ExportFormat.CSV:
            response = StreamingHttpResponse(
                _audited_csv(request, kind, filters), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        return _xlsx_response(request, kind, filters, name)


def _audited_csv(request: HttpRequest, kind: str, filters: ReportFilters) -> Iterator[bytes]:
    """Stream the CSV; audit it when the stream ends, saying whether it reached the end."""
    export = services.CsvExport(kind=kind, filters=filters)
    try:
        yield from export
    finally:
        services.export_audit_record(
            user=request.user,
            channel=ExportAudit.Channel.ADMIN,
            kind=kind,
            fmt=ExportFormat.CSV,
            filters=filters,
            row_count=export.rows,
            completed=export.completed,
        )


def _xlsx_response(
    request: HttpRequest, kind: str, filters: ReportFilters, name: str
) -> HttpResponseBase:
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    try:
        count = services.export_file_write(
            path=handle.name, kind=kind, fmt=ExportFormat.XLSX, filters=filters
        )
        stream = open(handle.name, "rb")  # noqa: SIM115 (FileResponse closes it)
    finally:
        os.unlink(handle.name)  # the open handle keeps the data readable until closed
    services.export_audit_record(
        user=request.user,
        channel=ExportAudit.Channel.ADMIN,
        kind=kind,
        fmt=ExportFormat.XLSX,
        filters=filters,
        row_count=count,
    )
    return FileResponse(stream, as_attachment=True, filename=name)


def _by_currency(summaries: list[MonthSummary]) -> list[dict[str, Any]]:
    """Group the summary by currency, with its charts and totals, for the template."""
    currencies: dict[str, list[MonthSummary]] = {}
    for row in summaries:
        currencies.setdefault(row.currency, []).append(row)
    out = []
    for currency, rows in sorted(currencies.items()):
        labels = [f"{row.month:%b %y}" for row in rows]
        major = lambda values: [v / 100 for v in values]  # noqa: E731
        out.append(
            {
                "currency": currency,
                "rows": [
                    {
                        "row": row,
                        "money": {
                            field: minor_to_major_text(getattr(row, field), currency)
                            for field in SUMMARY_MONEY_FIELDS
                        },
                    }
                    for row in rows
                ],
                "income_chart": bar_chart(
                    title=f"Gross and net after refunds and disputes ({currency})",
                    labels=labels,
                    series=[
                        ("gross", major([r.gross for r in rows])),
                        ("net after all", major([r.net_after_refunds_and_disputes for r in rows])),
                        ("refunds + disputes", major([r.refunds + r.disputes for r in rows])),
                    ],
                    unit=currency,
                ),
                "recurring_chart": bar_chart(
                    title=f"Monthly recurring revenue ({currency})",
                    labels=labels,
                    series=[("MRR", major([r.mrr for r in rows]))],
                    unit=currency,
                ),
                "supporters_chart": bar_chart(
                    title="Supporters",
                    labels=labels,
                    series=[
                        ("new", [r.new_supporters for r in rows]),
                        ("active monthly", [r.active_monthly_supporters for r in rows]),
                        ("churned", [r.churned_supporters for r in rows]),
                    ],
                    integer=True,
                ),
            }
        )
    return out


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "format", "status", "progress", "requested_by")
    list_filter = ("status", "kind", "format")
    readonly_fields = (
        "kind",
        "format",
        "filters",
        "status",
        "progress",
        "requested_by",
        "created_at",
        "started_at",
        "finished_at",
        "expires_at",
        "error",
    )
    fields = readonly_fields
    change_form_template = "finance/admin/exportjob_change_form.html"

    def has_module_permission(self, request: HttpRequest) -> bool:
        return may_export(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return may_export(request) and super().has_view_permission(request, obj)

    @admin.display(description="progress")
    def progress(self, job: ExportJob) -> str:
        return f"{job.rows_done:,} of {job.rows_total:,} rows ({job.percent}%)"

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path(
                "download/<str:token>/",
                view(self.download_view),
                name="finance_exportjob_download",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        job = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if job is not None:
            extra["job"] = job
            extra["refresh"] = job.status in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING)
            if job.status == ExportJob.Status.DONE:
                extra["download_url"] = services.export_link_url(job=job)
        return super().change_view(request, object_id, form_url, extra)

    def download_view(self, request: HttpRequest, token: str) -> HttpResponseBase:
        if not may_export(request):
            raise Http404
        job = services.export_link_job(token=token)
        if job is None or not job.file_name or not default_storage.exists(job.file_name):
            return TemplateResponse(
                request,
                "finance/admin/link_expired.html",
                {**self.admin_site.each_context(request), "title": "Download link expired"},
                status=410,
            )
        filters = ReportFilters.from_json(job.filters)
        services.export_audit_record(
            user=request.user,
            channel=ExportAudit.Channel.ADMIN,
            kind=job.kind,
            fmt=job.format,
            filters=filters,
            row_count=job.rows_done,
        )
        name = services.export_file_name(kind=job.kind, fmt=job.format, filters=filters)
        return FileResponse(default_storage.open(job.file_name), as_attachment=True, filename=name)


@admin.register(ExportAudit)
class ExportAuditAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "username", "channel", "kind", "format", "row_count", "completed")
    list_filter = ("channel", "kind", "format", "completed")
    search_fields = ("username",)
    date_hierarchy = "created_at"


@admin.register(MonthlyReportSend)
class MonthlyReportSendAdmin(ReadOnlyAdmin):
    list_display = ("month", "recipients", "payment_rows", "sent_at")


class DifferenceFilter(admin.SimpleListFilter):
    title = "reconciliation"
    parameter_name = "reconciled"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Differs from the ledger"), ("yes", "Matches the ledger")]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() == "no":
            return queryset.filter(payouts_differing())
        if self.value() == "yes":
            return queryset.exclude(payouts_differing())
        return queryset


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(State.LABELS.items())

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() in State.LABELS:
            return payouts_in_state(queryset, str(self.value()))
        return queryset


@admin.register(PayoutReconciliation)
class PayoutReconciliationAdmin(ReadOnlyAdmin):
    list_display = (
        "stripe_payout_id",
        "arrival_date",
        "status",
        "payout_amount",
        "ledger",
        "flag",
        "state",
    )
    list_filter = (DifferenceFilter, StateFilter, "currency", "status", "automatic")
    search_fields = ("stripe_payout_id",)
    date_hierarchy = "arrival_date"
    change_form_template = "finance/admin/payout_reconciliation.html"

    def get_queryset(self, request: HttpRequest) -> Any:
        return payouts_reconciled(super().get_queryset(request))

    @admin.display(description="payout", ordering="amount_minor")
    def payout_amount(self, payout: Any) -> str:
        return f"{minor_to_major_text(payout.amount_minor, payout.currency)} {payout.currency}"

    @admin.display(description="ledger", ordering="ledger_total")
    def ledger(self, payout: Any) -> str:
        return f"{minor_to_major_text(payout.ledger_total, payout.currency)} {payout.currency}"

    @admin.display(description="difference", ordering="unexplained")
    def flag(self, payout: Any) -> str:
        state = payout_state(payout)
        if state in (State.MANUAL, State.UNDONE):
            return "-"
        if payout.unmatched_count:
            return f"⚠ {payout.unmatched_count} not in the ledger"
        if payout.transactions_count and payout.rows_difference:
            amount = minor_to_major_text(payout.rows_difference, payout.currency)
            return f"⚠ {amount} {payout.currency} against its transactions"
        if payout.unexplained == 0:
            return "✓ matches"
        return f"⚠ {minor_to_major_text(payout.unexplained, payout.currency)} {payout.currency}"

    @admin.display(description="state")
    def state(self, payout: Any) -> str:
        return State.LABELS[payout_state(payout)]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        payout = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if payout is not None:
            movements = payout_movements(payout=payout)
            extra["payout"] = payout
            extra["state"] = State.LABELS[payout_state(payout)]
            extra["movements"] = [
                (m, minor_to_major_text(m.amount_minor, m.currency)) for m in movements
            ]
            extra["transactions"] = [
                (
                    match,
                    {
                        "amount_minor": minor_to_major_text(match.row.amount_minor, currency),
                        "fee_minor": minor_to_major_text(match.row.fee_minor, currency),
                        "net_minor": minor_to_major_text(match.row.net_minor, currency),
                        "differs_by": minor_to_major_text(match.differs_by, currency),
                    },
                )
                for match in payout_transactions_matched(payout=payout)
                for currency in (match.row.currency,)
            ]
            extra["amounts"] = {
                name: minor_to_major_text(getattr(payout, name), payout.currency)
                for name in (
                    "amount_minor",
                    "payments_net",
                    "refunds_total",
                    "disputes_net",
                    "ledger_total",
                    "difference",
                    "transactions_total",
                    "rows_difference",
                    "stripe_only_total",
                    "unexplained",
                )
            }
        return super().change_view(request, object_id, form_url, extra)
