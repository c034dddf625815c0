"""Monthly recurring revenue uses the amount in force at each month's end (publisher time: London).

Subscriptions are mirrored through the ledger's `subscription_apply`, as the webhook handlers
and the self-service amount change do, so the amounts they replace are kept the way they are
in production. All in EUR:

Hana  monthly 10.00 from Jan 10, raised to 15.00 on Mar 12
Ivan  annual 100.00 (8.33 a month) from Jan 20, raised to 130.00 (10.83) on Feb 20
Jo    monthly 5.00 from Jan 5, lowered to 4.00 on Feb 10, cancelled Mar 20
Kai   monthly 20.00 from Feb 2, changed to 25.00 at midnight on 1 April in London (23:00 UTC)

          Jan    Feb    Mar    Apr
Hana     1000   1000   1500   1500
Ivan      833   1083   1083   1083
Jo        500    400      -      -
Kai         -   2000   2000   2500
MRR      2333   4483   4583   5083
"""

import dataclasses
import datetime as dt

import pytest

from finance import selectors
from finance.selectors import MonthSummary, monthly_summary
from payments.gateway import SubscriptionState
from payments.ledger import subscription_apply
from payments.models import (
    Contribution,
    Payment,
    Subscription,
    SubscriptionPastAmount,
)
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from stripe_emulator.api import api_call
from tests.finance_factories import SupporterFactory, give
from tests.test_finance_reports import APR, FEB, JAN, MAR, PERIOD, at

MRR_BY_MONTH = {JAN: 2333, FEB: 4483, MAR: 4583, APR: 5083}


def mirror(
    contribution: Contribution,
    *,
    when: dt.datetime,
    amount: int,
    status: str = "active",
    ended: dt.datetime | None = None,
) -> Subscription:
    """Apply a state of the contribution's subscription, created by Stripe at `when`."""
    return subscription_apply(
        contribution=contribution,
        state=SubscriptionState(
            id=f"sub_history_{contribution.pk}",
            status=status,
            amount_minor=amount,
            currency="EUR",
            interval="year" if contribution.frequency == "annual" else "month",
            current_period_end=None,
            cancel_at_period_end=False,
            cancel_at=None,
            canceled_at=ended,
            ended_at=ended,
            cancellation_reason="",
            cancellation_feedback="",
            contribution_id=contribution.pk,
            customer_id=None,
        ),
        at=when,
    )


def subscribe(name: str, *, paid_at: dt.datetime, amount: int, frequency: str) -> Contribution:
    """A first payment and the subscription mirrored when it was paid."""
    first = give(
        supporter=SupporterFactory.create(name=name),
        paid_at=paid_at,
        gross=amount,
        fee=30,
        frequency=frequency,
        kind=Payment.Kind.SUBSCRIPTION_FIRST,
    )
    contribution = first.contribution
    assert contribution is not None
    mirror(contribution, when=paid_at, amount=amount)
    return contribution


@pytest.fixture
def supporters(settings):
    settings.PUBLISHER_TIME_ZONE = "Europe/London"
    hana = subscribe("Hana", paid_at=at(1, 10), amount=1000, frequency="monthly")
    ivan = subscribe("Ivan", paid_at=at(1, 20), amount=10000, frequency="annual")
    jo = subscribe("Jo", paid_at=at(1, 5), amount=500, frequency="monthly")
    kai = subscribe("Kai", paid_at=at(2, 2), amount=2000, frequency="monthly")
    mirror(ivan, when=at(2, 20), amount=13000)
    mirror(jo, when=at(2, 10), amount=400)
    mirror(jo, when=at(3, 20), amount=400, status="canceled", ended=at(3, 20))
    mirror(kai, when=dt.datetime(2026, 3, 31, 23, 0, tzinfo=dt.UTC), amount=2500)
    return hana


def by_month(rows: list[MonthSummary]) -> dict[dt.date, MonthSummary]:
    assert {row.currency for row in rows} == {"EUR"}
    return {row.month: row for row in rows}


def the_general_path(monkeypatch) -> None:
    """Make the summary count with filtered aggregates, as on SQLite or past MAX_MASK_MONTHS."""
    monkeypatch.setattr(selectors, "MAX_MASK_MONTHS", 0)


@pytest.mark.django_db
@pytest.mark.parametrize("path", [pytest.param("intervals", marks=pytest.mark.postgres), "filters"])
def test_mrr_is_the_amount_in_force_at_each_months_end(supporters, path, monkeypatch):
    if path == "filters":
        the_general_path(monkeypatch)
    hana = supporters
    before_the_raise = by_month(monthly_summary(filters=PERIOD))
    mirror(hana, when=at(3, 12), amount=1500)

    rows = by_month(monthly_summary(filters=PERIOD))
    assert {month: row.mrr for month, row in rows.items()} == MRR_BY_MONTH
    # Hana's raise in March leaves January and February as they were reported before it.
    for month in (JAN, FEB):
        assert rows[month] == before_the_raise[month]
    assert rows[MAR].mrr - before_the_raise[MAR].mrr == 500
    # Counting supporters is not changed by their amounts: Jo stopped in March.
    counts = [
        (row.active_monthly_supporters, row.active_annual_supporters) for row in rows.values()
    ]
    assert counts == [(2, 1), (3, 1), (2, 1), (2, 1)]
    assert rows[MAR].churned_supporters == 1


@pytest.mark.django_db
@pytest.mark.postgres
def test_both_paths_agree_by_campaign_and_over_part_of_the_period(supporters, monkeypatch):
    mirror(supporters, when=at(3, 12), amount=1500)
    periods = (
        PERIOD,
        dataclasses.replace(PERIOD, since=dt.date(2026, 3, 1)),
        dataclasses.replace(PERIOD, frequency="annual"),
    )
    fast = [monthly_summary(filters=f, by_campaign=c) for f in periods for c in (False, True)]
    the_general_path(monkeypatch)
    general = [monthly_summary(filters=f, by_campaign=c) for f in periods for c in (False, True)]
    assert fast == general
    annual = by_month(fast[4])
    assert [annual[m].mrr for m in (JAN, FEB, MAR, APR)] == [833, 1083, 1083, 1083]


@pytest.mark.django_db
def test_the_ledger_keeps_each_replaced_amount_once_and_in_order(supporters):
    hana = supporters
    subscription = Subscription.objects.get(contribution=hana)
    assert not subscription.past_amounts.exists()  # no change yet: one amount since the start

    mirror(hana, when=at(3, 12), amount=1500)
    mirror(hana, when=at(3, 1), amount=900)  # an older state arriving late: ignored
    mirror(hana, when=at(3, 12, 18), amount=1500)  # the same amount again: nothing replaced
    mirror(hana, when=at(4, 2), amount=1200)
    mirror(hana, when=at(4, 2), amount=1800)  # twice at one instant: 12.00 was never in force

    subscription.refresh_from_db()
    assert subscription.amount_minor == 1800
    assert list(
        subscription.past_amounts.order_by("valid_until").values_list(
            "amount_minor", "valid_from", "valid_until"
        )
    ) == [(1000, None, at(3, 12)), (1500, at(3, 12), at(4, 2))]
    # A cancellation replaces no amount.
    jo = Subscription.objects.get(contribution__supporter__name="Jo")
    assert list(jo.past_amounts.values_list("amount_minor", "valid_until")) == [(500, at(2, 10))]
    assert SubscriptionPastAmount.objects.count() == 5


@pytest.mark.django_db
def test_a_stripe_update_keeps_the_amount_it_replaced(emulated):
    contribution = emulated.give(frequency="monthly", amount="500")
    sub_id = emulated.emulator.get(str(contribution.stripe_checkout_session_id))["subscription"]
    item = emulated.emulator.get(sub_id)["items"]["data"][0]
    mark = emulated.emulator.events_mark()
    api_call(  # raised to 8.00 a month in Stripe's Dashboard
        emulated.emulator,
        "POST",
        f"/v1/subscriptions/{sub_id}",
        {
            "items": [
                {
                    "id": item["id"],
                    "price_data": {
                        "currency": "eur",
                        "product": item["price"]["product"],
                        "unit_amount": 800,
                        "recurring": {"interval": "month"},
                    },
                }
            ],
            "proration_behavior": "none",
        },
    )
    raised = emulated.emulator.events(since=mark)
    now = emulated.event(raised, "customer.subscription.updated")["created"]
    emulated.deliver(raised)

    subscription = Subscription.objects.get()
    assert subscription.amount_minor == 800
    assert list(
        subscription.past_amounts.values_list("amount_minor", "valid_from", "valid_until")
    ) == [(500, None, dt.datetime.fromtimestamp(now, dt.UTC))]
