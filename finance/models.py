"""Finance's own records: export jobs run by a worker, the append-only export audit, and the
ledger of monthly report sends. The money itself lives in the payments ledger."""

import uuid
from typing import Any

from django.conf import settings
from django.db import models

from payments.models import Payment, Payout


class ExportKind(models.TextChoices):
    PAYMENTS = "payments", "Payments"
    SUMMARY = "summary", "Monthly summary"
    SUMMARY_BY_CAMPAIGN = "summary_by_campaign", "Monthly summary by campaign"


class ExportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"


class ExportJob(models.Model):
    """A large export requested in the admin, written to a file by a worker.

    The requester follows `rows_done` / `rows_total` in the admin and gets an e-mail with a signed
    download link when it is done; the file is removed when the link expires.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=24, choices=ExportKind.choices)
    format = models.CharField(max_length=4, choices=ExportFormat.choices)
    filters = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    file_name = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} export ({self.get_format_display()})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, self.rows_done * 100 // self.rows_total)


class ExportAudit(models.Model):
    """Who exported what, when, with which filters and how many rows. Rows are never changed or
    deleted: the model refuses it, and on PostgreSQL a trigger does too."""

    class Channel(models.TextChoices):
        ADMIN = "admin", "Admin download"
        WORKER = "worker", "Admin export in a worker"
        COMMAND = "command", "Management command"
        MONTHLY_EMAIL = "monthly_email", "Monthly report e-mail"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept as text too, so the record still says who it was if the account is removed.
    username = models.CharField(max_length=150, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    kind = models.CharField(max_length=24, choices=ExportKind.choices)
    format = models.CharField(max_length=4, choices=ExportFormat.choices)
    filters = models.JSONField(default=dict)
    row_count = models.PositiveIntegerField()
    completed = models.BooleanField(
        default=True, help_text="False when the download was interrupted before the last row."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.get_format_display()} by {self.username or '-'}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Export audit records are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Export audit records are append-only.")


class MonthlyReportSend(models.Model):
    """The send ledger of the monthly report: one row per month, claimed before sending."""

    month = models.DateField(unique=True, help_text="First day of the month reported on.")
    recipients = models.TextField()
    payment_rows = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month"]

    def __str__(self) -> str:
        return f"Monthly report {self.month:%Y-%m}"


class FinanceDashboard(Payment):
    """The finance dashboard's place in the admin (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "finance dashboard"
        verbose_name_plural = "finance dashboard"


class PayoutReconciliation(Payout):
    """Stripe payouts beside the ledger movements they contain (a proxy: no table of its own)."""

    class Meta:
        proxy = True
        verbose_name = "payout reconciliation"
        verbose_name_plural = "payout reconciliation"
