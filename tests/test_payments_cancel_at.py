"""A scheduled cancellation (`cancel_at`, as the Billing Portal's "cancel at period end" sets
it) shows as one: the gift is still active until then, ends on that date, and nothing more is
billed; finance counts it active until it ends, not from the day it was asked for."""

import pytest
from django.utils import timezone

from finance.filters import ReportFilters
from finance.selectors import monthly_summary
from payments.models import Subscription
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from staff.roles import SUPPORT
from staff.tests.helpers import staff_member
from stripe_emulator.api import api_call
from tests.test_payments_account import signed_in

pytestmark = pytest.mark.django_db


def test_a_cancellation_at_period_end_shows_when_the_gift_ends(emulated):
    contribution = emulated.give(frequency="monthly", amount="500")
    subscription = Subscription.objects.get(contribution=contribution)
    mark = emulated.emulator.events_mark()
    # What the Billing Portal does when the reader cancels there.
    stripe_sub = api_call(
        emulated.emulator,
        "POST",
        f"/v1/subscriptions/{subscription.stripe_subscription_id}",
        {"cancel_at_period_end": "true"},
    )
    emulated.deliver(emulated.emulator.events(since=mark))

    subscription.refresh_from_db()
    contribution.refresh_from_db()
    assert subscription.status == "active" and contribution.status == "active"
    assert subscription.cancel_at is not None
    assert int(subscription.cancel_at.timestamp()) == stripe_sub["cancel_at"]
    assert subscription.ends_at == subscription.cancel_at

    page = signed_in(emulated.client, contribution.supporter).get("/support/account/")
    html = page.content.decode()
    ends = f"Ends on {timezone.localtime(subscription.cancel_at):%-d %B %Y}"
    assert ends in html
    assert "next payment around" not in html

    emulated.client.force_login(staff_member(SUPPORT))
    admin = emulated.client.get(f"/admin/payments/contribution/{contribution.pk}/change/")
    assert "Cancellation scheduled for" in admin.content.decode()

    today = timezone.localdate()
    (row,) = monthly_summary(filters=ReportFilters(since=today, until=today))
    assert row.active_monthly_supporters == 1  # still giving this month
    assert row.churned_supporters == 0
