"""Report totals over a hand-checked ledger in three currencies (publisher time: London).

EUR  Jan 10  Alice one-off 10.00 (fee 0.50), refunded in full on Feb 3
     Jan 15  Bob monthly 5.00 (fee 0.30, SEPA), renewed Feb 15, cancelled Mar 20
     Feb 20  Carol one-off 25.00 (fee 1.00), disputed Feb 25 (fee 15.00), lost Mar 10
GBP  Mar 31 23:30 UTC = Apr 1 00:30 in London: Dan one-off 20.00 (fee 0.80), campaign autumn
     Jan 20  Frank, failed: never counted
USD  Jan 5   Eve annual 120.00 (fee 4.00), no campaign
"""

import datetime as dt

import pytest

from finance.filters import DateBasis, ReportFilters
from finance.selectors import MonthSummary, monthly_summary, payment_rows, payments_filtered
from payments.models import Dispute, Payment, Subscription
from tests.finance_factories import (
    CampaignFactory,
    DisputeFactory,
    DisputeMovementFactory,
    PayoutFactory,
    RefundFactory,
    SubscriptionFactory,
    SupporterFactory,
    give,
)

UTC = dt.UTC
JAN, FEB, MAR, APR = (dt.date(2026, m, 1) for m in (1, 2, 3, 4))
PERIOD = ReportFilters(since=dt.date(2026, 1, 1), until=dt.date(2026, 4, 30))


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def ledger(settings):
    settings.PUBLISHER_TIME_ZONE = "Europe/London"
    spring = CampaignFactory.create(slug="spring", currency="EUR")
    autumn = CampaignFactory.create(slug="autumn", currency="GBP")
    alice = give(paid_at=at(1, 10), gross=1000, fee=50, campaign=spring, variant="control")
    RefundFactory.create(payment=alice, refunded_at=at(2, 3))
    bob = SupporterFactory.create(name="Bob")
    bob_first = give(
        supporter=bob,
        paid_at=at(1, 15),
        gross=500,
        fee=30,
        frequency="monthly",
        kind=Payment.Kind.SUBSCRIPTION_FIRST,
        campaign=spring,
        variant="b",
        method="sepa_debit",
    )
    subscription = SubscriptionFactory.create(
        contribution=bob_first.contribution,
        status=Subscription.Status.CANCELED,
        canceled_at=at(3, 20),
        ended_at=at(3, 20),
    )
    give(
        contribution=bob_first.contribution,
        paid_at=at(2, 15),
        gross=500,
        fee=30,
        currency="EUR",
        kind=Payment.Kind.SUBSCRIPTION_RENEWAL,
        method="sepa_debit",
        subscription=subscription,
    )
    carol = give(paid_at=at(2, 20), gross=2500, fee=100, campaign=spring, variant="control")
    DisputeFactory.create(
        payment=carol, opened_at=at(2, 25), closed_at=at(3, 10), status="lost", fee_minor=1500
    )
    give(paid_at=at(3, 31, 23, 30), gross=2000, fee=80, currency="GBP", campaign=autumn)
    give(
        paid_at=at(1, 20),
        gross=3000,
        fee=0,
        currency="GBP",
        status=Payment.Status.FAILED,
        failed_at=at(1, 20),
    )
    eve = give(
        paid_at=at(1, 5),
        gross=12000,
        fee=400,
        currency="USD",
        frequency="annual",
        kind=Payment.Kind.SUBSCRIPTION_FIRST,
    )
    SubscriptionFactory.create(contribution=eve.contribution, interval="year")


def by_key(rows: list[MonthSummary]) -> dict[tuple, MonthSummary]:
    return {(r.month, r.currency, r.campaign): r for r in rows}


@pytest.mark.django_db
def test_monthly_summary_totals_by_hand(ledger, django_assert_max_num_queries):
    # Payments: one query per side of the money (charge, settlement).
    with django_assert_max_num_queries(8):
        rows = by_key(monthly_summary(filters=PERIOD))

    assert set(rows) == {
        (JAN, "EUR", None),
        (FEB, "EUR", None),
        (MAR, "EUR", None),
        (APR, "GBP", None),
        (JAN, "USD", None),
        (FEB, "USD", None),
        (MAR, "USD", None),
        (APR, "USD", None),
    }
    jan = rows[JAN, "EUR", None]
    assert (jan.gross, jan.fees, jan.net, jan.refunds, jan.disputes) == (1500, 80, 1420, 0, 0)
    assert (jan.payments, jan.one_off_payments, jan.recurring_payments) == (2, 1, 1)
    assert (jan.one_off_gross, jan.recurring_gross) == (1000, 500)
    assert (jan.new_supporters, jan.active_monthly_supporters, jan.mrr) == (2, 1, 500)
    assert jan.churned_supporters == 0

    feb = rows[FEB, "EUR", None]
    # Alice's January payment is refunded in February: February's refunds, not January's.
    assert (feb.gross, feb.fees, feb.net, feb.refunds) == (3000, 130, 2870, 1000)
    assert (feb.disputes, feb.dispute_fees) == (0, 1500)
    assert feb.net_after_refunds_and_disputes == 2870 - 1000 - 1500
    assert (feb.payments, feb.new_supporters, feb.active_monthly_supporters, feb.mrr) == (
        2,
        1,
        1,
        500,
    )

    mar = rows[MAR, "EUR", None]
    # Carol's February payment is lost to a dispute in March.
    assert (mar.gross, mar.payments, mar.disputes, mar.refunds) == (0, 0, 2500, 0)
    assert (mar.churned_supporters, mar.active_monthly_supporters, mar.mrr) == (1, 0, 0)
    assert mar.net_after_refunds_and_disputes == -2500

    # 23:30 UTC on March 31 is already April 1 in London (summer time).
    apr = rows[APR, "GBP", None]
    assert (apr.gross, apr.fees, apr.net, apr.payments, apr.new_supporters) == (
        2000,
        80,
        1920,
        1,
        1,
    )

    usd = rows[JAN, "USD", None]
    assert (usd.gross, usd.fees, usd.net, usd.recurring_payments, usd.new_supporters) == (
        12000,
        400,
        11600,
        1,
        1,
    )
    # An annual gift counts a twelfth of itself in monthly recurring revenue, every month.
    for month in (JAN, FEB, MAR, APR):
        assert rows[month, "USD", None].active_annual_supporters == 1
        assert rows[month, "USD", None].mrr == 1000


@pytest.mark.django_db
def test_summary_by_campaign_and_filters(ledger):
    rows = by_key(monthly_summary(filters=PERIOD, by_campaign=True))
    assert rows[JAN, "EUR", "spring"].gross == 1500
    assert rows[APR, "GBP", "autumn"].gross == 2000
    assert rows[JAN, "USD", ""].gross == 12000

    control = ReportFilters(since=PERIOD.since, until=PERIOD.until, variant="control")
    rows = by_key(monthly_summary(filters=control))
    assert rows[JAN, "EUR", None].gross == 1000
    assert rows[FEB, "EUR", None].refunds == 1000
    assert rows[MAR, "EUR", None].disputes == 2500
    assert (FEB, "USD", None) not in rows

    sepa = ReportFilters(since=PERIOD.since, until=PERIOD.until, payment_method="sepa_debit")
    rows = by_key(monthly_summary(filters=sepa))
    assert [(k, r.gross) for k, r in rows.items() if r.gross] == [
        ((JAN, "EUR", None), 500),
        ((FEB, "EUR", None), 500),
    ]

    only_march = ReportFilters(since=dt.date(2026, 3, 1), until=dt.date(2026, 3, 31))
    rows = by_key(monthly_summary(filters=only_march))
    assert rows[MAR, "EUR", None].disputes == 2500
    assert (APR, "GBP", None) not in rows


@pytest.mark.django_db
def test_payment_rows_filters_and_payout_basis(ledger):
    everything = list(payment_rows(filters=ReportFilters()))
    assert len(everything) == 7

    gbp = payments_filtered(filters=ReportFilters(currency="GBP"))
    assert gbp.count() == 2
    assert payments_filtered(filters=ReportFilters(currency="GBP", status="failed")).count() == 1
    monthly = payments_filtered(filters=ReportFilters(frequency="monthly"))
    assert sorted(monthly.values_list("gross_minor", flat=True)) == [500, 500]
    assert payments_filtered(filters=ReportFilters(campaign="autumn")).count() == 1
    april = payments_filtered(filters=ReportFilters(since=APR, until=dt.date(2026, 4, 30)))
    assert list(april.values_list("currency", flat=True)) == ["GBP"]

    payout = PayoutFactory.create(arrival_date=dt.date(2026, 5, 4))
    Payment.objects.filter(currency="USD").update(stripe_payout_id=payout.stripe_payout_id)
    may_payouts = ReportFilters(
        since=dt.date(2026, 5, 1), until=dt.date(2026, 5, 31), date_basis=DateBasis.PAYOUT
    )
    assert list(payments_filtered(filters=may_payouts).values_list("currency", flat=True)) == [
        "USD"
    ]
    rows = by_key(monthly_summary(filters=may_payouts))
    assert rows[dt.date(2026, 5, 1), "USD", None].gross == 12000
    row = next(iter(payment_rows(filters=may_payouts)))
    assert row[-1] == dt.date(2026, 5, 4)


@pytest.mark.django_db
def test_disputes_by_payout_date_count_with_the_payout_that_carried_their_money(ledger):
    # Carol's dispute took its amount and fee from a payout arriving on Feb 27; lost in March.
    payout = PayoutFactory.create(arrival_date=dt.date(2026, 2, 27))
    DisputeMovementFactory.create(
        dispute=Dispute.objects.get(), stripe_payout_id=payout.stripe_payout_id
    )
    by_payout = ReportFilters(since=PERIOD.since, until=PERIOD.until, date_basis=DateBasis.PAYOUT)

    rows = by_key(monthly_summary(filters=by_payout))
    assert (rows[FEB, "EUR", None].disputes, rows[FEB, "EUR", None].dispute_fees) == (2500, 1500)
    assert rows[MAR, "EUR", None].disputes == 0
    rows = by_key(monthly_summary(filters=by_payout, by_campaign=True))
    assert rows[FEB, "EUR", "spring"].disputes == 2500
    # By payment date nothing moves: lost in March, its fee where it opened (February).
    rows = by_key(monthly_summary(filters=PERIOD))
    assert (rows[FEB, "EUR", None].dispute_fees, rows[MAR, "EUR", None].disputes) == (1500, 2500)


@pytest.mark.django_db
def test_a_supporter_is_new_once_even_with_two_gifts_at_the_same_instant(settings):
    settings.PUBLISHER_TIME_ZONE = "Europe/London"
    reader = SupporterFactory.create()
    give(supporter=reader, paid_at=at(1, 10), gross=1000, fee=50)
    give(supporter=reader, paid_at=at(1, 10), gross=500, fee=30)
    give(supporter=reader, paid_at=at(2, 10), gross=700, fee=30)
    rows = by_key(monthly_summary(filters=PERIOD))
    assert rows[JAN, "EUR", None].new_supporters == 1
    assert rows[FEB, "EUR", None].new_supporters == 0
