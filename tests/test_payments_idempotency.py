"""Idempotency keys are unique per installation and row: two installations sharing one Stripe
test account (their row ids overlap) never send the same key for different rows."""

import uuid

import pytest
from django.contrib.auth.models import User

from payments.models import Contribution, Installation, Subscription
from payments.services import checkout_session_open, payment_refund, subscription_cancel
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture, contribution_make  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


def keys_sent(emulated):
    writes = [r for r in emulated.http.requests if r["method"] in ("POST", "DELETE")]
    return [r["headers"].get("Idempotency-Key") for r in writes]


def checkout_key(contribution, emulated):
    Contribution.objects.filter(pk=contribution.pk).update(stripe_checkout_session_id=None)
    contribution.refresh_from_db()
    checkout_session_open(
        contribution=contribution, ui_mode="embedded_page", base_url="https://x.example"
    )
    [sent] = [r for r in emulated.http.requests if r["path"] == "/v1/checkout/sessions"][-1:]
    return sent["headers"]["Idempotency-Key"]


def test_two_installations_send_different_keys_for_the_same_row_id(campaign, emulated):
    contribution = contribution_make(campaign)
    here = checkout_key(contribution, emulated)
    assert (
        here == f"{Installation.objects.get().key.hex}-contribution-{contribution.pk}-embedded_page"
    )
    assert checkout_key(contribution, emulated) == here  # the same request again: same key

    # Another installation (its own database) on the same Stripe account, whose row of the same
    # id is another reader's contribution.
    Installation.objects.update(key=uuid.uuid4())
    elsewhere = checkout_key(contribution, emulated)

    assert elsewhere != here


def test_refund_and_cancel_keys_carry_the_installation(emulated):
    installation = Installation.objects.get().key.hex
    payment = emulated.give().payments.get()
    emulated.give(frequency="monthly", amount="500", email="m@example.org")
    emulated.http.requests.clear()

    staff = User.objects.create_user("finance-person")
    payment_refund(payment=payment, amount_minor=None, reason="duplicate", staff_user_id=staff.pk)
    subscription_cancel(subscription=Subscription.objects.get(), reason="")

    keys = keys_sent(emulated)
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
