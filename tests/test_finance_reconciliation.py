"""Payout reconciliation: a payout whose ledger movements add up, and one that does not."""

import datetime as dt

import pytest

from finance.reconciliation import payout_movements, payouts_reconciled
from tests.finance_factories import DisputeFactory, PayoutFactory, RefundFactory, give

UTC = dt.UTC


def at(day: int) -> dt.datetime:
    return dt.datetime(2026, 3, day, 12, tzinfo=UTC)


@pytest.fixture
def payouts():
    matching = PayoutFactory.create(stripe_payout_id="po_match", amount_minor=0, currency="EUR")
    # Two charges (net 9.50 + 23.70), one partial refund (4.00), one dispute (10.00 + 15.00 fee).
    first = give(paid_at=at(1), gross=1000, fee=50, stripe_payout_id="po_match")
    second = give(paid_at=at(2), gross=2500, fee=130, stripe_payout_id="po_match")
    RefundFactory.create(
        payment=first, amount_minor=400, refunded_at=at(3), stripe_payout_id="po_match"
    )
    DisputeFactory.create(
        payment=second,
        amount_minor=1000,
        fee_minor=1500,
        opened_at=at(4),
        stripe_payout_id="po_match",
    )
    matching.amount_minor = 950 + 2370 - 400 - 2500
    matching.save()

    short = PayoutFactory.create(stripe_payout_id="po_short", amount_minor=5000, currency="EUR")
    give(paid_at=at(5), gross=5000, fee=150, stripe_payout_id="po_short")
    return matching, short


@pytest.mark.django_db
def test_matching_payout_sums_to_its_amount(payouts, django_assert_num_queries):
    with django_assert_num_queries(1):
        rows = {p.stripe_payout_id: p for p in payouts_reconciled()}
    match = rows["po_match"]
    assert (match.payments_net, match.refunds_total, match.disputes_total) == (3320, 400, 2500)
    assert match.ledger_total == match.amount_minor == 420
    assert match.difference == 0

    movements = payout_movements(payout=payouts[0])
    assert [(m.kind, m.amount_minor) for m in movements] == [
        ("payment", 950),
        ("payment", 2370),
        ("refund", -400),
        ("dispute", -2500),
    ]
    assert sum(m.amount_minor for m in movements) == payouts[0].amount_minor


@pytest.mark.django_db
def test_mismatching_payout_is_flagged_with_the_difference(payouts):
    short = payouts_reconciled().get(stripe_payout_id="po_short")
    # Stripe paid out 50.00; the ledger only knows of 48.50 (for example a missed charge).
    assert short.ledger_total == 4850
    assert short.difference == 150
    mismatched = payouts_reconciled().exclude(difference=0)
    assert list(mismatched.values_list("stripe_payout_id", flat=True)) == ["po_short"]
