"""Adaptive Pricing is our choice, not the Dashboard's: Checkout is told explicitly (off unless
PAYMENTS_ADAPTIVE_PRICING), and a payment charged in another currency than the contribution's is
recorded as Stripe has it and flagged for staff. Played by the Stripe emulator."""

import pytest

from payments.models import ContributionFlag, Payment
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture, contribution_make  # noqa: F401 - fixtures
from staff.roles import FINANCE
from staff.tests.helpers import staff_member
from stripe_emulator.flows import cards, checkout

pytestmark = pytest.mark.django_db


def session_params(emulated):
    """The form parameters the service sent to open the reader's Checkout Session."""
    emulated.start(email="reader@example.org")
    [sent] = [r for r in emulated.http.requests if r["path"] == "/v1/checkout/sessions"]
    return sent["params"]


def test_checkout_turns_adaptive_pricing_off_unless_the_setting_says_on(emulated):
    assert session_params(emulated)["adaptive_pricing[enabled]"] == "false"


def test_the_setting_turns_adaptive_pricing_on(emulated, settings):
    settings.PAYMENTS_ADAPTIVE_PRICING = True

    assert session_params(emulated)["adaptive_pricing[enabled]"] == "true"


def pay_from_abroad(emulated, *, local_currency):
    """A reader whose own currency is `local_currency` pays 10.00 EUR on Checkout."""
    contribution = emulated.start(email="reader@example.org")
    outcome = checkout.session_pay(
        emulated.emulator,
        session_id=str(contribution.stripe_checkout_session_id),
        number=cards.SUCCESS,
        local_currency=local_currency,
    )
    emulated.deliver(outcome.events)
    return contribution, Payment.objects.get()


def test_a_payment_presented_in_another_currency_is_recorded_and_flagged(
    client, emulated, settings
):
    settings.PAYMENTS_ADAPTIVE_PRICING = True
    contribution, payment = pay_from_abroad(emulated, local_currency="gbp")

    assert (payment.status, payment.gross_minor, payment.currency) == ("succeeded", 1000, "EUR")
    flag = ContributionFlag.objects.get()
    assert (flag.contribution, flag.kind) == (contribution, "other_currency")
    assert "GBP" in flag.detail

    client.force_login(staff_member(FINANCE))
    listing = client.get("/admin/payments/contribution/?flagged=open").content.decode()
    assert "Paid in another currency than the one asked" in listing
    page = client.get(f"/admin/payments/contribution/{contribution.pk}/change/").content.decode()
    assert "needs staff action" in page.lower() and "GBP" in page


def charged_in_dollars(emulated, campaign):
    """A EUR contribution whose Checkout Session charged 11.00 USD (opened elsewhere)."""
    contribution = contribution_make(campaign)
    emulated.deliver(emulated.checkout_paid(contribution, amount=1100, currency="usd").events)
    return contribution, Payment.objects.get()


def test_a_payment_charged_in_another_currency_keeps_it(emulated, campaign):
    _, payment = charged_in_dollars(emulated, campaign)

    assert (payment.gross_minor, payment.currency) == (1100, "USD")
    assert ContributionFlag.objects.get().kind == "other_currency"


def test_a_payment_in_the_contributions_currency_raises_no_flag(emulated, settings):
    settings.PAYMENTS_ADAPTIVE_PRICING = True
    pay_from_abroad(emulated, local_currency="eur")  # a reader at home: nothing converted

    assert not ContributionFlag.objects.exists()


def test_finance_marks_a_flag_resolved(client, emulated, campaign):
    contribution, _ = charged_in_dollars(emulated, campaign)
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


@pytest.mark.parametrize("enabled", [False, True])
def test_emulator_session_has_adaptive_pricing_as_the_setting_says(emulated, settings, enabled):
    settings.PAYMENTS_ADAPTIVE_PRICING = enabled
    contribution = emulated.start()

    session = emulated.emulator.get(contribution.stripe_checkout_session_id)

    assert session["adaptive_pricing"] == {"enabled": enabled}
