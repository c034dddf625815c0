"""The daily rollups the dashboard reads stay equal to the ledger, whatever writes it.

The rollups are kept by PostgreSQL triggers on payments and contributions (finance/rollups.py).
Here: each kind of ledger write, one after another, with the rollups compared to a fresh count
of the ledger after each; the dashboard read from the rollups equals the dashboard computed from
the raw rows over a varied ledger (three currencies, a charge settled in another currency,
refunds, a lost dispute, subscriptions) for every filter; compaction and a rebuild change no
figure. tests/conftest.py also checks the rollups after every database test of the suite, so
each ledger path the suite plays (webhooks, refunds, disputes, the Stripe backfill) is covered.
"""

import dataclasses
import datetime as dt
import threading
import time

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Sum

from campaigns.models import Campaign
from finance import selectors
from finance.models import NewSupporterDay, PaymentDayTotal, RecurringDay, SupporterRecurring
from finance.rollup_reads import rollups_cover, rollups_current
from finance.rollups import rollups_compact, rollups_drift, rollups_rebuild
from finance.selectors import monthly_summary
from finance.tasks import rollups_compact_task
from payments.ledger import payment_apply
from payments.models import Contribution, Payment, Subscription, SubscriptionPastAmount
from tests.finance_factories import (
    CampaignFactory,
    ContributionFactory,
    PaymentFactory,
    SubscriptionFactory,
    SupporterFactory,
    give,
)
from tests.test_finance_dashboard_paths import twice_subscribed  # noqa: F401 - the fixture
from tests.test_finance_reports import PERIOD, at, ledger  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.fail("the rollups are PostgreSQL's: set DATABASE_URL to a PostgreSQL database")


def raw(filters, *, by_campaign=False, monkeypatch):
    """The summary computed from the ledger's rows, as before the rollups."""
    with monkeypatch.context() as patch:
        patch.setattr(selectors, "rollups_cover", lambda filters, current: False)
        patch.setattr(selectors, "recurring_rollups_cover", lambda filters, current: False)
        return monthly_summary(filters=filters, by_campaign=by_campaign)


@pytest.fixture
def varied(ledger, twice_subscribed):  # noqa: F811 - the fixtures imported above
    """The hand-checked ledger plus a EUR charge settled in GBP, a SEPA debit not settled yet,
    a supporter whose second contribution was paid first, and a payment with no contribution."""
    give(
        paid_at=at(2, 2),
        gross=4000,
        fee=120,
        settlement_currency="GBP",
        settlement_amount_minor=3400,
    )
    give(paid_at=at(3, 3), gross=700, fee=None, method="sepa_debit")
    hana = SupporterFactory.create(name="Hana")
    give(supporter=hana, paid_at=at(3, 15), gross=900, fee=40, currency="GBP")
    monthly = give(supporter=hana, paid_at=at(1, 25), gross=600, fee=30, frequency="monthly")
    # Hana gave 4.00 a month until 10 March, 6.00 since; a scheduled cancellation (asked for,
    # not yet in effect) leaves her active.
    raised = SubscriptionFactory.create(
        contribution=monthly.contribution, canceled_at=at(4, 2), amount_minor=600
    )
    SubscriptionPastAmount.objects.create(
        subscription=raised, amount_minor=400, valid_from=None, valid_until=at(3, 10)
    )
    # Ivan: two monthly gifts to two campaigns at once, one ended 31 March 23:30 UTC (London's
    # 1 April), and an annual one; an incomplete subscription counts nowhere.
    ivan = SupporterFactory.create(name="Ivan")
    for campaign, paid, ended in (
        ("spring", at(1, 3), None),
        ("autumn", at(2, 10), at(3, 31, 23, 30)),
    ):
        gift = give(
            supporter=ivan,
            paid_at=paid,
            gross=700,
            fee=20,
            frequency="monthly",
            kind=Payment.Kind.SUBSCRIPTION_FIRST,
            campaign=Campaign.objects.get(slug=campaign),
        )
        SubscriptionFactory.create(
            contribution=gift.contribution,
            status=Subscription.Status.CANCELED if ended else Subscription.Status.ACTIVE,
            canceled_at=ended,
            ended_at=ended,
        )
    annual = give(supporter=ivan, paid_at=at(2, 1), gross=2400, fee=60, frequency="annual")
    SubscriptionFactory.create(contribution=annual.contribution, interval="year")
    SubscriptionFactory.create(
        contribution=ContributionFactory.create(supporter=ivan, frequency="monthly"),
        status=Subscription.Status.INCOMPLETE,
    )
    PaymentFactory.create(
        contribution=None,
        kind=Payment.Kind.ONE_OFF,
        status=Payment.Status.SUCCEEDED,
        gross_minor=1500,
        fee_minor=60,
        net_minor=1440,
        currency="EUR",
        paid_at=at(2, 28, 23, 59),
    )


def test_the_dashboard_reads_the_rollups_for_a_closed_period_by_payment_date(varied, monkeypatch):
    assert rollups_current()
    assert rollups_cover(PERIOD, current=True)
    assert not rollups_cover(dataclasses.replace(PERIOD, date_basis="payout"), current=True)
    assert not rollups_cover(dataclasses.replace(PERIOD, until=None), current=True)

    def scanned(*args, **kwargs):
        raise AssertionError("the payments were scanned")

    monkeypatch.setattr(selectors, "_payment_sums", scanned)
    monkeypatch.setattr(selectors, "_new_supporters", scanned)
    monkeypatch.setattr(selectors, "_active_counted", scanned)
    assert monthly_summary(filters=PERIOD)
    assert monthly_summary(filters=dataclasses.replace(PERIOD, campaign="spring"))


def test_the_dashboard_from_rollups_equals_the_dashboard_from_raw_rows(varied, monkeypatch):
    assert not rollups_drift()
    for filters in (
        PERIOD,
        dataclasses.replace(PERIOD, currency="EUR"),
        dataclasses.replace(PERIOD, currency="GBP"),
        dataclasses.replace(PERIOD, frequency="monthly"),
        dataclasses.replace(PERIOD, campaign="spring"),
        dataclasses.replace(PERIOD, campaign="spring", variant="control"),
        dataclasses.replace(PERIOD, payment_method="sepa_debit"),
        dataclasses.replace(PERIOD, since=dt.date(2026, 2, 14), until=dt.date(2026, 3, 31)),
        dataclasses.replace(PERIOD, since=dt.date(2026, 4, 1), until=dt.date(2026, 4, 1)),
    ):
        for by_campaign in (False, True):
            from_rollups = monthly_summary(filters=filters, by_campaign=by_campaign)
            expected = raw(filters, by_campaign=by_campaign, monkeypatch=monkeypatch)
            assert from_rollups == expected, (filters, by_campaign)
            # Whole numbers as the raw path gives them (a Decimal would not format as money).
            assert {type(v) for r in from_rollups for v in dataclasses.astuple(r)[3:]} <= {int}
    # The GBP settlement of the EUR charge: fees and net in a GBP row, gross in the EUR one.
    rows = {(r.month, r.currency): r for r in monthly_summary(filters=PERIOD)}
    feb = dt.date(2026, 2, 1)
    assert rows[(feb, "GBP")].fees == 120 and rows[(feb, "GBP")].gross == 0
    assert rows[(feb, "EUR")].gross == 500 + 2500 + 4000 + 1500 + 700 + 2400
    # Ivan, with two monthly gifts at the end of February, counts once across campaigns and
    # once in each. By the end of March Bob's 5.00 and Gina's 3.00 had ended and Hana's 4.00
    # had become 6.00; Ivan's gift that ended at 00:30 on 1 April (London) still counts.
    per_campaign = monthly_summary(filters=PERIOD, by_campaign=True)
    in_campaigns = sum(
        r.active_monthly_supporters for r in per_campaign if (r.month, r.currency) == (feb, "EUR")
    )
    assert in_campaigns == rows[(feb, "EUR")].active_monthly_supporters + 1
    mar = dt.date(2026, 3, 1)
    assert rows[(feb, "EUR")].mrr == 500 + 300 + 400 + 700 + 700 + 2400 // 12
    assert rows[(mar, "EUR")].mrr - rows[(feb, "EUR")].mrr == -500 - 300 + (600 - 400)


def test_compaction_and_rebuild_change_no_figure(varied, monkeypatch):
    before = monthly_summary(filters=PERIOD, by_campaign=True)
    appended = PaymentDayTotal.objects.count() + NewSupporterDay.objects.count()
    # Take a payment back and give it again: two more changes on the same day and attributes.
    payment = Payment.objects.filter(gross_minor=2500).get()
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.FAILED)
    Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.SUCCEEDED)
    assert PaymentDayTotal.objects.count() + NewSupporterDay.objects.count() > appended
    assert rollups_compact() > 0
    assert monthly_summary(filters=PERIOD, by_campaign=True) == before
    assert rollups_compact() == 0  # nothing left to fold
    PaymentDayTotal.objects.all().delete()
    assert rollups_drift()
    rollups_rebuild()
    assert not rollups_drift()
    assert monthly_summary(filters=PERIOD, by_campaign=True) == before


def test_another_time_zone_reads_the_raw_rows_until_rebuilt(varied, settings, monkeypatch):
    settings.PUBLISHER_TIME_ZONE = "America/New_York"
    assert not rollups_current()
    rollups_rebuild()
    assert rollups_current()
    assert not rollups_drift()
    assert monthly_summary(filters=PERIOD) == raw(PERIOD, monkeypatch=monkeypatch)


def test_every_kind_of_ledger_write_keeps_the_rollups_exact():
    """Each step is one kind of write the ledger sees; the rollups are compared after each."""
    spring = CampaignFactory.create(slug="spring", currency="EUR")
    supporter = SupporterFactory.create()
    contribution = ContributionFactory.create(
        supporter=supporter, frequency="monthly", amount_minor=800, campaign=spring
    )

    def step(what):
        assert not rollups_drift(), what

    pending = PaymentFactory.create(
        contribution=contribution, kind=Payment.Kind.SUBSCRIPTION_FIRST, gross_minor=800
    )
    step("a pending payment inserted")
    Payment.objects.filter(pk=pending.pk).update(status=Payment.Status.SUCCEEDED, paid_at=at(1, 1))
    step("the payment succeeded, without its balance transaction yet")
    Payment.objects.filter(pk=pending.pk).update(
        fee_minor=40, net_minor=760, settlement_currency="GBP", settlement_amount_minor=700
    )
    step("its balance transaction arrived, settled in another currency")
    Contribution.objects.filter(pk=contribution.pk).update(first_paid_at=at(1, 1))
    step("the contribution's first payment recorded: a new supporter")
    earlier = ContributionFactory.create(supporter=supporter, first_paid_at=at(1, 1, 6))
    step("a second contribution of the same supporter, paid earlier that day")
    Contribution.objects.filter(pk=earlier.pk).update(first_paid_at=at(2, 1))
    step("...whose first payment turned out later: the first moves back")
    Contribution.objects.filter(pk=contribution.pk).update(variant_key="b", frequency="annual")
    step("the contribution's attributes changed")
    Campaign.objects.filter(pk=spring.pk).delete()
    step("its campaign removed (the contribution keeps no campaign)")
    renewal = payment_apply(
        contribution=contribution,
        kind=Payment.Kind.SUBSCRIPTION_RENEWAL,
        details=None,
        invoice_id="in_renewal",
        gross_minor=800,
        paid=True,
    )
    step("a renewal recorded by the ledger service")
    payment_apply(
        contribution=contribution,
        kind=Payment.Kind.SUBSCRIPTION_RENEWAL,
        details=None,
        invoice_id="in_renewal",
        paid=True,
    )
    step("the same renewal applied again (a duplicate event)")
    Payment.objects.bulk_create(
        [
            Payment(
                contribution=contribution,
                kind=Payment.Kind.SUBSCRIPTION_RENEWAL,
                status=Payment.Status.SUCCEEDED,
                gross_minor=800 + i,
                fee_minor=10,
                net_minor=790 + i,
                currency="EUR",
                settlement_currency="EUR",
                paid_at=at(3, 1 + i),
            )
            for i in range(3)
        ]
    )
    step("several payments in one statement")
    Payment.objects.filter(contribution=contribution).update(payment_method_type="sepa_debit")
    step("many payments updated in one statement")
    Payment.objects.filter(pk=renewal.pk).update(paid_at=at(4, 30, 23, 30))
    step("a payment's date moved across a month (and a day in London)")
    subscription = SubscriptionFactory.create(contribution=contribution, amount_minor=800)
    step("a subscription mirrored")
    other = SubscriptionFactory.create(
        contribution=ContributionFactory.create(
            supporter=supporter, frequency="monthly", first_paid_at=at(1, 20)
        ),
        amount_minor=300,
    )
    step("a second subscription of the same supporter")
    past = SubscriptionPastAmount.objects.create(
        subscription=subscription, amount_minor=500, valid_from=None, valid_until=at(2, 15)
    )
    Subscription.objects.filter(pk=subscription.pk).update(amount_minor=900)
    step("its amount raised (the amount it replaced kept)")
    SubscriptionPastAmount.objects.filter(pk=past.pk).update(valid_until=at(3, 15))
    step("the replaced amount's end corrected")
    Contribution.objects.filter(pk=contribution.pk).update(first_paid_at=at(1, 10))
    step("the subscription's first payment found earlier")
    Subscription.objects.filter(pk=other.pk).update(
        status=Subscription.Status.CANCELED, canceled_at=at(3, 1), ended_at=at(3, 1)
    )
    step("a subscription cancelled")
    Subscription.objects.filter(pk=subscription.pk).update(canceled_at=at(4, 1))
    step("a cancellation scheduled (still active)")
    autumn = CampaignFactory.create(slug="autumn", currency="EUR")
    Contribution.objects.filter(pk=other.contribution_id).update(campaign=autumn)
    step("a subscriber's contribution moved to a campaign")
    SubscriptionPastAmount.objects.filter(pk=past.pk).delete()
    step("a replaced amount removed")
    Subscription.objects.filter(pk__in=[subscription.pk, other.pk]).delete()
    step("subscriptions removed")
    Payment.objects.filter(pk=renewal.pk).delete()
    step("a payment deleted")
    Payment.objects.filter(contribution=contribution).delete()
    Contribution.objects.filter(supporter=supporter).delete()
    step("a supporter's contributions deleted")
    rollups_compact()
    assert not PaymentDayTotal.objects.exists()
    assert not NewSupporterDay.objects.exists()
    assert not RecurringDay.objects.exists()
    assert not SupporterRecurring.objects.exists()


def test_the_rebuild_command_checks_and_recounts(varied, capsys):
    call_command("rollups_rebuild", "--check")
    assert "equal the ledger" in capsys.readouterr().out
    NewSupporterDay.objects.all().delete()
    with pytest.raises(CommandError, match="differ from the ledger"):
        call_command("rollups_rebuild", "--check")
    call_command("rollups_rebuild")
    call_command("rollups_rebuild", "--check")


def test_the_periodic_task_compacts(varied):
    payment = Payment.objects.filter(gross_minor=2500).get()
    Payment.objects.filter(pk=payment.pk).update(fee_minor=90)
    assert rollups_compact_task() > 0
    assert not rollups_drift()


@pytest.mark.django_db(transaction=True)
def test_two_first_payments_of_one_supporter_at_once_count_one_new_supporter():
    """Two contributions of one supporter paid in two transactions at the same moment (two
    tabs, two webhook threads): one new supporter, whichever commits first."""
    supporter = SupporterFactory.create()
    first, second = (ContributionFactory.create(supporter=supporter) for _ in range(2))
    updated = threading.Event()
    errors: list[BaseException] = []

    def pay(contribution, paid_at, *, hold: bool) -> None:
        try:
            with transaction.atomic():
                Contribution.objects.filter(pk=contribution.pk).update(first_paid_at=paid_at)
                if hold:
                    updated.set()
                    time.sleep(0.5)  # the other one writes meanwhile, then waits for this one
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    later = threading.Thread(target=pay, args=(first, at(1, 2)), kwargs={"hold": True})
    later.start()
    assert updated.wait(10)
    pay(second, at(1, 1), hold=False)
    later.join(20)
    assert not errors
    assert not rollups_drift()
    assert NewSupporterDay.objects.aggregate(n=Sum("supporters"))["n"] == 1
