"""Payout reconciliation: each Stripe payout against its own balance transactions, and each of
those matched to the ledger.

Two checks, as Stripe's own payout reconciliation does them:

1. The payout against the sum of its own rows: the net of every balance transaction Stripe listed
   for it (`?payout=`), less the payout's own transaction, is the amount paid out. Stripe lists
   them once the payout's `reconciliation_status` is `completed`; until then the payout waits.
2. Each row against the ledger: a charge or payment to a payment, a refund to a refund, a
   dispute's withdrawal or reinstatement to its dispute movement, a `payout_failure` to the failed
   payout whose money it gave back. The kinds the ledger does not create itself (Billing's
   `stripe_fee`, `stripe_fx_fee`, `payment_failure_refund`, `refund_failure`, adjustments,
   reserves...) are Stripe's alone: listed, never flagged.

The ledger's side (`ledger_total`: payments' net, less refunds, plus dispute movements, tagged
with `stripe_payout_id`) plus Stripe's own rows then equals the payout. A manual payout has no
list (Stripe cannot tell what it carried) and is reported as manual, not as a mismatch; a payout
that failed or was canceled carries nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce

from payments.models import (
    DisputeMovement,
    Payment,
    Payout,
    PayoutBalanceTransaction,
    Refund,
)
from payments.payouts import PAYMENT_TYPES, PAYOUT_RETURN_TYPES, REFUND_TYPES, UNDONE_STATUSES

DISPUTE_CATEGORIES = ("dispute", "dispute_reversal")


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


def _own_payout_row() -> Q:
    """The payout's own balance transaction (the amount paid out, negative)."""
    return Q(type="payout", source_id=OuterRef("stripe_payout_id"))


def _dispute_row() -> Q:
    return Q(reporting_category__in=DISPUTE_CATEGORIES) | Q(source_id__startswith="dp_")


def _ledger_kind() -> Q:
    """Rows the ledger records itself (or, for a payout failure, the payout it undoes)."""
    return (
        Q(type__in=PAYMENT_TYPES)
        | Q(type__in=REFUND_TYPES)
        | Q(type__in=PAYOUT_RETURN_TYPES)
        | _dispute_row()
    )


def _unmatched() -> Q:
    """Rows of a ledger kind the ledger does not hold."""
    payment = Payment.objects.filter(
        Q(stripe_balance_transaction_id=OuterRef("stripe_balance_transaction_id"))
        | Q(stripe_charge_id=OuterRef("source_id"))
    )
    refund = Refund.objects.filter(
        Q(stripe_balance_transaction_id=OuterRef("stripe_balance_transaction_id"))
        | Q(stripe_refund_id=OuterRef("source_id"))
    )
    movement = DisputeMovement.objects.filter(
        stripe_balance_transaction_id=OuterRef("stripe_balance_transaction_id")
    )
    undone = Payout.objects.filter(
        stripe_payout_id=OuterRef("source_id"), status__in=UNDONE_STATUSES
    )
    return (
        (Q(type__in=PAYMENT_TYPES) & ~Exists(payment))
        | (Q(type__in=REFUND_TYPES) & ~Exists(refund))
        | (Q(type__in=PAYOUT_RETURN_TYPES) & ~Exists(undone))
        | (_dispute_row() & ~Q(type__in=PAYMENT_TYPES + REFUND_TYPES) & ~Exists(movement))
    )


def _rows_aggregate(condition: Q, aggregate: Any) -> Coalesce:
    rows = (
        PayoutBalanceTransaction.objects.filter(payout=OuterRef("pk"))
        .filter(condition)
        .order_by()
        .values("payout")
        .annotate(value=aggregate)
        .values("value")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


def payouts_reconciled(payouts: QuerySet[Payout] | None = None) -> QuerySet[Any]:
    """Annotate payouts, in one query, with:

    - the ledger's side: `payments_net`, `refunds_total`, `disputes_net` (signed), their
      `ledger_total`, and `difference` (payout less ledger);
    - Stripe's list: `transactions_count` (the payout's own transaction excluded),
      `transactions_total` (their net), `stripe_only_total` (the net of the kinds the ledger does
      not create), `unmatched_count` (rows of a ledger kind the ledger lacks);
    - `rows_difference` (payout less its rows) and `unexplained` (payout less the ledger less
      Stripe's own rows).
    """
    payouts = payouts if payouts is not None else Payout.objects.all()
    listed = ~_own_payout_row()
    return payouts.annotate(
        payments_net=_sum_by_payout(Payment, F("net_minor")),
        # Settlement money only: what each refund took from the balance, not its charge amount.
        refunds_total=_sum_by_payout(Refund, -F("settlement_net_minor")),
        disputes_net=_sum_by_payout(DisputeMovement, F("net_minor")),
        transactions_count=_rows_aggregate(listed, Count("pk")),
        transactions_total=_rows_aggregate(listed, Sum("net_minor")),
        stripe_only_total=_rows_aggregate(listed & ~_ledger_kind(), Sum("net_minor")),
        unmatched_count=_rows_aggregate(_unmatched(), Count("pk")),
    ).annotate(
        ledger_total=F("payments_net") - F("refunds_total") + F("disputes_net"),
        difference=F("amount_minor") - F("ledger_total"),
        rows_difference=F("amount_minor") - F("transactions_total"),
        unexplained=F("amount_minor") - F("ledger_total") - F("stripe_only_total"),
    )


class State:
    MATCHES = "matches"
    DIFFERS = "differs"
    MANUAL = "manual"
    WAITING = "waiting"
    UNDONE = "undone"

    LABELS = {
        MATCHES: "reconciled: its transactions and the ledger agree",
        DIFFERS: "needs a look: its transactions or the ledger differ",
        MANUAL: "manual payout: Stripe lists no transactions for it",
        WAITING: "waiting for Stripe's list of its transactions",
        UNDONE: "failed or canceled: its money went back to the balance",
    }


def payout_state(payout: Any) -> str:
    """Return how a payout annotated by `payouts_reconciled` stands (a `State` value)."""
    if payout.status in UNDONE_STATUSES:
        return State.UNDONE
    if not payout.automatic:
        return State.MANUAL
    if payout.reconciliation_status != "completed" or not payout.transactions_count:
        return State.WAITING
    if payout.rows_difference or payout.unmatched_count or payout.unexplained:
        return State.DIFFERS
    return State.MATCHES


def payouts_differing() -> Q:
    """The payouts annotated by `payouts_reconciled` that need a look: a listed payout whose rows
    or ledger do not add up, or an unlisted one whose ledger does not (manual, failed and
    canceled payouts excepted)."""
    counted = ~Q(status__in=UNDONE_STATUSES) & Q(automatic=True)
    listed_wrong = ~Q(transactions_count=0) & ~Q(rows_difference=0)
    return counted & (~Q(unexplained=0) | ~Q(unmatched_count=0) | listed_wrong)


def payouts_in_state(payouts: QuerySet[Any], state: str) -> QuerySet[Any]:
    """Filter payouts annotated by `payouts_reconciled` to one `State`, in SQL."""
    undone = Q(status__in=UNDONE_STATUSES)
    manual = ~undone & Q(automatic=False)
    waiting = (
        ~undone
        & Q(automatic=True)
        & (~Q(reconciliation_status="completed") | Q(transactions_count=0))
    )
    listed = ~undone & ~manual & ~waiting
    differs = ~Q(rows_difference=0) | ~Q(unmatched_count=0) | ~Q(unexplained=0)
    conditions = {
        State.UNDONE: undone,
        State.MANUAL: manual,
        State.WAITING: waiting,
        State.DIFFERS: listed & differs,
        State.MATCHES: listed & ~differs,
    }
    return payouts.filter(conditions[state])


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
            "pk",
            "stripe_charge_id",
            "stripe_invoice_id",
            "paid_at",
            "net_minor",
            "settlement_currency",
        )
    ]
    movements += [
        Movement("refund", stripe_id, at, net or 0, currency, payment_id)
        for stripe_id, at, net, currency, payment_id in Refund.objects.filter(
            stripe_payout_id=key
        ).values_list(
            "stripe_refund_id",
            "refunded_at",
            "settlement_net_minor",
            "settlement_currency",
            "payment_id",
        )
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


# What each kind of balance transaction the ledger does not create is, in plain words.
STRIPE_ONLY_LABELS = {
    "stripe_fee": "Stripe fee (Billing, Radar...)",
    "stripe_fx_fee": "currency conversion fee",
    "payment_failure_refund": "a failed bank payment taken back",
    "refund_failure": "a failed refund given back",
    "adjustment": "adjustment",
    "reserve_transaction": "reserve",
    "reserved_funds": "reserve",
    "reserve_hold": "reserve held",
    "reserve_release": "reserve released",
    "payout_minimum_balance_hold": "minimum balance held",
    "payout_minimum_balance_release": "minimum balance released",
    "tax_fee": "tax on Stripe fees",
}


@dataclasses.dataclass(frozen=True)
class TransactionMatch:
    """One balance transaction of a payout and what it is in the ledger."""

    row: PayoutBalanceTransaction
    matched: str  # what it matched ("payment 12", "refund re_...", "Stripe only: ...")
    in_ledger: bool | None  # True: found; False: missing (flagged); None: not a ledger kind
    differs_by: int = 0  # row's net less the ledger's, when both are known


def payout_transactions_matched(*, payout: Payout) -> list[TransactionMatch]:
    """Return each balance transaction of a payout (its own excluded) matched to the ledger,
    in five queries."""
    rows = list(
        PayoutBalanceTransaction.objects.filter(payout=payout).exclude(
            type="payout", source_id=payout.stripe_payout_id
        )
    )
    txns = [row.stripe_balance_transaction_id for row in rows]
    sources = [row.source_id for row in rows if row.source_id]
    payments = {
        key: (pk, net)
        for pk, charge, txn, net in Payment.objects.filter(
            Q(stripe_charge_id__in=sources) | Q(stripe_balance_transaction_id__in=txns)
        ).values_list("pk", "stripe_charge_id", "stripe_balance_transaction_id", "net_minor")
        for key in (charge, txn)
        if key
    }
    refunds = {
        key: refund_id
        for refund_id, txn in Refund.objects.filter(
            Q(stripe_refund_id__in=sources) | Q(stripe_balance_transaction_id__in=txns)
        ).values_list("stripe_refund_id", "stripe_balance_transaction_id")
        for key in (refund_id, txn)
        if key
    }
    movements = dict(
        DisputeMovement.objects.filter(stripe_balance_transaction_id__in=txns).values_list(
            "stripe_balance_transaction_id", "net_minor"
        )
    )
    undone = set(
        Payout.objects.filter(stripe_payout_id__in=sources, status__in=UNDONE_STATUSES).values_list(
            "stripe_payout_id", flat=True
        )
    )
    matches = []
    for row in rows:
        txn, source = row.stripe_balance_transaction_id, row.source_id
        if row.type in PAYMENT_TYPES:
            found = payments.get(txn) or payments.get(source)
            if found is None:
                matches.append(TransactionMatch(row, f"no payment for {source}", False))
            else:
                differs = row.net_minor - found[1] if found[1] is not None else 0
                matches.append(TransactionMatch(row, f"payment {found[0]}", True, differs))
        elif row.type in REFUND_TYPES:
            refund = refunds.get(txn) or refunds.get(source)
            label = f"refund {refund}" if refund else f"no refund for {source}"
            matches.append(TransactionMatch(row, label, refund is not None))
        elif row.reporting_category in DISPUTE_CATEGORIES or source.startswith("dp_"):
            net = movements.get(txn)
            if net is None:
                matches.append(TransactionMatch(row, f"no dispute movement of {source}", False))
            else:
                label = f"dispute {source}"
                matches.append(TransactionMatch(row, label, True, row.net_minor - net))
        elif row.type in PAYOUT_RETURN_TYPES:
            ok = source in undone
            label = f"payout {source}, which failed" if ok else f"no failed payout {source}"
            matches.append(TransactionMatch(row, label, ok))
        else:
            label = STRIPE_ONLY_LABELS.get(row.type, row.type.replace("_", " "))
            matches.append(TransactionMatch(row, f"Stripe only: {label}", None))
    return matches
