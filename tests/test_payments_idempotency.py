"""Idempotency keys are unique per installation and row: two installations sharing one Stripe
test account (their row ids overlap) never send the same key for different rows."""

import uuid

import pytest
from django.contrib.auth.models import User

from payments.models import Contribution, Installation
from payments.services import checkout_session_open, payment_refund, subscription_cancel
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import (  # noqa: F401 - fixtures
    campaign_fixture,
    contribution_make,
    fake_stripe_fixture,
    intent_add,
    mirrored_subscription,
    subscription_add,
)
from payments.tests.stripe_fakes import stripe_object
from tests.test_payments_webhooks import deliver, event, session_completed

pytestmark = pytest.mark.django_db

FORM = {"frequency": "one_off", "amount": "10", "email": "reader@example.org", "website": ""}


def keys_sent(fake_stripe):
    writes = [r for r in fake_stripe.requests if r["method"] in ("post", "delete")]
    return [r["headers"].get("Idempotency-Key") for r in writes]


def checkout_key(contribution, fake_stripe):
    fake_stripe.created["/v1/checkout/sessions"] = stripe_object(
        "checkout.session", id="cs_test_" + uuid.uuid4().hex, url=None, client_secret="s"
    )
    checkout_session_open(
        contribution=contribution, ui_mode="embedded_page", base_url="https://x.example"
    )
    return fake_stripe.requests[-1]["headers"]["Idempotency-Key"]


def test_two_installations_send_different_keys_for_the_same_row_id(campaign, fake_stripe):
    contribution = contribution_make(campaign)
    here = checkout_key(contribution, fake_stripe)
    assert (
        here == f"{Installation.objects.get().key.hex}-contribution-{contribution.pk}-embedded_page"
    )
    assert checkout_key(contribution, fake_stripe) == here  # the same request again: same key

    # Another installation (its own database) on the same Stripe account, whose row of the same
    # id is another reader's contribution.
    Installation.objects.update(key=uuid.uuid4())
    elsewhere = checkout_key(contribution, fake_stripe)

    assert elsewhere != here


def test_refund_and_cancel_keys_carry_the_installation(client, campaign, fake_stripe):
    installation = Installation.objects.get().key.hex
    contribution = contribution_make(campaign)
    intent_add(fake_stripe, intent_id="pi_paid", amount=1000)
    deliver(
        client,
        event("checkout.session.completed", session_completed(contribution, intent_id="pi_paid")),
    )
    fake_stripe.created["/v1/refunds"] = stripe_object("refund", amount=1000, currency="eur")
    payment = contribution.payments.get()
    staff = User.objects.create_user("finance-person")
    payment_refund(payment=payment, amount_minor=None, reason="duplicate", staff_user_id=staff.pk)

    monthly = contribution_make(campaign, frequency="monthly", email="m@example.org")
    subscription_add(fake_stripe, monthly, sub_id="sub_keys")
    subscription_cancel(subscription=mirrored_subscription(monthly, "sub_keys"), reason="")

    keys = keys_sent(fake_stripe)
    assert len(keys) == 2
    assert all(key.startswith(installation + "-") for key in keys), keys


# --- On the Stripe emulator, which answers a repeated key with the first request's object ------


def test_emulator_another_installation_gets_its_own_session_for_the_same_row_id(emulated):
    contribution = emulated.start()
    here = contribution.stripe_checkout_session_id
    Contribution.objects.filter(pk=contribution.pk).update(stripe_checkout_session_id=None)
    # Another installation on the same Stripe account, whose contribution has the same id.
    Installation.objects.update(key=uuid.uuid4())

    checkout_session_open(
        contribution=contribution, ui_mode="embedded_page", base_url="https://x.example"
    )

    contribution.refresh_from_db()
    assert contribution.stripe_checkout_session_id != here
    assert len(emulated.emulator.find("checkout.session")) == 2
