"""Backfill the ledger from Stripe for a period: recurring and one-off payments, their fees,
refunds, disputes and payouts.

Webhooks are the source of truth, but one can be missed. This walks what Stripe holds for a
period and closes the gaps, idempotently: a second run finds nothing to change. Rows are only
written when a value differs, so running it twice leaves every row (and `updated_at`) as it was.

Paid invoices (the payments of monthly and annual contributions) go through the `invoice.paid`
event's handler and disputes through the dispute events' own code, so a backfilled row is the row
the missed webhook would have written. A charge the ledger does not know is recorded only when its
metadata names our contribution (one-off payments carry it). Anything else (an invoice of a
subscription that is not ours, a dispute on a payment the ledger lacks) is reported as unmatched
for a person to look at, never invented.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Protocol

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from finance.filters import publisher_tz
from payments.event_handlers import (
    CLOSED_DISPUTE_STATUSES,
    EventNotApplicable,
    EventNotReady,
    dispute_apply,
    invoice_changed,
)
from payments.gateway import ChargeDetails, Gateway, RefundDetails
from payments.ledger import payment_apply, refund_record
from payments.models import Contribution, Dispute, DisputeMovement, Payment, Payout, Refund
from payments.payouts import payout_transactions_record
from payments.receipts import RECEIPT_LATE_LIMIT, receipts_batched
from payments.stripe_gateway import (
    BackfillBalanceTransaction as BalanceRecord,
)
from payments.stripe_gateway import (
    BackfillCharge as ChargeRecord,
)
from payments.stripe_gateway import (
    BackfillDispute as DisputeRecord,
)
from payments.stripe_gateway import (
    BackfillInvoice as InvoiceRecord,
)
from payments.stripe_gateway import (
    BackfillPayout as PayoutRecord,
)
from payments.stripe_gateway import (
    StripeGateway,
    backfill_charges,
    backfill_dispute,
    backfill_disputes,
    backfill_invoices,
    backfill_payout_transactions,
    backfill_payouts,
)


class BackfillSource(Protocol):
    """What the backfill reads from Stripe (see the finance section of the Stripe module)."""

    @property
    def gateway(self) -> Gateway:
        """The provider the shared event handlers read Stripe through."""
        ...

    def invoices(self, *, since: dt.datetime, until: dt.datetime) -> Iterator[InvoiceRecord]: ...

    def charges(self, *, since: dt.datetime, until: dt.datetime) -> Iterator[ChargeRecord]: ...

    def disputes(self, *, since: dt.datetime, until: dt.datetime) -> Iterator[DisputeRecord]: ...

    def dispute(self, *, dispute_id: str) -> DisputeRecord: ...

    def payouts(self, *, since: dt.datetime, until: dt.datetime) -> Iterator[PayoutRecord]: ...

    def payout_transactions(self, *, payout_id: str) -> Iterator[BalanceRecord]: ...


class StripeBackfillSource:
    """The real source: Stripe's API through the one Stripe module."""

    def __init__(self) -> None:
        self.gateway = StripeGateway.from_settings()

    def invoices(self, *, since: dt.datetime, until: dt.datetime) -> Iterator[InvoiceRecord]:
        return backfill_invoices(self.gateway, since=since, until=until)

    def charges(self, *, since: dt.datetime, until: dt.datetime) -> Iterator[ChargeRecord]:
        return backfill_charges(self.gateway, since=since, until=until)

    def disputes(self, *, since: dt.datetime, until: dt.datetime) -> Iterator[DisputeRecord]:
        return backfill_disputes(self.gateway, since=since, until=until)

    def dispute(self, *, dispute_id: str) -> DisputeRecord:
        return backfill_dispute(self.gateway, dispute_id=dispute_id)

    def payouts(self, *, since: dt.datetime, until: dt.datetime) -> Iterator[PayoutRecord]:
        return backfill_payouts(self.gateway, since=since, until=until)

    def payout_transactions(self, *, payout_id: str) -> Iterator[BalanceRecord]:
        return backfill_payout_transactions(self.gateway, payout_id=payout_id)


@dataclasses.dataclass
class BackfillReport:
    invoices_seen: int = 0
    invoices_recorded: int = 0
    charges_seen: int = 0
    payments_created: int = 0
    payments_updated: int = 0
    refunds_recorded: int = 0
    disputes_seen: int = 0
    disputes_created: int = 0
    disputes_updated: int = 0
    payouts_created: int = 0
    payouts_updated: int = 0
    movements_tagged: int = 0
    unmatched_invoices: list[str] = dataclasses.field(default_factory=list)
    unmatched_charges: list[str] = dataclasses.field(default_factory=list)
    unmatched_disputes: list[str] = dataclasses.field(default_factory=list)

    @property
    def changed(self) -> int:
        return (
            self.invoices_recorded
            + self.payments_created
            + self.payments_updated
            + self.refunds_recorded
            + self.disputes_created
            + self.disputes_updated
            + self.payouts_created
            + self.payouts_updated
            + self.movements_tagged
        )


def stripe_backfill(*, since: dt.date, until: dt.date, source: BackfillSource) -> BackfillReport:
    """Backfill invoices, charges, disputes and payouts created from `since` to `until`
    (publisher's days, both included), and the disputes the ledger still has open.

    Each item is written in its own transaction. Receipts go out as the webhooks would have sent
    them, but only for payments made within `RECEIPT_LATE_LIMIT`: a backfilled payment older than
    that is recorded without e-mailing the reader (staff can resend its receipt).
    """
    tz = publisher_tz()
    start = dt.datetime.combine(since, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    # Stripe's state as read from now on: what the backfill writes is at least this recent.
    read_at = timezone.now()
    report = BackfillReport()
    with receipts_batched(paid_since=read_at - RECEIPT_LATE_LIMIT):
        # Invoices first: their payments are then known to the charge pass, which completes
        # them instead of listing their charges as unmatched.
        for invoice in source.invoices(since=start, until=end):
            report.invoices_seen += 1
            _invoice_apply(invoice, source.gateway, read_at, report)
        for charge in source.charges(since=start, until=end):
            report.charges_seen += 1
            _charge_apply(charge, report)
        _disputes_apply(source, start, end, read_at, report)
        for payout in source.payouts(since=start, until=end):
            _payout_apply(payout, source, read_at, report)
    return report


def _invoice_apply(
    invoice: InvoiceRecord, gateway: Gateway, read_at: dt.datetime, report: BackfillReport
) -> None:
    """Record a paid invoice the ledger lacks, as its `invoice.paid` event would have."""
    if not invoice.amount_paid:
        return  # nothing was charged (a full discount or credit): its event is ignored too
    if Payment.objects.filter(
        stripe_invoice_id=invoice.id, status=Payment.Status.SUCCEEDED
    ).exists():
        return
    try:
        with transaction.atomic():
            # A subscription not mirrored yet is read from Stripe and stamped as read now.
            invoice_changed(invoice.event_object, read_at, gateway=gateway)
    except EventNotApplicable:  # not a subscription of a contribution in this ledger
        report.unmatched_invoices.append(invoice.id)
        return
    report.invoices_recorded += 1


def _charge_apply(charge: ChargeRecord, report: BackfillReport) -> None:
    lookup = Q(stripe_charge_id=charge.id)
    if charge.payment_intent_id:
        lookup |= Q(stripe_payment_intent_id=charge.payment_intent_id)
    with transaction.atomic():
        payment = Payment.objects.select_for_update().filter(lookup).first()
        if payment is None:
            payment = _payment_create(charge, report)
            if payment is None:
                return
        else:
            _payment_complete(payment, charge, report)
        for refund in charge.refunds:
            _refund_apply(payment, refund, report)


def _payment_create(charge: ChargeRecord, report: BackfillReport) -> Payment | None:
    """Record a succeeded one-off charge whose metadata names our contribution."""
    contribution = None
    if charge.status == "succeeded" and charge.contribution_id is not None:
        contribution = (
            Contribution.objects.select_for_update()
            .filter(pk=charge.contribution_id, frequency="one_off")
            .first()
        )
    if contribution is None:
        report.unmatched_charges.append(charge.id)
        return None
    details = ChargeDetails(
        payment_intent_id=charge.payment_intent_id or charge.id,
        status="succeeded",
        amount_minor=charge.amount_minor,
        currency=charge.currency,
        charge_id=charge.id,
        balance_transaction_id=charge.balance_transaction_id,
        fee_minor=charge.fee_minor,
        net_minor=charge.net_minor,
        payment_method_type=charge.payment_method_type,
        paid_at=charge.created,
        failure_code="",
        failure_message="",
        customer_id=charge.customer_id,
        settlement_amount_minor=charge.settlement_amount_minor,
        settlement_currency=charge.settlement_currency,
        exchange_rate=charge.exchange_rate,
    )
    payment = payment_apply(contribution=contribution, kind=Payment.Kind.ONE_OFF, details=details)
    fields = ["first_paid_at", "updated_at"]
    if contribution.status in (Contribution.Status.PENDING, Contribution.Status.PROCESSING):
        contribution.status = Contribution.Status.PAID
        fields.append("status")
    contribution.save(update_fields=fields)
    report.payments_created += 1
    return payment


def _payment_complete(payment: Payment, charge: ChargeRecord, report: BackfillReport) -> None:
    """Fill what a missed webhook would have told us; never overwrite what we know."""
    changed = []
    if not payment.stripe_charge_id:
        payment.stripe_charge_id = charge.id
        changed.append("stripe_charge_id")
    if charge.balance_transaction_id and not payment.stripe_balance_transaction_id:
        payment.stripe_balance_transaction_id = charge.balance_transaction_id
        changed.append("stripe_balance_transaction_id")
    if charge.fee_minor is not None and payment.fee_minor is None:
        payment.fee_minor, payment.net_minor = charge.fee_minor, charge.net_minor
        payment.settlement_amount_minor = charge.settlement_amount_minor
        payment.settlement_currency = charge.settlement_currency
        payment.exchange_rate = charge.exchange_rate
        changed += [
            "fee_minor",
            "net_minor",
            "settlement_amount_minor",
            "settlement_currency",
            "exchange_rate",
        ]
    if charge.payment_method_type and not payment.payment_method_type:
        payment.payment_method_type = charge.payment_method_type
        changed.append("payment_method_type")
    if charge.status == "succeeded" and payment.status != Payment.Status.SUCCEEDED:
        payment.status = Payment.Status.SUCCEEDED
        payment.paid_at = payment.paid_at or charge.created
        changed += ["status", "paid_at"]
    if changed:
        payment.save(update_fields=[*changed, "updated_at"])
        report.payments_updated += 1


def _refund_apply(payment: Payment, refund: RefundDetails, report: BackfillReport) -> None:
    known = Refund.objects.filter(stripe_refund_id=refund.id).first()
    if (
        known is not None
        and known.status == refund.status
        and (known.stripe_balance_transaction_id or not refund.balance_transaction_id)
    ):
        return
    refund_record(payment=payment, details=refund)
    report.refunds_recorded += 1


def _disputes_apply(
    source: BackfillSource,
    start: dt.datetime,
    end: dt.datetime,
    read_at: dt.datetime,
    report: BackfillReport,
) -> None:
    seen: set[str] = set()
    for dispute in source.disputes(since=start, until=end):
        seen.add(dispute.id)
        _dispute_apply(dispute, read_at, report)
    # A dispute is decided weeks after it opens, often in a later month than the one backfilled
    # when it opened: the ones the ledger still has open are read again, whenever they opened.
    still_open = (
        Dispute.objects.exclude(status__in=CLOSED_DISPUTE_STATUSES)
        .exclude(stripe_dispute_id__in=seen)
        .order_by("opened_at")
        .values_list("stripe_dispute_id", flat=True)
    )
    for dispute_id in still_open:
        _dispute_apply(source.dispute(dispute_id=dispute_id), read_at, report)


def _dispute_apply(dispute: DisputeRecord, read_at: dt.datetime, report: BackfillReport) -> None:
    """Record a dispute's state as its events would have, unless the ledger's row has it."""
    report.disputes_seen += 1
    # Stripe's dispute does not say when it was decided. A won one shows it: the money given
    # back. A lost (or warning-closed) one moves no money when it closes, so that moment stays
    # unknown, and the reports count the loss in the month the dispute opened.
    closed_at = dispute.reinstated_at if dispute.status == "won" else None
    row = Dispute.objects.filter(stripe_dispute_id=dispute.id).first()
    if (
        row is not None
        and (row.status, row.reason, row.amount_minor)
        == (dispute.status, dispute.reason, dispute.amount_minor)
        and (row.closed_at is not None or closed_at is None)
        and set(dispute.balance_transaction_ids)
        <= set(row.movements.values_list("stripe_balance_transaction_id", flat=True))
    ):
        return
    try:
        with transaction.atomic():
            dispute_apply(dispute.event_object, state_at=read_at, closed_at=closed_at)
    except EventNotReady:  # its payment is not in this ledger
        if dispute.id not in report.unmatched_disputes:
            report.unmatched_disputes.append(dispute.id)
        return
    if row is None:
        report.disputes_created += 1
    else:
        report.disputes_updated += 1


def _payout_apply(
    payout: PayoutRecord, source: BackfillSource, read_at: dt.datetime, report: BackfillReport
) -> None:
    row = Payout.objects.filter(stripe_payout_id=payout.id).first()
    if row is None:
        row = Payout.objects.create(
            stripe_payout_id=payout.id,
            amount_minor=payout.amount_minor,
            currency=payout.currency,
            arrival_date=payout.arrival_date,
            status=payout.status,
            livemode=payout.livemode,
            stripe_created_at=payout.created,
            automatic=payout.automatic,
            reconciliation_status=payout.reconciliation_status,
        )
        report.payouts_created += 1
    else:
        changed = []
        for field, value in (
            ("amount_minor", payout.amount_minor),
            ("arrival_date", payout.arrival_date),
            ("status", payout.status),
        ):
            if getattr(row, field) != value:
                setattr(row, field, value)
                changed.append(field)
        if changed:
            row.save(update_fields=[*changed, "updated_at"])
            report.payouts_updated += 1
    if payout.status != "paid" or not payout.automatic:
        return  # a manual payout has no list of what it carried
    if payout.reconciliation_status not in ("", "completed"):
        return  # Stripe's list is not final yet
    key = payout.id
    entries = list(source.payout_transactions(payout_id=key))
    if row.reconciliation_status != "completed":
        row.reconciliation_status = "completed"
        row.save(update_fields=["reconciliation_status", "updated_at"])
    for txn in entries:
        if txn.type in ("charge", "payment"):
            match = Q(stripe_balance_transaction_id=txn.id)
            if txn.source_id:
                match |= Q(stripe_charge_id=txn.source_id)
            report.movements_tagged += Payment.objects.filter(match, fee_minor__isnull=True).update(
                fee_minor=txn.fee_minor,
                net_minor=txn.net_minor,
                settlement_amount_minor=txn.amount_minor,
                settlement_currency=txn.currency,
                stripe_balance_transaction_id=txn.id,
            ) + Payment.objects.filter(match).exclude(stripe_payout_id=key).update(
                stripe_payout_id=key
            )
        elif txn.type in ("refund", "payment_refund"):
            match = Q(stripe_balance_transaction_id=txn.id)
            if txn.source_id:
                match |= Q(stripe_refund_id=txn.source_id)
            # What the refund took from the balance, where the ledger did not know it yet.
            Refund.objects.filter(match, settlement_net_minor__isnull=True).update(
                settlement_net_minor=txn.net_minor, settlement_currency=txn.currency
            )
            report.movements_tagged += (
                Refund.objects.filter(match)
                .exclude(stripe_payout_id=key)
                .update(stripe_payout_id=key)
            )
        elif txn.source_id and txn.source_id.startswith("dp_"):
            # A dispute's withdrawal and reinstatement are paid out apart: each is found by its
            # own balance transaction.
            movement = DisputeMovement.objects.filter(stripe_balance_transaction_id=txn.id)
            if not movement.exists():
                # The event that listed this money was missed (most often the reinstatement of
                # a dispute the ledger already holds as won): read the dispute again.
                _dispute_apply(source.dispute(dispute_id=txn.source_id), read_at, report)
            report.movements_tagged += movement.exclude(stripe_payout_id=key).update(
                stripe_payout_id=key
            )
    # Each of its balance transactions as its own row, as `payout.reconciliation_completed` keeps
    # them (after the pass above, which recorded what the ledger lacked).
    payout_transactions_record(payout=row, entries=entries)
