"""The contributions ledger: who gave, what they meant to give, and every money movement Stripe
reports, each counted once (every Stripe id is unique here).

Money is integer minor units plus an ISO 4217 currency code (upper case). Stripe's own timestamps
are kept in the fields named after what they mean (`paid_at`, `opened_at`, ...); `created_at` and
`updated_at` are ours.
"""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from campaigns.models import Currency, Frequency


class Supporter(models.Model):
    """A reader who started at least one contribution: one row per e-mail address."""

    email = models.EmailField(max_length=254)
    name = models.CharField(max_length=200, blank=True)
    stripe_customer_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="payments_supporter_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email


class Contribution(models.Model):
    """The reader's intent: give this amount, once or every month or year.

    `amount_minor` is what the reader chose; `fee_cover_minor` is what they added to cover the
    card fees; Stripe is asked for `charge_minor` (their sum) per payment.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting checkout"
        PROCESSING = "processing", "Payment processing"
        PAID = "paid", "Paid"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Payment overdue"
        CANCELED = "canceled", "Cancelled"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Checkout expired"

    class Provider(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        DEMO = "demo", "Demo"

    supporter = models.ForeignKey(Supporter, on_delete=models.PROTECT, related_name="contributions")
    # The name typed at checkout: it is this contribution's until one of its payments succeeds
    # (anyone may type anyone's address into the form).
    name = models.CharField(max_length=200, blank=True)
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    amount_minor = models.PositiveIntegerField()
    fee_cover = models.BooleanField(default=False)
    fee_cover_minor = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    provider = models.CharField(max_length=10, choices=Provider.choices, default=Provider.STRIPE)
    livemode = models.BooleanField(default=False)
    stripe_checkout_session_id = models.CharField(
        max_length=255, null=True, blank=True, unique=True
    )
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)

    # Newsletter consent, kept apart from the payment: what the reader agreed to and when.
    marketing_consent = models.BooleanField(default=False)
    marketing_consent_text = models.TextField(blank=True)
    marketing_consent_at = models.DateTimeField(null=True, blank=True)

    # Attribution (see the contracts between apps).
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contributions",
    )
    variant_key = models.CharField(max_length=40, blank=True)
    placement = models.CharField(max_length=20, blank=True)
    article_url = models.URLField(max_length=2000, blank=True)
    referrer = models.URLField(max_length=2000, blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)

    first_paid_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_minor__gt=0), name="payments_contribution_amount_positive"
            ),
        ]
        indexes = [
            models.Index(fields=["campaign", "first_paid_at"], name="payments_contrib_conv_idx"),
        ]

    def __str__(self) -> str:
        return f"Contribution {self.pk} ({self.get_frequency_display()})"

    @property
    def charge_minor(self) -> int:
        return self.amount_minor + self.fee_cover_minor

    @property
    def is_recurring(self) -> bool:
        return self.frequency != Frequency.ONE_OFF


class ContributionFlag(models.Model):
    """Something about a contribution that staff must look at, usually to act on it in Stripe.

    Raised by the ledger when Stripe reports something the reader did not mean (paid twice, in
    another currency); the money is recorded as Stripe has it all the same. Staff mark a flag
    resolved once they have acted (refunded, or decided to keep it).
    """

    class Kind(models.TextChoices):
        SECOND_CHECKOUT = "second_checkout", "Paid twice: refund this second checkout"
        OTHER_CURRENCY = "other_currency", "Paid in another currency than the one asked"

    contribution = models.ForeignKey(Contribution, on_delete=models.PROTECT, related_name="flags")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    detail = models.TextField(blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contribution", "kind"], name="payments_contribution_flag_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (contribution {self.contribution_id})"


class Subscription(models.Model):
    """Our mirror of a Stripe subscription behind a monthly or annual contribution."""

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", "Incomplete"
        INCOMPLETE_EXPIRED = "incomplete_expired", "Incomplete, expired"
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        CANCELED = "canceled", "Cancelled"
        UNPAID = "unpaid", "Unpaid"
        PAUSED = "paused", "Paused"

    contribution = models.OneToOneField(
        Contribution, on_delete=models.PROTECT, related_name="subscription"
    )
    stripe_subscription_id = models.CharField(max_length=255, unique=True)
    # The customer Stripe bills: where the Billing Portal must open for this subscription.
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.INCOMPLETE)
    amount_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, choices=Currency.choices)
    interval = models.CharField(max_length=10, default="month")
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    # When a scheduled cancellation takes effect; Stripe sets `canceled_at` when it was asked for,
    # while the subscription stays active until `cancel_at` (see `ends_at`).
    cancel_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The reader's or staff's own words, and Stripe's cancellation_details (reason, feedback).
    cancel_reason = models.TextField(blank=True)
    stripe_cancellation_reason = models.CharField(max_length=40, blank=True)
    stripe_cancellation_feedback = models.CharField(max_length=40, blank=True)
    # `created` of the newest Stripe event applied: older events never overwrite newer state.
    stripe_state_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Subscription {self.stripe_subscription_id}"

    @property
    def ends_at(self) -> datetime | None:
        """When a subscription still running will end: its scheduled cancellation, if any."""
        if self.status == self.Status.CANCELED:
            return None
        return self.cancel_at


class StripeProduct(models.Model):
    """The Stripe Product that a campaign's checkouts of one frequency put their prices on: made
    once, then reused, so Stripe's Dashboard lists one product per campaign and frequency."""

    campaign = models.ForeignKey(
        "campaigns.Campaign", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    livemode = models.BooleanField(default=False)
    stripe_product_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "frequency", "livemode"],
                nulls_distinct=False,
                name="payments_stripe_product_once",
            ),
        ]

    def __str__(self) -> str:
        return self.stripe_product_id


class SubscriptionPastAmount(models.Model):
    """An amount a subscription charged before it changed, kept so past months' reports stay put.

    The subscription's own `amount_minor` is the amount in force since its last change; each
    row here is one it replaced, in force from just after `valid_from` up to and including
    `valid_until` (when it was replaced). That is how the reports treat a month's end: a change
    made at midnight belongs to the new month. The first row's `valid_from` is empty: in force
    since the subscription began, whenever the reports take that to be. A subscription that
    never changed its amount has no rows. Rows are only appended, in order; the currency is the
    subscription's, which Stripe never changes.
    """

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="past_amounts"
    )
    amount_minor = models.PositiveIntegerField()
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "valid_until"],
                name="payments_subscription_past_amount_once",
            ),
            models.UniqueConstraint(
                fields=["subscription"],
                condition=models.Q(valid_from__isnull=True),
                name="payments_subscription_past_amount_one_first",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(valid_until__gt=models.F("valid_from")),
                name="payments_subscription_past_amount_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount_minor} until {self.valid_until} ({self.subscription_id})"


class Payment(models.Model):
    """One money movement Stripe reports: a one-off charge or one paid (or failed) invoice.

    Two sides, as Stripe keeps them. The charge: `gross_minor` in `currency`, what the reader
    paid. The balance transaction: `settlement_amount_minor`, `fee_minor` and `net_minor` in
    `settlement_currency`, what reached the publisher's balance (converted at `exchange_rate`
    where the account settles in another currency); all null until it is known (for example
    while a SEPA debit is pending). Never add one side's money to the other's. Refunds and
    disputes have their own rows; `refunded_minor` and `disputed_minor` (charge side) sum them.
    """

    class Kind(models.TextChoices):
        ONE_OFF = "one_off", "One-off"
        SUBSCRIPTION_FIRST = "subscription_first", "First recurring payment"
        SUBSCRIPTION_RENEWAL = "subscription_renewal", "Recurring renewal"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    contribution = models.ForeignKey(
        Contribution, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    stripe_payment_intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    stripe_charge_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    stripe_invoice_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    gross_minor = models.PositiveIntegerField()
    fee_minor = models.IntegerField(null=True, blank=True)
    net_minor = models.IntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    settlement_amount_minor = models.IntegerField(null=True, blank=True)
    settlement_currency = models.CharField(max_length=3, blank=True)
    exchange_rate = models.DecimalField(max_digits=20, decimal_places=10, null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(max_length=60, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    stripe_balance_transaction_id = models.CharField(
        max_length=255, null=True, blank=True, unique=True
    )
    stripe_payout_id = models.CharField(max_length=255, blank=True, db_index=True)
    payment_method_type = models.CharField(max_length=40, blank=True)
    refunded_minor = models.PositiveIntegerField(default=0)
    disputed_minor = models.PositiveIntegerField(default=0)
    livemode = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("refund_payment", "Can refund a payment through Stripe"),
            ("resend_receipt", "Can resend a receipt"),
            ("export_payments", "Can export payments"),
        ]
        indexes = [
            models.Index(fields=["paid_at"], name="payments_payment_paid_at_idx"),
            # Covers the finance reports' monthly sums: an index-only scan, no table reads.
            models.Index(
                fields=["status", "paid_at"],
                include=[
                    "currency",
                    "kind",
                    "gross_minor",
                    "fee_minor",
                    "net_minor",
                    "settlement_currency",
                ],
                name="payments_payment_report_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Payment {self.pk}"

    @property
    def refundable_minor(self) -> int:
        """What can still be refunded: the gross less what was refunded already."""
        return max(self.gross_minor - self.refunded_minor, 0)


class Refund(models.Model):
    """A refund of (part of) a payment, as Stripe reports it, wherever it was made (the admin,
    Stripe's Dashboard, the API). `status` is Stripe's: a `pending` refund (SEPA, some cards) is
    on its way; a `failed` or `canceled` one moved no money in the end, or gave it back."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    stripe_refund_id = models.CharField(max_length=255, unique=True)
    amount_minor = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, choices=Currency.choices)
    status = models.CharField(max_length=30)
    reason = models.CharField(max_length=60, blank=True)
    refunded_at = models.DateTimeField()
    stripe_balance_transaction_id = models.CharField(max_length=255, blank=True)
    # What the refund took from the balance: Stripe's net of its balance transaction (negative),
    # in the settlement currency; null until known.
    settlement_net_minor = models.IntegerField(null=True, blank=True)
    settlement_currency = models.CharField(max_length=3, blank=True)
    # A refund that failed after it succeeded: the balance transaction that gave the money back.
    stripe_failure_balance_transaction_id = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=60, blank=True)
    stripe_payout_id = models.CharField(max_length=255, blank=True, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.TextField(blank=True, help_text="Why staff refunded it (kept here only).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Refund {self.stripe_refund_id}"


class Dispute(models.Model):
    """A dispute of a payment: a chargeback (money withdrawn when opened, back if won) or an
    inquiry (`warning_*` statuses: the money is at stake, nothing is withdrawn unless it
    escalates into a chargeback).

    `amount_minor` is the disputed amount and `status` is Stripe's (`needs_response`, `won`,
    `lost`, `prevented`...). The money the dispute moved is in its `movements`, one row per
    balance transaction; `fee_minor` sums their fees: the dispute fee Stripe kept, net of a fee
    given back with a won dispute (0 until a withdrawal is known).
    """

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    stripe_dispute_id = models.CharField(max_length=255, unique=True)
    amount_minor = models.PositiveIntegerField()
    fee_minor = models.IntegerField(default=0)
    currency = models.CharField(max_length=3, choices=Currency.choices)
    status = models.CharField(max_length=30)
    reason = models.CharField(max_length=60, blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    stripe_state_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Dispute {self.stripe_dispute_id}"

    @property
    def is_inquiry(self) -> bool:
        """An inquiry (`warning_*`): the bank asks questions; its money is at stake, but nothing
        is withdrawn unless it escalates into a chargeback (its status then leaves `warning_`)."""
        return self.status.startswith("warning_")


class DisputeMovement(models.Model):
    """Money a dispute moved, as one Stripe balance transaction: the withdrawal when it opened
    (negative, with Stripe's dispute fee) or the reinstatement when the publisher won (positive,
    sometimes with the fee given back as a negative fee).

    Each is paid out on its own, often in different payouts, so each carries its own
    `stripe_payout_id`. Amounts are Stripe's, in the balance transaction's currency: `net_minor`
    (`amount_minor` less `fee_minor`) is what the movement added to the payout.
    """

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="movements")
    stripe_balance_transaction_id = models.CharField(max_length=255, unique=True)
    amount_minor = models.IntegerField()
    fee_minor = models.IntegerField()
    net_minor = models.IntegerField()
    currency = models.CharField(max_length=3, choices=Currency.choices)
    moved_at = models.DateTimeField(help_text="When Stripe created the balance transaction.")
    stripe_payout_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["moved_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(net_minor=models.F("amount_minor") - models.F("fee_minor")),
                name="payments_disputemovement_net_is_amount_less_fee",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind.capitalize()} {self.stripe_balance_transaction_id}"

    @property
    def kind(self) -> str:
        return "withdrawal" if self.net_minor < 0 else "reinstatement"


class Payout(models.Model):
    """Money Stripe sent to the publisher's bank account.

    An automatic payout (`automatic`) lists the balance transactions it paid out once Stripe says
    its `reconciliation_status` is `completed`; a manual one (made in the Dashboard or the API)
    has no such list, since Stripe cannot tell which transactions it carried.
    """

    stripe_payout_id = models.CharField(max_length=255, unique=True)
    amount_minor = models.IntegerField()
    currency = models.CharField(max_length=3, choices=Currency.choices)
    arrival_date = models.DateField()
    status = models.CharField(max_length=20)
    automatic = models.BooleanField(default=True)
    reconciliation_status = models.CharField(
        max_length=20, blank=True, help_text="Stripe's: in_progress, completed, not_applicable."
    )
    failure_code = models.CharField(max_length=60, blank=True)
    livemode = models.BooleanField(default=False)
    stripe_created_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-arrival_date"]

    def __str__(self) -> str:
        return f"Payout {self.stripe_payout_id}"


class PayoutBalanceTransaction(models.Model):
    """One balance transaction a payout paid out, as Stripe lists it (`?payout=`).

    Every kind Stripe lists is kept, including those the ledger never creates itself (Billing's
    `stripe_fee`, `stripe_fx_fee`, `payment_failure_refund`, `refund_failure`, `payout_failure`,
    adjustments, reserves) and the payout's own transaction (`type` `payout`, the amount paid
    out, negative). Amounts are in the balance's (settlement) currency; `net_minor` is what the
    transaction added to the payout.
    """

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="transactions")
    stripe_balance_transaction_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=60)
    reporting_category = models.CharField(max_length=60, blank=True)
    amount_minor = models.IntegerField()
    fee_minor = models.IntegerField()
    net_minor = models.IntegerField()
    currency = models.CharField(max_length=3)
    source_id = models.CharField(max_length=255, blank=True, db_index=True)
    available_on = models.DateTimeField(null=True, blank=True)
    stripe_created_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["stripe_created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(net_minor=models.F("amount_minor") - models.F("fee_minor")),
                name="payments_payouttxn_net_is_amount_less_fee",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_balance_transaction_id}"


class WebhookEvent(models.Model):
    """A Stripe event as received, stored once, applied by a worker."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed"
        IGNORED = "ignored", "Ignored"

    stripe_event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=100)
    livemode = models.BooleanField()
    api_version = models.CharField(max_length=40, blank=True)
    created = models.DateTimeField(help_text="When Stripe created the event.")
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "received_at"], name="payments_webhook_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.stripe_event_id}"


class ReceiptSend(models.Model):
    """The send ledger: a receipt or notice for a payment goes out once (resends excepted)."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", "Receipt"
        PAYMENT_FAILED = "payment_failed", "Failed payment notice"
        RESEND = "resend", "Receipt sent again on request"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="receipt_sends")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    to_email = models.EmailField(max_length=254)
    # Claimed (committed) before the mail goes out, sent after: see `config.mail_once`. A row
    # claimed and not sent is a send in progress, or one that crashed (retried after a while).
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["payment", "kind"],
                condition=~models.Q(kind="resend"),
                name="payments_receipt_once_per_payment_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for payment {self.payment_id}"


class SupporterNotice(models.Model):
    """The send ledger of mails about a recurring contribution: each goes out once.

    `key` says which occurrence: empty for the cancellation, the replaced amount's row for an
    amount change, the renewal date for a reminder before an annual renewal.
    """

    class Kind(models.TextChoices):
        CANCELLATION = "cancellation", "Cancellation confirmed"
        AMOUNT_CHANGE = "amount_change", "Amount change confirmed"
        RENEWAL_REMINDER = "renewal_reminder", "Reminder before an annual renewal"

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="notices")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=64, blank=True)
    to_email = models.EmailField(max_length=254)
    # Sent once through config.mail_once: claimed, then sent, then marked.
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "kind", "key"], name="payments_notice_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for subscription {self.subscription_id}"


class SignInLink(models.Model):
    """A one-time, expiring self-service sign-in link; only a hash of its token is kept."""

    supporter = models.ForeignKey(Supporter, on_delete=models.CASCADE, related_name="sign_in_links")
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Sign-in link {self.pk}"


class Installation(models.Model):
    """This installation's own id (one row), the prefix of every idempotency key sent to Stripe."""

    SINGLETON = 1

    key = models.UUIDField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(pk=1), name="payments_installation_one_row"),
        ]

    def __str__(self) -> str:
        return f"Installation {self.key}"


class DemoObject(models.Model):
    """A Stripe-shaped object kept by the demo provider, which stands in for Stripe offline."""

    object_id = models.CharField(max_length=255, unique=True)
    object_type = models.CharField(max_length=60)
    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.object_id
