"""What readers and staff see of points Stripe reports that need care, in headless Chromium:
a scheduled cancellation on the supporter's page, and the contributions that need staff action
in the admin. Screenshots (desktop and 390x844) land in var/screenshots/."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from campaigns.models import Campaign
from payments.models import Contribution, ContributionFlag, Subscription, Supporter
from payments.services import sign_in_link_create
from payments.tests.fixtures import AMOUNTS
from staff.roles import FINANCE
from staff.tests.helpers import staff_member
from tests.axe import DESKTOP, PHONE, check_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def monthly(transactional_db):
    campaign = Campaign.objects.create(
        name="Keep local news open",
        slug="keep-local-news-open",
        status="live",
        currency="EUR",
        amounts=AMOUNTS,
    )
    supporter = Supporter.objects.create(email="ada@example.org", name="Ada Reader")
    contribution = Contribution.objects.create(
        supporter=supporter,
        frequency="monthly",
        amount_minor=500,
        currency="EUR",
        campaign=campaign,
        status=Contribution.Status.ACTIVE,
        first_paid_at=timezone.now(),
    )
    now = timezone.now()
    Subscription.objects.create(
        contribution=contribution,
        stripe_subscription_id="sub_scheduled",
        status="active",
        amount_minor=500,
        currency="EUR",
        current_period_end=now + dt.timedelta(days=20),
        cancel_at_period_end=True,
        cancel_at=now + dt.timedelta(days=20),
        canceled_at=now,
    )
    return contribution


def test_a_scheduled_cancellation_on_the_supporters_page(page, live_server, monthly):
    made = sign_in_link_create(email="ada@example.org")
    assert made is not None
    _, token = made
    page.goto(f"{live_server.url}/support/account/sign-in/{token}/")
    page.get_by_role("button").first.click()
    page.wait_for_url("**/support/account/")

    ends = timezone.localtime(monthly.subscription.cancel_at)
    heading = page.get_by_role("heading", name=f"Ends on {ends:%-d %B %Y}")
    assert heading.is_visible()
    assert page.get_by_text("cancelled, no further payments").is_visible()
    assert page.get_by_role("link", name="Change amount").count() == 0  # nothing more to charge
    check_page(page, "account-scheduled-cancellation")


def test_contributions_that_need_staff_action_in_the_admin(page, live_server, monthly):
    ContributionFlag.objects.create(
        contribution=monthly,
        kind=ContributionFlag.Kind.SECOND_CHECKOUT,
        detail="Contribution 1 was paid by another checkout already; refund this one.",
    )
    call_command("roles_sync")  # a transactional test starts with the groups flushed
    staff_member(FINANCE, username="finance")
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("finance")
    page.get_by_label("Password").fill("x")
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/admin/payments/contribution/?flagged=open")
    cell = page.get_by_text("Paid twice: refund this second checkout").first
    assert cell.is_visible()
    for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        screenshot(page, f"admin-contributions-needing-action-{label}")

    page.goto(f"{live_server.url}/admin/payments/contribution/{monthly.pk}/change/")
    assert page.get_by_text("refund this one").is_visible()
    assert page.get_by_text("Cancellation scheduled for").is_visible()
    page.set_viewport_size(DESKTOP)
    screenshot(page, "admin-contribution-flag-and-scheduled-cancellation")
