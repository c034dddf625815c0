"""Payouts in the ledger: each payout mirrored from Stripe, the balance transactions it paid out
kept as its own rows, and the ledger's movements tagged with the payout that carried them.

Stripe lists an automatic payout's balance transactions only once its `reconciliation_status` is
`completed` (announced by `payout.reconciliation_completed`), so the rows are read then and not
before. A manual payout has no such list: Stripe cannot tell which transactions it carried.

A payout's status only moves forward (pending, in transit, paid, then failed or canceled), so an
old event delivered late cannot bring a failed payout back. A payout that fails after `paid` is
undone: the ledger's movements no longer count as paid out by it. Stripe gives the money back to
the balance with a `payout_failure` transaction, which a later payout carries; that payout then
carries the failed one's movements too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from django.db.models import Q

from payments.gateway import BalanceEntry, stripe_time
from payments.models import DisputeMovement, Payment, Payout, PayoutBalanceTransaction, Refund

# How far along a payout is; a status never goes back to a lower rank.
STATUS_RANK = {"pending": 0, "in_transit": 1, "paid": 2, "failed": 3, "canceled": 3}
UNDONE_STATUSES = {"failed", "canceled"}
# Balance transactions that give a failed or canceled payout's money back to the balance.
PAYOUT_RETURN_TYPES = {"payout_failure", "payout_cancel"}
# Balance transaction types of the ledger's own rows (`payment` is a charge of some local payment
# methods, `payment_refund` its refund).
PAYMENT_TYPES = ("charge", "payment")
REFUND_TYPES = ("refund", "payment_refund")


def payout_mirror(*, data: dict[str, Any], at: datetime) -> Payout:
    """Create or update our row of a Stripe payout object; lock it for the caller's transaction.

    A payout that has just failed (or was canceled) is undone: movements tagged with it are
    untagged, since the money did not reach the bank.
    """
    arrival = stripe_time(data.get("arrival_date"))
    row, created = Payout.objects.select_for_update().get_or_create(
        stripe_payout_id=data["id"],
        defaults={
            "amount_minor": int(data["amount"]),
            "currency": str(data["currency"]).upper(),
            "arrival_date": arrival.date() if arrival else date.today(),
            "status": str(data["status"]),
            "automatic": bool(data.get("automatic", True)),
            "reconciliation_status": str(data.get("reconciliation_status") or ""),
            "failure_code": str(data.get("failure_code") or ""),
            "livemode": bool(data.get("livemode")),
            "stripe_created_at": stripe_time(data.get("created")) or at,
        },
    )
    if created:
        was_undone = False
    else:
        was_undone = row.status in UNDONE_STATUSES
        status = str(data["status"])
        if STATUS_RANK.get(status, 0) >= STATUS_RANK.get(row.status, 0):
            row.status = status
        if row.reconciliation_status != "completed":
            row.reconciliation_status = str(data.get("reconciliation_status") or "")
        row.amount_minor = int(data["amount"])
        row.automatic = bool(data.get("automatic", row.automatic))
        row.failure_code = str(data.get("failure_code") or row.failure_code)
        if arrival:
            row.arrival_date = arrival.date()
        row.save(
            update_fields=[
                "status",
                "reconciliation_status",
                "amount_minor",
                "automatic",
                "failure_code",
                "arrival_date",
                "updated_at",
            ]
        )
    if row.status in UNDONE_STATUSES and not was_undone:
        _ledger_untag(row.stripe_payout_id)
    return row


def payout_transactions_record(*, payout: Payout, entries: Sequence[BalanceEntry]) -> int:
    """Keep each balance transaction of `payout` once; return how many were new.

    Then tag the ledger's movements with the payout when it is paid (not when it failed: its
    money came back).
    """
    known = set(
        PayoutBalanceTransaction.objects.filter(
            stripe_balance_transaction_id__in=[entry.id for entry in entries]
        ).values_list("stripe_balance_transaction_id", flat=True)
    )
    new = [
        PayoutBalanceTransaction(
            payout=payout,
            stripe_balance_transaction_id=entry.id,
            type=entry.type,
            reporting_category=entry.reporting_category,
            amount_minor=entry.amount_minor,
            fee_minor=entry.fee_minor,
            net_minor=entry.net_minor,
            currency=entry.currency or payout.currency,
            source_id=entry.source_id,
            available_on=entry.available_on,
            stripe_created_at=entry.created,
        )
        for entry in entries
        if entry.id not in known
    ]
    # ignore_conflicts: a second worker applying a duplicate event may have stored them first.
    PayoutBalanceTransaction.objects.bulk_create(new, ignore_conflicts=True)
    if payout.status == "paid":
        payout_ledger_tag(payout=payout)
    return len(new)


def payout_ledger_tag(*, payout: Payout) -> None:
    """Tag the ledger's payments, refunds and dispute movements with the paid payout whose
    transactions list them, and those of failed payouts whose money it gave back."""
    rows = PayoutBalanceTransaction.objects.filter(payout=payout)
    returned = list(
        rows.filter(type__in=PAYOUT_RETURN_TYPES)
        .exclude(source_id="")
        .values_list("source_id", flat=True)
    )
    carried = PayoutBalanceTransaction.objects.filter(
        Q(payout=payout)
        | Q(payout__stripe_payout_id__in=returned, payout__status__in=UNDONE_STATUSES)
    )
    txns = list(carried.values_list("stripe_balance_transaction_id", flat=True))
    charges = carried.filter(type__in=PAYMENT_TYPES).values("source_id")
    refunds = carried.filter(type__in=REFUND_TYPES).values("source_id")
    key = payout.stripe_payout_id
    Payment.objects.filter(
        Q(stripe_charge_id__in=charges) | Q(stripe_balance_transaction_id__in=txns)
    ).exclude(stripe_payout_id=key).update(stripe_payout_id=key)
    # Only a refund's own transaction: a `refund_failure` has the refund as its source too.
    Refund.objects.filter(
        Q(stripe_refund_id__in=refunds) | Q(stripe_balance_transaction_id__in=txns)
    ).exclude(stripe_payout_id=key).update(stripe_payout_id=key)
    # A dispute's withdrawal and reinstatement share their source (the dispute) and are often
    # paid out apart: each is found by its own balance transaction.
    DisputeMovement.objects.filter(stripe_balance_transaction_id__in=txns).exclude(
        stripe_payout_id=key
    ).update(stripe_payout_id=key)


def _ledger_untag(key: str) -> None:
    for model in (Payment, Refund, DisputeMovement):
        model.objects.filter(stripe_payout_id=key).update(stripe_payout_id="")
