"""Backfill the ledger from Stripe for a period: payments, their fees, refunds and payouts.

Webhooks are the source of truth, but one can be missed. This walks what Stripe holds for a
period and closes the gaps, idempotently: a second run finds nothing to change. Rows are only
written when a value differs, so running it twice leaves every row (and `updated_at`) as it was.

A charge the ledger does not know is recorded only when its metadata names our contribution
(one-off payments carry it); anything else is reported as unmatched for a person to look at,
never invented.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Protocol

from django.db import transaction
from django.db.models import Q

from finance.filters import publisher_tz
from payments.gateway import ChargeDetails
from payments.ledger import payment_apply, refund_record
from payments.models import Contribution, Dispute, Payment, Payout, Refund
from payments.stripe_gateway import (
    BackfillBalanceTransaction as BalanceRecord,
)
from payments.stripe_gateway import (
    BackfillCharge as ChargeRecord,
)
from payments.stripe_gateway import (
    BackfillPayout as PayoutRecord,
)
from payments.stripe_gateway import (
    BackfillRefund,
    StripeGateway,
    backfill_charges,
    backfill_payout_transactions,
    backfill_payouts,
)


class BackfillSource(Protocol):
    """What the backfill reads from Stripe (see the finance section of the Stripe module)."""

    def charges(self, *, since: dt.datetime, until: dt.datetime) -> Iterator[ChargeRecord]: ...

    def payouts(self, *, since: dt.datetime, until: dt.datetime) -> Iterator[PayoutRecord]: ...

    def payout_transactions(self, *, payout_id: str) -> Iterator[BalanceRecord]: ...


class StripeBackfillSource:
    """The real source: Stripe's API through the one Stripe module."""

    def __init__(self) -> None:
        self.gateway = StripeGateway.from_settings()

    def charges(self, *, since: dt.datetime, until: dt.datetime) -> Iterator[ChargeRecord]:
        return backfill_charges(self.gateway, since=since, until=until)

    def payouts(self, *, since: dt.datetime, until: dt.datetime) -> Iterator[PayoutRecord]:
        return backfill_payouts(self.gateway, since=since, until=until)

    def payout_transactions(self, *, payout_id: str) -> Iterator[BalanceRecord]:
        return backfill_payout_transactions(self.gateway, payout_id=payout_id)


@dataclasses.dataclass
class BackfillReport:
    charges_seen: int = 0
    payments_created: int = 0
    payments_updated: int = 0
    refunds_recorded: int = 0
    payouts_created: int = 0
    payouts_updated: int = 0
    movements_tagged: int = 0
    unmatched_charges: list[str] = dataclasses.field(default_factory=list)

    @property
    def changed(self) -> int:
        return (
            self.payments_created
            + self.payments_updated
            + self.refunds_recorded
            + self.payouts_created
            + self.payouts_updated
            + self.movements_tagged
        )


def stripe_backfill(*, since: dt.date, until: dt.date, source: BackfillSource) -> BackfillReport:
    """Backfill charges and payouts created from `since` to `until` (publisher's days, both
    included)."""
    tz = publisher_tz()
    start = dt.datetime.combine(since, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    report = BackfillReport()
    for charge in source.charges(since=start, until=end):
        report.charges_seen += 1
        _charge_apply(charge, report)
    for payout in source.payouts(since=start, until=end):
        _payout_apply(payout, source, report)
    return report


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
        changed += ["fee_minor", "net_minor"]
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


def _refund_apply(payment: Payment, refund: BackfillRefund, report: BackfillReport) -> None:
    known = Refund.objects.filter(stripe_refund_id=refund.id).first()
    if (
        known is not None
        and known.status == refund.status
        and (known.stripe_balance_transaction_id or not refund.balance_transaction_id)
    ):
        return
    refund_record(
        payment=payment,
        refund_id=refund.id,
        amount_minor=refund.amount_minor,
        status=refund.status,
        reason=refund.reason,
        refunded_at=refund.created,
        balance_transaction_id=refund.balance_transaction_id,
    )
    report.refunds_recorded += 1


def _payout_apply(payout: PayoutRecord, source: BackfillSource, report: BackfillReport) -> None:
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
    if payout.status != "paid":
        return
    key = payout.id
    for txn in source.payout_transactions(payout_id=key):
        if txn.type in ("charge", "payment"):
            match = Q(stripe_balance_transaction_id=txn.id)
            if txn.source_id:
                match |= Q(stripe_charge_id=txn.source_id)
            report.movements_tagged += Payment.objects.filter(match, fee_minor__isnull=True).update(
                fee_minor=txn.fee_minor,
                net_minor=txn.net_minor,
                stripe_balance_transaction_id=txn.id,
            ) + Payment.objects.filter(match).exclude(stripe_payout_id=key).update(
                stripe_payout_id=key
            )
        elif txn.type in ("refund", "payment_refund"):
            match = Q(stripe_balance_transaction_id=txn.id)
            if txn.source_id:
                match |= Q(stripe_refund_id=txn.source_id)
            report.movements_tagged += (
                Refund.objects.filter(match)
                .exclude(stripe_payout_id=key)
                .update(stripe_payout_id=key)
            )
        elif txn.source_id and txn.source_id.startswith("dp_"):
            disputes = Dispute.objects.filter(stripe_dispute_id=txn.source_id)
            report.movements_tagged += disputes.exclude(stripe_payout_id=key).update(
                stripe_payout_id=key
            )
            if txn.amount_minor < 0 and txn.fee_minor:
                report.movements_tagged += disputes.filter(fee_minor=0).update(
                    fee_minor=txn.fee_minor
                )
