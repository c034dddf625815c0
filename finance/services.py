"""Writes for finance: exports (to a file, audited), export jobs, and the monthly report."""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from branding.mail import mail_compose, site_link
from finance import pg_copy
from finance.exports import CHUNK_SIZE, csv_lines, xlsx_write
from finance.filters import ReportFilters
from finance.models import ExportAudit, ExportFormat, ExportJob, ExportKind, MonthlyReportSend
from finance.selectors import (
    PAYMENT_COLUMNS,
    PAYMENT_CURRENCY_INDEX,
    Column,
    monthly_summary,
    payment_rows,
    payments_filtered,
    summary_columns,
)

logger = logging.getLogger(__name__)

EXPORT_DIR = "finance-exports"
LINK_SALT = "finance.export-download"
PROGRESS_EVERY = 5000


def export_source(
    *, kind: str, filters: ReportFilters
) -> tuple[Sequence[Column], Iterable[Sequence[Any]], int]:
    """Return the columns, the rows (streamed for payments) and the index of the currency."""
    if kind == ExportKind.PAYMENTS:
        streamed = payment_rows(filters=filters).iterator(chunk_size=CHUNK_SIZE)
        return PAYMENT_COLUMNS, streamed, PAYMENT_CURRENCY_INDEX
    by_campaign = kind == ExportKind.SUMMARY_BY_CAMPAIGN
    columns = summary_columns(by_campaign=by_campaign)
    summaries = monthly_summary(filters=filters, by_campaign=by_campaign)
    rows = [tuple(getattr(s, column.field) for column in columns) for s in summaries]
    return columns, rows, 1


def export_row_estimate(*, kind: str, filters: ReportFilters) -> int:
    """Return how many rows an export will have (exact for payments, a bound for summaries)."""
    if kind == ExportKind.PAYMENTS:
        return payments_filtered(filters=filters).count()
    return 0


def export_file_write(
    *,
    path: str,
    kind: str,
    fmt: str,
    filters: ReportFilters,
    on_row: Callable[[int], None] | None = None,
) -> int:
    """Write an export to a local file; return the number of data rows."""
    columns, rows, currency_index = export_source(kind=kind, filters=filters)
    if fmt == ExportFormat.XLSX:
        sheet = dict(ExportKind.choices)[kind][:31]
        return xlsx_write(
            path=path,
            sheet=sheet,
            columns=columns,
            rows=rows,
            currency_index=currency_index,
            on_row=on_row,
        )
    export = CsvExport(kind=kind, filters=filters, on_row=on_row)
    with open(path, "wb") as out:
        for chunk in export:
            out.write(chunk)
    return export.rows


class CsvExport:
    """The CSV of an export as UTF-8 byte chunks (the first starts with the BOM).

    Payments on PostgreSQL come straight from `COPY ... TO STDOUT` (see `finance.pg_copy`);
    everything else is formatted here, streamed from a server-side cursor. After iteration,
    `rows` is the number of data rows and `completed` says whether the end was reached.
    """

    BLOCK = 64 * 1024

    def __init__(
        self,
        *,
        kind: str,
        filters: ReportFilters,
        on_row: Callable[[int], None] | None = None,
        use_copy: bool | None = None,
    ) -> None:
        self.kind, self.filters, self.on_row = kind, filters, on_row
        if use_copy is None:
            use_copy = kind == ExportKind.PAYMENTS and pg_copy.available()
        self.use_copy = use_copy
        self.rows = 0
        self.completed = False

    def __iter__(self) -> Iterator[bytes]:
        if self.use_copy:
            copy = pg_copy.PaymentsCsvCopy(filters=self.filters, on_row=self.on_row)
            for chunk in copy:
                self.rows = copy.total
                yield chunk
            self.rows, self.completed = copy.total, copy.completed
            return

        def counted(n: int) -> None:
            self.rows = n
            if self.on_row is not None:
                self.on_row(n)

        columns, rows, currency_index = export_source(kind=self.kind, filters=self.filters)
        buffer: list[str] = []
        size = 0
        for line in csv_lines(
            columns=columns, rows=rows, currency_index=currency_index, on_row=counted
        ):
            buffer.append(line)
            size += len(line)
            if size >= self.BLOCK:
                yield "".join(buffer).encode("utf-8")
                buffer.clear()
                size = 0
        if buffer:
            yield "".join(buffer).encode("utf-8")
        self.completed = True


def export_audit_record(
    *,
    user: Any,
    channel: str,
    kind: str,
    fmt: str,
    filters: ReportFilters,
    row_count: int,
    completed: bool = True,
    username: str = "",
) -> ExportAudit:
    """Append one record to the export audit (`username` names a non-staff requester)."""
    account = user if user is not None and user.is_authenticated else None
    return ExportAudit.objects.create(
        user=account,
        username=account.get_username() if account is not None else username,
        channel=channel,
        kind=kind,
        format=fmt,
        filters=filters.as_json(),
        row_count=row_count,
        completed=completed,
    )


def export_file_name(*, kind: str, fmt: str, filters: ReportFilters) -> str:
    """Return a descriptive download name, e.g. payments-2026-01-01-to-2026-03-31.csv."""
    period = ""
    if filters.since or filters.until:
        period = f"-{filters.since or 'start'}-to-{filters.until or 'now'}"
    return f"{kind.replace('_', '-')}{period}.{fmt}"


# --- Export jobs (large admin exports, run by a worker) -----------------------------------------


def export_job_create(
    *, user: Any, kind: str, fmt: str, filters: ReportFilters, rows_total: int
) -> ExportJob:
    """Record a job and enqueue it once the transaction commits."""
    from finance.tasks import export_job_run_task

    job = ExportJob.objects.create(
        requested_by=user,
        kind=kind,
        format=fmt,
        filters=filters.as_json(),
        rows_total=rows_total,
    )
    job_id = str(job.pk)
    transaction.on_commit(lambda: export_job_run_task.delay(job_id))
    return job


def export_job_run(*, job_id: str) -> ExportJob | None:
    """Write the job's file, then e-mail the requester a signed, expiring link. Safe to rerun:
    a finished job is left alone, an interrupted one starts again."""
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in (ExportJob.Status.QUEUED, ExportJob.Status.RUNNING):
            return job
        job.status = ExportJob.Status.RUNNING
        job.started_at = timezone.now()
        job.rows_done = 0
        job.save(update_fields=["status", "started_at", "rows_done"])

    filters = ReportFilters.from_json(job.filters)

    shown = 0

    def progress(n: int) -> None:
        nonlocal shown
        if n - shown >= PROGRESS_EVERY:
            shown = n
            ExportJob.objects.filter(pk=job.pk).update(rows_done=n)

    try:
        with tempfile.TemporaryDirectory() as tmp:
            local = os.path.join(tmp, f"export.{job.format}")
            rows = export_file_write(
                path=local, kind=job.kind, fmt=job.format, filters=filters, on_row=progress
            )
            with open(local, "rb") as handle:
                name = default_storage.save(f"{EXPORT_DIR}/{job.pk}.{job.format}", File(handle))
    except Exception as error:
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportJob.Status.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
        raise

    now = timezone.now()
    with transaction.atomic():
        current = ExportJob.objects.select_for_update().get(pk=job.pk)
        if current.status != ExportJob.Status.RUNNING or current.started_at != job.started_at:
            # Someone's personal data was erased while this file was written (or the job was
            # restarted): the file may hold it, and the job is written again.
            default_storage.delete(name)
            return current
        job.status = ExportJob.Status.DONE
        job.rows_done = job.rows_total = rows
        job.file_name = name
        job.finished_at = now
        job.expires_at = now + dt.timedelta(hours=settings.FINANCE_EXPORT_LINK_HOURS)
        job.save(
            update_fields=[
                "status",
                "rows_done",
                "rows_total",
                "file_name",
                "finished_at",
                "expires_at",
            ]
        )
        export_audit_record(
            user=job.requested_by,
            channel=ExportAudit.Channel.WORKER,
            kind=job.kind,
            fmt=job.format,
            filters=filters,
            row_count=rows,
        )
        transaction.on_commit(lambda: _export_job_notify(job))
    return job


def export_link_token(*, job: ExportJob) -> str:
    return signing.TimestampSigner(salt=LINK_SALT).sign(str(job.pk))


def export_link_url(*, job: ExportJob) -> str:
    path = reverse("admin:finance_exportjob_download", args=[export_link_token(job=job)])
    return site_link(path)


def export_link_job(*, token: str) -> ExportJob | None:
    """Return the finished, unexpired job a download token points to, or None."""
    max_age = dt.timedelta(hours=settings.FINANCE_EXPORT_LINK_HOURS)
    try:
        job_id = signing.TimestampSigner(salt=LINK_SALT).unsign(token, max_age=max_age)
    except signing.BadSignature:
        return None
    job = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.DONE).first()
    if job is None or job.expires_at is None or job.expires_at <= timezone.now():
        return None
    return job


def _export_job_notify(job: ExportJob) -> None:
    email = job.requested_by.email
    if not email:
        return
    context = {
        "rows": job.rows_done,
        "hours": settings.FINANCE_EXPORT_LINK_HOURS,
        "link": export_link_url(job=job),
    }
    mail_compose(
        template="finance/email/export_ready",
        subject=f"Your export is ready: {job}",
        to=[email],
        context=context,
    ).send()


def export_files_expire(*, now: dt.datetime | None = None) -> int:
    """Delete the files of expired jobs; return how many were removed."""
    now = now or timezone.now()
    removed = 0
    for job in ExportJob.objects.filter(status=ExportJob.Status.DONE, expires_at__lte=now):
        if job.file_name and default_storage.exists(job.file_name):
            default_storage.delete(job.file_name)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.EXPIRED, file_name="")
        removed += 1
    return removed


# --- The monthly report -------------------------------------------------------------------------

REPORT_LEASE = dt.timedelta(minutes=30)


def previous_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def monthly_report_send(*, month: dt.date) -> MonthlyReportSend | None:
    """E-mail the month's summary and payments to the finance addresses, once per month.

    The send ledger row is claimed first (unique on the month); a claim older than a lease is
    taken to be a crashed run and retried. Returns None when there is nobody to send to or the
    month was already sent (or is being sent right now).
    """
    recipients = list(settings.FINANCE_REPORT_EMAILS)
    if not recipients:
        return None
    month = month.replace(day=1)
    now = timezone.now()
    send, _ = MonthlyReportSend.objects.get_or_create(
        month=month, defaults={"recipients": ", ".join(recipients)}
    )
    claimed = (
        MonthlyReportSend.objects.filter(pk=send.pk, sent_at__isnull=True)
        .exclude(claimed_at__gt=now - REPORT_LEASE)
        .update(claimed_at=now, recipients=", ".join(recipients))
    )
    if not claimed:
        return None

    next_month = (month + dt.timedelta(days=32)).replace(day=1)
    filters = ReportFilters(since=month, until=next_month - dt.timedelta(days=1))
    with tempfile.TemporaryDirectory() as tmp:
        counts = {}
        attachments = []
        for kind in (ExportKind.SUMMARY, ExportKind.PAYMENTS):
            path = os.path.join(tmp, f"{kind}.csv")
            counts[kind] = export_file_write(
                path=path, kind=kind, fmt=ExportFormat.CSV, filters=filters
            )
            with open(path, "rb") as handle:
                attachments.append((f"{kind}-{month:%Y-%m}.csv", handle.read(), "text/csv"))
    message = mail_compose(
        template="finance/email/monthly_report",
        subject=f"Contributions report for {month:%B %Y}",
        to=recipients,
        context={
            "month": month,
            "time_zone": settings.PUBLISHER_TIME_ZONE,
            "rows": _monthly_rows(month, monthly_summary(filters=filters)),
            "payment_rows": counts[ExportKind.PAYMENTS],
            "dashboard_link": site_link(reverse("admin:finance_financedashboard_changelist")),
        },
    )
    for attachment in attachments:
        message.attach(*attachment)
    message.send()

    MonthlyReportSend.objects.filter(pk=send.pk).update(
        sent_at=timezone.now(), payment_rows=counts[ExportKind.PAYMENTS]
    )
    for kind, count in counts.items():
        export_audit_record(
            user=None,
            channel=ExportAudit.Channel.MONTHLY_EMAIL,
            kind=kind,
            fmt=ExportFormat.CSV,
            filters=filters,
            row_count=count,
        )
    send.refresh_from_db()
    return send


def _monthly_rows(month: dt.date, summaries: Sequence[Any]) -> list[dict[str, object]]:
    """Return the month's figures per currency, money as text in major units and its currency."""
    from finance.exports import minor_to_major_text

    rows: list[dict[str, object]] = []
    for s in summaries:
        if s.month != month:
            continue
        money = lambda v, c=s.currency: f"{minor_to_major_text(v, c)} {c}"  # noqa: E731
        rows.append(
            {
                "currency": s.currency,
                "gross": money(s.gross),
                "fees": money(s.fees),
                "net": money(s.net),
                "refunds": money(s.refunds),
                "disputes": money(s.disputes),
                "payments": s.payments,
                "one_off": s.one_off_payments,
                "recurring": s.recurring_payments,
                "new_supporters": s.new_supporters,
                "active_monthly": s.active_monthly_supporters,
                "mrr": money(s.mrr),
                "churned": s.churned_supporters,
            }
        )
    return rows
