"""Duplicate deliveries at the same moment, against PostgreSQL's real row locks and constraints."""

import threading
from collections.abc import Callable

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from payments import receipts
from payments.models import Payment, ReceiptSend, WebhookEvent
from payments.tests.fixtures import (  # noqa: F401 - fixtures
    contribution_make,
    fake_stripe_fixture,
    intent_add,
)
from payments.tests.stripe_fakes import event, post_event, stripe_object
from payments.webhooks import webhook_event_process

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def at_once(work: Callable[[int], object], count: int = THREADS) -> list[object]:
    """Run `work(i)` in `count` threads released together; return results (or exceptions)."""
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as error:  # reported by the test
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def live_campaign(transactional_db):
    from campaigns.models import Campaign
    from payments.tests.fixtures import AMOUNTS

    return Campaign.objects.create(
        name="Appeal", slug="appeal", status="live", currency="EUR", amounts=AMOUNTS
    )


def completed(contribution, intent_id, event_type="checkout.session.completed"):
    session = stripe_object(
        "checkout.session",
        mode="payment",
        payment_status="paid",
        status="complete",
        payment_intent=intent_id,
        client_reference_id=str(contribution.pk),
        metadata={"contribution_id": str(contribution.pk)},
    )
    return event(event_type, session)


def test_the_same_event_posted_and_applied_many_times_at_once_pays_and_receipts_once(
    live_campaign, fake_stripe
):
    contribution = contribution_make(live_campaign)
    intent_add(fake_stripe, intent_id="pi_race")
    data = completed(contribution, "pi_race")

    responses = at_once(lambda i: post_event(Client(), data).status_code)
    assert responses == [200] * THREADS
    stored = WebhookEvent.objects.get()

    statuses = at_once(lambda i: webhook_event_process(event_pk=stored.pk))
    assert statuses == ["processed"] * THREADS

    payment = Payment.objects.get()
    sent = at_once(lambda i: receipts.receipt_send(payment_pk=payment.pk))
    assert sorted(sent, key=str) == [False] * (THREADS - 1) + [True]
    assert ReceiptSend.objects.filter(payment=payment, kind="receipt").count() == 1
    assert len(mail.outbox) == 1
    stored.refresh_from_db()
    assert stored.attempts == 1


def test_different_events_about_one_payment_at_once_record_it_once(live_campaign, fake_stripe):
    contribution = contribution_make(live_campaign)
    intent_add(fake_stripe, intent_id="pi_twins")
    events = [
        completed(contribution, "pi_twins"),
        completed(contribution, "pi_twins", "checkout.session.async_payment_succeeded"),
    ] * (THREADS // 2)
    # Each posted once (distinct ids), then all applied at the same moment.
    for data in events:
        assert post_event(Client(), data).status_code == 200
    pks = list(WebhookEvent.objects.order_by("pk").values_list("pk", flat=True))

    statuses = at_once(lambda i: webhook_event_process(event_pk=pks[i]), count=len(pks))

    assert statuses == ["processed"] * len(pks)
    assert Payment.objects.count() == 1
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED
