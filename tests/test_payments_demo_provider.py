"""The demo provider is the Stripe emulator behind the real StripeGateway: production's code
path, Stripe's shapes and event sequences, and records that can be erased by e-mail address."""

from __future__ import annotations

import time

import pytest

from payments.demo_provider.gateway import DemoGateway
from payments.demo_provider.store import demo_emulator, demo_personal_data_erase
from payments.gateway import gateway_get
from payments.models import Contribution, DemoObject
from payments.stripe_gateway import StripeGateway
from payments.stripe_rate import stripe_seconds_spent
from payments.tests.fixtures import (  # noqa: F401 - fixtures
    campaign_fixture,
    demo_give,
    events_apply,
)
from stripe_emulator.objects import public
from stripe_emulator.scenarios import one_off_paid
from stripe_emulator.shape import check_event, check_object

pytestmark = pytest.mark.django_db


def test_the_demo_gateway_is_the_stripe_gateway():
    gateway = gateway_get()
    assert isinstance(gateway, DemoGateway)
    assert isinstance(gateway, StripeGateway)
    assert gateway.name == "demo"


def test_the_demos_stripe_calls_keep_to_no_stripe_rate_and_are_no_stripe_waits(settings):
    """The emulator answers in this process: test mode's 20 reads a second capped the demo's
    webhook worker at that, and its answers counted as waits for Stripe (events side by side)."""
    settings.STRIPE_READS_PER_SECOND = 1
    charge = one_off_paid(demo_emulator())
    gateway = gateway_get()
    spent, started = stripe_seconds_spent(), time.monotonic()

    for _ in range(5):
        gateway.payment_intent_details(payment_intent_id=charge["payment_intent"])

    assert time.monotonic() - started < 1.0  # at one read a second, five take four seconds
    assert stripe_seconds_spent() == spent


def test_a_demo_subscription_leaves_stripes_objects_and_events_in_the_pinned_shapes(
    client, campaign, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        contribution = demo_give(client, frequency="monthly", amount="500")
    events_apply()
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.ACTIVE

    rows = DemoObject.objects.exclude(object_type__startswith="emulator.")
    kinds = set(rows.values_list("object_type", flat=True))
    assert {"customer", "subscription", "invoice", "charge", "event"} <= kinds
    problems = []
    for row in rows:
        data = public(row.data)
        problems += check_event(data) if row.object_type == "event" else check_object(data)
    assert problems == []
    assert "refunds" not in DemoObject.objects.get(object_type="charge").data


def test_the_demo_records_of_one_reader_can_be_erased_by_email(
    client, campaign, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        demo_give(client, frequency="monthly", amount="500", email="ada@example.org")
        demo_give(client, frequency="one_off", amount="1000", email="bob@example.org")
    emulator = demo_emulator()
    ada = emulator.find("customer", email="ada@example.org")[0]
    bob = emulator.find("customer", email="bob@example.org")[0]

    erased = demo_personal_data_erase(email="ADA@example.org")

    assert erased > 10
    left = [row.data for row in DemoObject.objects.all()]
    text = repr(left)
    assert "ada@example.org" not in text
    assert ada["id"] not in text  # nothing tied to her customer either
    assert "bob@example.org" in text and bob["id"] in text
    assert demo_personal_data_erase(email="ada@example.org") == 0
    assert demo_personal_data_erase(email="  ") == 0
