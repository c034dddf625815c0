"""Payout reconciliation: a payout whose ledger movements add up, one that does not, and a
dispute whose withdrawal and reinstatement were paid out apart."""

import datetime as dt

import pytest

from finance.reconciliation import payout_movements, payouts_reconciled
from tests.finance_factories import (
    DisputeFactory,
    DisputeMovementFactory,
    PayoutFactory,
    RefundFactory,
    give,
)

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
    dispute = DisputeFactory.create(
        payment=second, amount_minor=1000, fee_minor=1500, opened_at=at(4)
    )
    DisputeMovementFactory.create(dispute=dispute, stripe_payout_id="po_match")
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
    assert (match.payments_net, match.refunds_total, match.disputes_net) == (3320, 400, -2500)
    assert match.ledger_total == match.amount_minor == 420
    assert match.difference == 0

    movements = payout_movements(payout=payouts[0])
    assert [(m.kind, m.amount_minor) for m in movements] == [
        ("payment", 950),
        ("payment", 2370),
        ("refund", -400),
        ("dispute withdrawal", -2500),
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


@pytest.mark.django_db
def test_a_won_dispute_counts_in_the_payout_of_each_of_its_movements(django_assert_num_queries):
    payment = give(paid_at=at(1), gross=3000, fee=100, stripe_payout_id="po_march")
    dispute = DisputeFactory.create(
        payment=payment, amount_minor=3000, fee_minor=0, status="won", opened_at=at(3)
    )
    DisputeMovementFactory.create(
        dispute=dispute, amount_minor=-3000, fee_minor=1500, stripe_payout_id="po_march"
    )
    # Won in April: the amount back, and here the dispute fee too (a negative fee).
    DisputeMovementFactory.create(
        dispute=dispute,
        amount_minor=3000,
        fee_minor=-1500,
        moved_at=dt.datetime(2026, 4, 20, 12, tzinfo=UTC),
        stripe_payout_id="po_april",
    )
    march = PayoutFactory.create(stripe_payout_id="po_march", amount_minor=2900 - 4500)
    april = PayoutFactory.create(stripe_payout_id="po_april", amount_minor=4500)

    rows = {p.stripe_payout_id: p for p in payouts_reconciled()}
    assert (rows["po_march"].disputes_net, rows["po_march"].difference) == (-4500, 0)
    assert (rows["po_april"].disputes_net, rows["po_april"].difference) == (4500, 0)

    with django_assert_num_queries(3):
        in_april = payout_movements(payout=april)
    assert [(m.kind, m.stripe_id, m.amount_minor, m.payment_id) for m in in_april] == [
        ("dispute reinstatement", dispute.stripe_dispute_id, 4500, payment.pk)
    ]
    assert [m.kind for m in payout_movements(payout=march)] == ["payment", "dispute withdrawal"]
