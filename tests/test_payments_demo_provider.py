"""The demo provider is the Stripe emulator behind the real StripeGateway: production's code
path, Stripe's shapes and event sequences, and records that can be erased by e-mail address."""

from __future__ import annotations

import pytest

from payments.demo_provider.gateway import DemoGateway
from payments.demo_provider.store import demo_emulator, demo_personal_data_erase
from payments.gateway import gateway_get
from payments.models import Contribution, DemoObject
from payments.stripe_gateway import StripeGateway
from payments.tests.fixtures import (  # noqa: F401 - fixtures
    campaign_fixture,
    demo_give,
    events_apply,
)
from stripe_emulator.objects import public
from stripe_emulator.shape import check_event, check_object

pytestmark = pytest.mark.django_db


def test_the_demo_gateway_is_the_stripe_gateway():
    gateway = gateway_get()
    assert isinstance(gateway, DemoGateway)
    assert isinstance(gateway, StripeGateway)
    assert gateway.name == "demo"


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
