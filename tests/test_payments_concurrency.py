"""Duplicate deliveries at the same moment, against PostgreSQL's real row locks and constraints."""

import threading
from collections.abc import Callable

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import Client

from payments import receipts
from payments.models import Payment, ReceiptSend, WebhookEvent
from payments.tests.fixtures import (  # noqa: F401 - fixtures
    contribution_make,
    fake_stripe_fixture,
    intent_add,
)
from payments.tests.stripe_fakes import event, post_event, stripe_object
from payments.webhooks import webhook_event_process, webhook_events_apply_pending

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


def completed_for(contribution, n):
    """A distinct checkout session per contribution (session ids are unique in the ledger)."""
    data = completed(contribution, f"pi_batch_{n}")
    data["data"]["object"]["id"] = f"cs_batch_{n}"
    return data


def post_paid_events(live_campaign, fake_stripe, count):
    for n in range(count):
        contribution = contribution_make(live_campaign, email=f"reader{n}@example.org")
        intent_add(fake_stripe, intent_id=f"pi_batch_{n}")
        assert post_event(Client(), completed_for(contribution, n)).status_code == 200


def test_two_batch_workers_at_once_share_the_backlog_and_apply_each_event_once(
    live_campaign, fake_stripe
):
    post_paid_events(live_campaign, fake_stripe, 12)

    applied = at_once(lambda i: webhook_events_apply_pending(limit=100, seconds=30), count=2)

    assert sum(applied) == 12, applied  # type: ignore[arg-type]
    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {("processed", 1)}
    assert Payment.objects.count() == 12


def test_a_batch_skips_an_event_another_worker_holds_and_takes_it_later(live_campaign, fake_stripe):
    post_paid_events(live_campaign, fake_stripe, 3)
    oldest = WebhookEvent.objects.order_by("received_at").first()
    assert oldest is not None
    locked, release = threading.Event(), threading.Event()

    def hold_the_oldest() -> None:
        try:
            with transaction.atomic():
                WebhookEvent.objects.select_for_update().get(pk=oldest.pk)
                locked.set()
                release.wait(timeout=30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_oldest)
    holder.start()
    try:
        assert locked.wait(timeout=10)
        # Not waiting for the held event: the other two are applied at once.
        assert webhook_events_apply_pending(limit=100, seconds=30) == 2
        oldest.refresh_from_db()
        assert oldest.status == "received"
    finally:
        release.set()
        holder.join(timeout=30)

    assert webhook_events_apply_pending(limit=100, seconds=30) == 1
    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {("processed", 1)}


def test_an_event_failed_by_a_deadlock_is_applied_again_by_the_next_chunk(
    live_campaign, fake_stripe
):
    from payments.models import Contribution

    post_paid_events(live_campaign, fake_stripe, 3)
    # A batch applies its first event alone (to time it); the other two share the next chunk.
    _, first, second = Contribution.objects.order_by("pk")
    holding, release = threading.Event(), threading.Event()

    def other_worker() -> None:
        """Lock the second contribution, then the first: the opposite order of the chunk."""
        try:
            with transaction.atomic():
                Contribution.objects.select_for_update().get(pk=second.pk)
                holding.set()
                release.wait(timeout=30)
                Contribution.objects.select_for_update().get(pk=first.pk)
        finally:
            connection.close()

    other = threading.Thread(target=other_worker)
    other.start()
    assert holding.wait(timeout=10)
    # The chunk locks the first contribution, then waits for the second; the other worker then
    # waits for the first, and PostgreSQL fails the statement that waited longest: the chunk's.
    threading.Timer(0.3, release.set).start()
    try:
        assert webhook_events_apply_pending(limit=100, seconds=30) == 4
    finally:
        release.set()
        other.join(timeout=30)

    events = list(WebhookEvent.objects.order_by("received_at").values_list("status", "attempts"))
    assert events == [("processed", 1), ("processed", 1), ("processed", 2)]
    assert Payment.objects.count() == 3
