"""The conversions campaigns read: per campaign, variant, UTC day and currency."""

from datetime import UTC, date, datetime

import pytest

from campaigns.models import Campaign
from payments.models import Payment
from payments.selectors import CampaignConversions, campaign_conversions
from payments.tests.fixtures import AMOUNTS, campaign_fixture, contribution_make  # noqa: F401

pytestmark = pytest.mark.django_db


def paid(contribution, *, gross, at, refunded=0, status=Payment.Status.SUCCEEDED, currency="EUR"):
    payment = Payment.objects.create(
        contribution=contribution,
        kind="one_off",
        status=status,
        gross_minor=gross,
        refunded_minor=refunded,
        currency=currency,
        paid_at=at if status == Payment.Status.SUCCEEDED else None,
    )
    if status == Payment.Status.SUCCEEDED and (
        contribution.first_paid_at is None or at < contribution.first_paid_at
    ):
        contribution.first_paid_at = at
        contribution.save(update_fields=["first_paid_at"])
    return payment


def test_conversions_and_revenue_per_variant_day_and_currency(campaign):
    day1 = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)
    day2 = datetime(2026, 11, 3, 0, 30, tzinfo=UTC)
    a = contribution_make(campaign, email="a@example.org")
    b = contribution_make(campaign, email="b@example.org")
    control = contribution_make(campaign, email="c@example.org")
    control.variant_key = "control"
    control.save()
    monthly = contribution_make(campaign, email="m@example.org", frequency="monthly")
    pending = contribution_make(campaign, email="p@example.org")
    paid(a, gross=1000, at=day1)
    paid(b, gross=2500, at=day1, refunded=500)
    paid(control, gross=500, at=day2)
    paid(monthly, gross=300, at=day1)
    paid(monthly, gross=300, at=day2)  # a renewal: revenue, not a new conversion
    paid(pending, gross=700, at=day1, status=Payment.Status.PENDING)
    other = Campaign.objects.create(name="Other", slug="other", amounts=AMOUNTS)
    paid(contribution_make(other, email="o@example.org"), gross=999, at=day1)

    rows = campaign_conversions(campaign_ids=[campaign.pk])

    assert rows == [
        CampaignConversions(campaign.pk, "b", date(2026, 11, 2), 3, 1000 + 2000 + 300, "EUR"),
        CampaignConversions(campaign.pk, "b", date(2026, 11, 3), 0, 300, "EUR"),
        CampaignConversions(campaign.pk, "control", date(2026, 11, 3), 1, 500, "EUR"),
    ]


def test_the_window_limits_payments_and_conversions(campaign, django_assert_max_num_queries):
    early = datetime(2026, 10, 1, 12, tzinfo=UTC)
    late = datetime(2026, 11, 5, 12, tzinfo=UTC)
    paid(contribution_make(campaign, email="x@example.org"), gross=1000, at=early)
    paid(contribution_make(campaign, email="y@example.org"), gross=2000, at=late)

    with django_assert_max_num_queries(2):
        rows = campaign_conversions(
            campaign_ids=[campaign.pk],
            since=datetime(2026, 11, 1, tzinfo=UTC),
            until=datetime(2026, 12, 1, tzinfo=UTC),
        )

    assert [(r.day, r.conversions, r.revenue_minor) for r in rows] == [(date(2026, 11, 5), 1, 2000)]


def test_no_campaigns_means_no_rows_and_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert campaign_conversions(campaign_ids=[]) == []
