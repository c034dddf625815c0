"""One Stripe customer per supporter (made before the first checkout, so two checkouts at once
cannot make two) and the Portal on the customer Stripe bills; one Stripe Product per campaign
and frequency, reused by every checkout."""

import pytest

from payments.models import Supporter
from payments.services import billing_portal_url
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from stripe_emulator.api import api_call
from stripe_emulator.flows import checkout

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def portal_configured(emulated):
    """The account's Billing Portal is set up (as `manage.py stripe_setup` does)."""
    api_call(
        emulated.emulator,
        "POST",
        "/v1/billing_portal/configurations",
        {"features": {"payment_method_update": {"enabled": True}}},
    )


def session_of(emulated, contribution):
    contribution.refresh_from_db()
    return emulated.emulator.get(contribution.stripe_checkout_session_id)


def test_two_checkouts_at_once_make_one_customer_and_the_portal_opens_on_it(emulated):
    # The reader opens a monthly and a one-off checkout before paying either.
    monthly = emulated.start(frequency="monthly", amount="500")
    one_off = emulated.start(frequency="one_off", amount="1000")
    emulated.pay(monthly, order="shuffled", seed=5)
    emulated.pay(one_off, order="reversed")

    customers = emulated.emulator.find("customer", email="ada@example.org")
    assert len(customers) == 1
    supporter = Supporter.objects.get()
    assert supporter.stripe_customer_id == customers[0]["id"]
    assert session_of(emulated, monthly)["customer"] == customers[0]["id"]
    assert session_of(emulated, one_off)["customer"] == customers[0]["id"]

    billing_portal_url(supporter=supporter, return_url="https://x.example/account")
    portal = emulated.http.requests[-1]
    assert portal["path"] == "/v1/billing_portal/sessions"
    assert customers[0]["id"] in str(portal)


def test_the_portal_opens_on_the_customer_stripe_bills(emulated):
    """A supporter from before (two customers): the Portal follows the running subscription."""
    contribution = emulated.give(frequency="monthly", amount="500")
    billed = contribution.subscription.stripe_customer_id
    assert billed
    Supporter.objects.update(stripe_customer_id="cus_older_one_off_customer")

    billing_portal_url(supporter=Supporter.objects.get(), return_url="https://x.example/account")

    assert billed in str(emulated.http.requests[-1])


def test_checkouts_of_one_campaign_and_frequency_reuse_one_product(emulated):
    firsts = [
        emulated.start(frequency="monthly", amount="500", email=f"r{i}@example.org")
        for i in range(2)
    ]
    one_off = emulated.start(frequency="one_off", amount="1000", email="r3@example.org")
    for contribution in (*firsts, one_off):
        outcome = checkout.session_pay(
            emulated.emulator,
            session_id=session_of(emulated, contribution)["id"],
            number="4242424242424242",
        )
        assert outcome.paid

    products = emulated.emulator.find("product")
    assert len(products) == 2  # monthly and one-off, whatever the number of checkouts
    monthly_prices = {
        emulated.emulator.get(s["subscription"])["items"]["data"][0]["price"]["product"]
        for s in (session_of(emulated, c) for c in firsts)
    }
    assert len(monthly_prices) == 1
    assert sorted(p["metadata"]["frequency"] for p in products) == ["monthly", "one_off"]
