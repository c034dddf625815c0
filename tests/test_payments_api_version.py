"""Intake holds events of another API version: stored once, never applied on their own, logged
as errors, left alone by the sweep and by `replay_webhooks --failed`, applied only when a person
replays one by its id."""

import logging

import pytest
from django.core.management import call_command

from payments.models import WebhookEvent
from payments.stripe_gateway import API_VERSION
from payments.tasks import webhook_events_sweep
from payments.tests.fixtures import (  # noqa: F401 - fixtures
    campaign_fixture,
    contribution_make,
    fake_stripe_fixture,
    intent_add,
)
from payments.tests.stripe_fakes import event, post_event, stripe_object
from payments.webhooks import webhook_events_due

pytestmark = pytest.mark.django_db


def completed(contribution, intent_id):
    return stripe_object(
        "checkout.session",
        mode="payment",
        payment_status="paid",
        status="complete",
        payment_intent=intent_id,
        client_reference_id=str(contribution.pk),
        metadata={"contribution_id": str(contribution.pk)},
        currency="eur",
    )


def test_an_event_of_another_api_version_is_held_not_applied(
    client, campaign, fake_stripe, settings, caplog, django_capture_on_commit_callbacks
):
    settings.PAYMENTS_WEBHOOK_SWEEP_AFTER_SECONDS = 0
    contribution = contribution_make(campaign)
    intent_add(fake_stripe, intent_id="pi_old_shape")
    old = event(
        "checkout.session.completed",
        completed(contribution, "pi_old_shape"),
        api_version="2024-06-20",
    )

    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks() as wakes:
        response = post_event(client, old)
        again = post_event(client, old)
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


def test_an_event_of_the_pinned_version_is_applied_as_before(client, campaign, fake_stripe):
    contribution = contribution_make(campaign)
    intent_add(fake_stripe, intent_id="pi_pinned")
    post_event(client, event("checkout.session.completed", completed(contribution, "pi_pinned")))
    stored = WebhookEvent.objects.get()
    assert (stored.status, stored.api_version) == (WebhookEvent.Status.RECEIVED, API_VERSION)
