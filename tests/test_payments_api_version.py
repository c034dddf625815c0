"""Intake holds events of another API version: stored once, never applied on their own, logged
as errors, left alone by the sweep and by `replay_webhooks --failed`, applied only when a person
replays one by its id."""

import logging

import pytest
from django.core.management import call_command

from payments.models import WebhookEvent
from payments.stripe_gateway import API_VERSION
from payments.tasks import webhook_events_sweep
from payments.tests.emulated import emulated_fixture, signed_post  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from payments.webhooks import webhook_events_due
from stripe_emulator.flows import cards, checkout

pytestmark = pytest.mark.django_db


def completed(emulated):
    """A reader's paid checkout: its contribution and checkout.session.completed (not sent)."""
    contribution = emulated.start()
    paid = checkout.session_pay(
        emulated.emulator,
        session_id=str(contribution.stripe_checkout_session_id),
        number=cards.SUCCESS,
    ).events
    return contribution, emulated.event(paid, "checkout.session.completed")


def test_an_event_of_another_api_version_is_held_not_applied(
    client, emulated, settings, caplog, django_capture_on_commit_callbacks
):
    settings.PAYMENTS_WEBHOOK_SWEEP_AFTER_SECONDS = 0
    contribution, pinned = completed(emulated)
    # An endpoint still on an older version gets the same event in that version's shape.
    old = {**pinned, "api_version": "2024-06-20"}

    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks() as wakes:
        response = signed_post(client, old)
        again = signed_post(client, old)
    assert (response.status_code, again.status_code) == (200, 200)
    assert wakes == []  # no worker is woken for it

    stored = WebhookEvent.objects.get()
    assert stored.api_version == "2024-06-20"
    assert stored.status == WebhookEvent.Status.FAILED
    assert stored.last_error.startswith("held: API version 2024-06-20")
    assert API_VERSION in stored.last_error
    assert "another API version held" in caplog.text
    assert webhook_events_due() == []
    webhook_events_sweep()
    call_command("replay_webhooks", "--failed")
    contribution.refresh_from_db()
    assert not contribution.payments.exists()  # the ledger never saw a shape it does not know

    # A person checked it: replayed by its id, it is applied.
    call_command("replay_webhooks", old["id"])
    stored.refresh_from_db()
    assert stored.status == WebhookEvent.Status.PROCESSED
    assert contribution.payments.count() == 1


def test_an_event_of_the_pinned_version_is_applied_as_before(client, emulated):
    _, pinned = completed(emulated)
    signed_post(client, pinned)
    stored = WebhookEvent.objects.get()
    assert (stored.status, stored.api_version) == (WebhookEvent.Status.RECEIVED, API_VERSION)
