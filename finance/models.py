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


class PaymentDayTotal(models.Model):
    """Succeeded payments added up per day (in the publisher's time zone) and the attributes the
    dashboard filters and groups by, so a year's sums read a few thousand rows, not every payment.

    Written only by PostgreSQL triggers on the payments and contributions (finance/rollups.py),
    in the transaction of the ledger write itself: a row is a change (signed), appended, never
    updated in place, so concurrent writers never wait on one another; a periodic compaction
    folds each day's changes into one row. Summed over any days, the rows equal the ledger.
    """

    day = models.DateField()
    currency = models.CharField(max_length=3)
    settlement_currency = models.CharField(max_length=3)
    kind = models.CharField(max_length=24)
    payment_method_type = models.CharField(max_length=40)
    # The contribution's attributes ("" and null for a payment without one). The campaign is an
    # id without a constraint: removing a campaign re-keys its payments through the trigger.
    frequency = models.CharField(max_length=10)
    campaign_id = models.BigIntegerField(null=True)
    variant_key = models.CharField(max_length=40)
    payments = models.IntegerField()
    gross_minor = models.BigIntegerField()
    fee_minor = models.BigIntegerField()
    net_minor = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="finance_paymentdaytotal_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.currency}: {self.payments} payments"


class NewSupporterDay(models.Model):
    """New supporters per day of their first paid contribution and its attributes, kept like
    PaymentDayTotal (signed changes, appended by a trigger on contributions, compacted)."""

    day = models.DateField()
    currency = models.CharField(max_length=3)
    frequency = models.CharField(max_length=10)
    campaign_id = models.BigIntegerField(null=True)
    variant_key = models.CharField(max_length=40)
    supporters = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="finance_newsupporterday_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.currency}: {self.supporters} new supporters"


class RecurringDay(models.Model):
    """Changes of MRR and of active supporters by day, kept like PaymentDayTotal (see
    finance/rollup_recurring.py): summed over the days before a month's end, they give MRR and
    active supporters at that month's end. `part` says which: "mrr" (amounts, by campaign),
    "campaign" (supporters counted once per campaign) or "all" (once across campaigns)."""

    day = models.DateField()
    part = models.CharField(max_length=8)
    currency = models.CharField(max_length=3)
    frequency = models.CharField(max_length=10)
    campaign_id = models.BigIntegerField(null=True)
    mrr_minor = models.BigIntegerField()
    supporters = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="finance_recurringday_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.part} {self.currency}"


class SupporterRecurring(models.Model):
    """Each supporter's share of RecurringDay, as last counted: the next change to their
    subscriptions appends the difference from it (active supporters do not add up across a
    supporter's subscriptions, so their share is counted whole each time)."""

    supporter_id = models.BigIntegerField(db_index=True)
    day = models.DateField()
    part = models.CharField(max_length=8)
    currency = models.CharField(max_length=3)
    frequency = models.CharField(max_length=10)
    campaign_id = models.BigIntegerField(null=True)
    mrr_minor = models.BigIntegerField()
    supporters = models.IntegerField()

    def __str__(self) -> str:
        return f"Supporter {self.supporter_id} {self.day} {self.part}"
