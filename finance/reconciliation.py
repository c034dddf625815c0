"""Payout reconciliation: each Stripe payout beside the ledger movements it contains.

A payout pays out the net of its charges less its refunds and dispute withdrawals (amount plus
Stripe's dispute fee), all linked by `stripe_payout_id`. When the ledger's sum differs from the
payout's amount, the payout is flagged with the difference (payout minus ledger).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db.models import F, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from payments.models import Dispute, Payment, Payout, Refund


def _sum_by_payout(
    model: type[Payment] | type[Refund] | type[Dispute], expression: Any
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
    """Annotate payouts with `payments_net`, `refunds_total`, `disputes_total`, `ledger_total`
    and `difference`, in one query."""
    payouts = payouts if payouts is not None else Payout.objects.all()
    return payouts.annotate(
        payments_net=_sum_by_payout(Payment, F("net_minor")),
        refunds_total=_sum_by_payout(Refund, F("amount_minor")),
        disputes_total=_sum_by_payout(Dispute, F("amount_minor") + F("fee_minor")),
    ).annotate(
        ledger_total=F("payments_net") - F("refunds_total") - F("disputes_total"),
        difference=F("amount_minor") - F("ledger_total"),
    )


@dataclasses.dataclass(frozen=True)
class Movement:
    kind: str  # "payment", "refund", "dispute"
    stripe_id: str
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
        Movement("dispute", stripe_id, at, -(amount + fee), currency, payment_id)
        for stripe_id, at, amount, fee, currency, payment_id in Dispute.objects.filter(
            stripe_payout_id=key
        ).values_list(
            "stripe_dispute_id", "opened_at", "amount_minor", "fee_minor", "currency", "payment_id"
        )
    ]
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(movements, key=lambda m: (m.at or epoch, m.kind, m.stripe_id))
