"""Adaptive Pricing is our choice, not the Dashboard's: Checkout is told explicitly (off unless
PAYMENTS_ADAPTIVE_PRICING), and a payment charged in another currency than the contribution's is
recorded as Stripe has it and flagged for staff."""

import pytest

from payments.models import ContributionFlag, Payment
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import (  # noqa: F401 - fixtures
    campaign_fixture,
    contribution_make,
    fake_stripe_fixture,
    intent_add,
)
from payments.tests.stripe_fakes import event, stripe_object
from staff.roles import FINANCE
from staff.tests.helpers import staff_member
from tests.test_payments_webhooks import deliver, session_completed

pytestmark = pytest.mark.django_db

FORM = {
    "frequency": "one_off",
    "amount": "1000",
    "custom_amount": "",
    "email": "reader@example.org",
}


def session_params(client, fake_stripe):
    fake_stripe.created["/v1/checkout/sessions"] = stripe_object(
        "checkout.session", client_secret="s", url=None
    )
    client.post("/support/keep-local-news-open/", FORM)
    return next(r for r in fake_stripe.requests if r["path"] == "/v1/checkout/sessions")["params"]


def test_checkout_turns_adaptive_pricing_off_unless_the_setting_says_on(
    client, campaign, fake_stripe, settings
):
    assert session_params(client, fake_stripe)["adaptive_pricing[enabled]"] == "false"


def test_the_setting_turns_adaptive_pricing_on(client, campaign, fake_stripe, settings):
    settings.PAYMENTS_ADAPTIVE_PRICING = True

    assert session_params(client, fake_stripe)["adaptive_pricing[enabled]"] == "true"


def pay(client, contribution, fake_stripe, **intent_fields):
    intent = intent_add(fake_stripe, intent_id="pi_paid", amount=1000)
    intent.update(intent_fields)
    completed = session_completed(contribution, intent_id="pi_paid")
    deliver(client, event("checkout.session.completed", completed))
    return Payment.objects.get()


def test_a_payment_presented_in_another_currency_is_recorded_and_flagged(
    client, campaign, fake_stripe
):
    contribution = contribution_make(campaign)
    payment = pay(
        client,
        contribution,
        fake_stripe,
        presentment_details={"presentment_amount": 862, "presentment_currency": "gbp"},
    )

    assert (payment.status, payment.gross_minor, payment.currency) == ("succeeded", 1000, "EUR")
    flag = ContributionFlag.objects.get()
    assert (flag.contribution, flag.kind) == (contribution, "other_currency")
    assert "GBP" in flag.detail

    client.force_login(staff_member(FINANCE))
    listing = client.get("/admin/payments/contribution/?flagged=open").content.decode()
    assert "Paid in another currency than the one asked" in listing
    page = client.get(f"/admin/payments/contribution/{contribution.pk}/change/").content.decode()
    assert "needs staff action" in page.lower() and "GBP" in page


def test_a_payment_charged_in_another_currency_keeps_it(client, campaign, fake_stripe):
    contribution = contribution_make(campaign)
    payment = pay(client, contribution, fake_stripe, currency="usd", amount=1100)

    assert (payment.gross_minor, payment.currency) == (1100, "USD")
    assert ContributionFlag.objects.get().kind == "other_currency"


def test_a_payment_in_the_contributions_currency_raises_no_flag(client, campaign, fake_stripe):
    pay(client, contribution_make(campaign), fake_stripe, presentment_details=None)

    assert not ContributionFlag.objects.exists()


def test_finance_marks_a_flag_resolved(client, campaign, fake_stripe):
    contribution = contribution_make(campaign)
    pay(client, contribution, fake_stripe, currency="usd")
    client.force_login(staff_member(FINANCE))
    flag = ContributionFlag.objects.get()

    client.post(
        "/admin/payments/contributionflag/",
        {"action": "resolve", "_selected_action": [flag.pk]},
    )

    flag.refresh_from_db()
    assert flag.resolved_at is not None
    listing = client.get("/admin/payments/contribution/?flagged=open").content.decode()
    assert f"/admin/payments/contribution/{contribution.pk}/change/" not in listing


# --- On the Stripe emulator ---------------------------------------------------------------------


@pytest.mark.parametrize("enabled", [False, True])
def test_emulator_session_has_adaptive_pricing_as_the_setting_says(emulated, settings, enabled):
    settings.PAYMENTS_ADAPTIVE_PRICING = enabled
    contribution = emulated.start()

    session = emulated.emulator.get(contribution.stripe_checkout_session_id)

    assert session["adaptive_pricing"] == {"enabled": enabled}
