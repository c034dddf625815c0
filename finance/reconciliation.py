"""Payout reconciliation: each Stripe payout beside the ledger movements it contains.

A payout pays out the net of its charges, less its refunds, plus the net of its dispute movements
(a withdrawal takes the disputed amount and Stripe's dispute fee; a reinstatement gives the
amount back, sometimes with the fee), all linked by `stripe_payout_id`. A dispute's withdrawal
and reinstatement are often in different payouts; each counts in its own. When the ledger's sum
differs from the payout's amount, the payout is flagged with the difference (payout minus ledger).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db.models import F, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from payments.models import DisputeMovement, Payment, Payout, Refund


def _sum_by_payout(
    model: type[Payment] | type[Refund] | type[DisputeMovement], expression: Any
) -> Coalesce:
    rows = (
        model.objects.filter(stripe_payout_id=OuterRef("stripe_payout_id"))
        .order_by()
        .values("stripe_payout_id")
        .annotate(total=Sum(expression))
        .values("total")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def payouts_reconciled(payouts: QuerySet[Payout] | None = None) -> QuerySet[Any]:
    """Annotate payouts with `payments_net`, `refunds_total`, `disputes_net` (signed: negative
    when withdrawals outweigh reinstatements), `ledger_total` and `difference`, in one query."""
    payouts = payouts if payouts is not None else Payout.objects.all()
    return payouts.annotate(
        payments_net=_sum_by_payout(Payment, F("net_minor")),
        refunds_total=_sum_by_payout(Refund, F("amount_minor")),
        disputes_net=_sum_by_payout(DisputeMovement, F("net_minor")),
    ).annotate(
        ledger_total=F("payments_net") - F("refunds_total") + F("disputes_net"),
        difference=F("amount_minor") - F("ledger_total"),
    )


@dataclasses.dataclass(frozen=True)
class Movement:
    kind: str  # "payment", "refund", "dispute withdrawal", "dispute reinstatement"
    stripe_id: str  # the charge or invoice, the refund, the dispute
    at: dt.datetime | None
    amount_minor: int  # signed: what it adds to the payout
    currency: str
    payment_id: int


def payout_movements(*, payout: Payout) -> list[Movement]:
    """Return the ledger movements in a payout, oldest first (three queries)."""
    key = payout.stripe_payout_id
    movements = [
        Movement("payment", charge or invoice or "", paid_at, net or 0, currency, pk)
        for pk, charge, invoice, paid_at, net, currency in Payment.objects.filter(
            stripe_payout_id=key
        ).values_list(
            "pk", "stripe_charge_id", "stripe_invoice_id", "paid_at", "net_minor", "currency"
        )
    ]
    movements += [
        Movement("refund", stripe_id, at, -amount, currency, payment_id)
        for stripe_id, at, amount, currency, payment_id in Refund.objects.filter(
            stripe_payout_id=key
        ).values_list("stripe_refund_id", "refunded_at", "amount_minor", "currency", "payment_id")
    ]
    movements += [
        Movement(
            f"dispute {movement.kind}",
            movement.dispute.stripe_dispute_id,
            movement.moved_at,
            movement.net_minor,
            movement.currency,
            movement.dispute.payment_id,
        )
        for movement in DisputeMovement.objects.filter(stripe_payout_id=key).select_related(
            "dispute"
        )
    ]
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(movements, key=lambda m: (m.at or epoch, m.kind, m.stripe_id))
