"""Duplicate deliveries at the same moment, against PostgreSQL's real row locks and constraints."""

import threading
import time
from collections import Counter
from collections.abc import Callable

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import Client

from payments import event_handlers, receipts
from payments.models import Payment, ReceiptSend, WebhookEvent
from payments.tests.emulated import Emulated, emulator_install, signed_post
from payments.tests.fixtures import contribution_make
from payments.webhooks import webhook_event_process, webhook_events_apply_pending
from stripe_emulator.flows import cards, checkout

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


@pytest.fixture
def emulated(live_campaign, settings, monkeypatch):
    """Stripe's API answered by the emulator, which every thread shares (as they share Stripe)."""
    http = emulator_install(settings, monkeypatch)
    return Emulated(emulator=http.emulator, http=http, client=Client())


def completed(emulated, contribution):
    """The checkout.session.completed of `contribution`, paid at Stripe (not delivered)."""
    return emulated.event(emulated.checkout_paid(contribution).events, "checkout.session.completed")


def test_the_same_event_posted_and_applied_many_times_at_once_pays_and_receipts_once(
    live_campaign, emulated
):
    data = completed(emulated, contribution_make(live_campaign))

    responses = at_once(lambda i: signed_post(Client(), data).status_code)
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


def meet_before_recording(monkeypatch, *, wait: float = 0.5) -> None:
    """Hold each event that is about to record its payment until the other event of the same
    contribution gets there too, or `wait` seconds have passed.

    Two events of one payment then reach the step where it is looked up and recorded at the
    same moment, unless the contribution's lock keeps the second one out until the first has
    committed: the window a race needs, open on purpose rather than by a scheduler's chance.
    """
    record = event_handlers.payment_apply
    arrived: Counter[int] = Counter()
    meeting = threading.Condition()

    def met_then_recorded(*, contribution, **kwargs):
        with meeting:
            arrived[contribution.pk] += 1
            meeting.notify_all()
            deadline = time.monotonic() + wait
            while arrived[contribution.pk] < 2 and time.monotonic() < deadline:
                meeting.wait(timeout=deadline - time.monotonic())
        return record(contribution=contribution, **kwargs)

    monkeypatch.setattr(event_handlers, "payment_apply", met_then_recorded)


def test_different_events_about_one_payment_at_once_record_it_once(
    live_campaign, emulated, monkeypatch
):
    # SEPA Direct Debits: each payment is told twice, as its session completes (processing) and
    # as the debit clears; the two events of four payments are applied all at the same moment.
    events = []
    for n in range(THREADS // 2):
        contribution = contribution_make(live_campaign, email=f"reader{n}@example.org")
        paid = emulated.checkout_paid(contribution, number=cards.SEPA_SUCCESS).events
        session_id = emulated.event(paid, "checkout.session.completed")["data"]["object"]["id"]
        cleared = checkout.sepa_settle(emulated.emulator, session_id=session_id, fail=False)
        events += [
            emulated.event(paid, "checkout.session.completed"),
            emulated.event(cleared, "checkout.session.async_payment_succeeded"),
        ]
    for data in events:
        assert signed_post(Client(), data).status_code == 200
    pks = list(WebhookEvent.objects.order_by("pk").values_list("pk", flat=True))
    meet_before_recording(monkeypatch)

    statuses = at_once(lambda i: webhook_event_process(event_pk=pks[i]), count=len(pks))

    assert statuses == ["processed"] * len(pks)
    assert Payment.objects.count() == THREADS // 2
    assert set(Payment.objects.values_list("status", flat=True)) == {Payment.Status.SUCCEEDED}


def post_paid_events(live_campaign, emulated, count):
    for n in range(count):
        contribution = contribution_make(live_campaign, email=f"reader{n}@example.org")
        assert signed_post(Client(), completed(emulated, contribution)).status_code == 200


def test_two_batch_workers_at_once_share_the_backlog_and_apply_each_event_once(
    live_campaign, emulated
):
    post_paid_events(live_campaign, emulated, 12)

    applied = at_once(lambda i: webhook_events_apply_pending(limit=100, seconds=30), count=2)

    assert sum(applied) == 12, applied  # type: ignore[arg-type]
    assert set(WebhookEvent.objects.values_list("status", "attempts")) == {("processed", 1)}
    assert Payment.objects.count() == 12


def test_a_batch_skips_an_event_another_worker_holds_and_takes_it_later(live_campaign, emulated):
    post_paid_events(live_campaign, emulated, 3)
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


def release_once_a_lock_is_awaited(release: threading.Event) -> None:
    """Set `release` as soon as a session of this database waits for a row lock."""
    try:
        with connection.cursor() as cursor:
            while not release.wait(timeout=0.02):
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                if cursor.fetchone()[0]:
                    release.set()
    finally:
        connection.close()


def test_an_event_failed_by_a_deadlock_is_applied_again_by_the_next_chunk(
    live_campaign, emulated, settings
):
    from payments.models import Contribution

    # The other two events in one chunk, one transaction: on a loaded machine the first event's
    # time sized the next chunks at one event (or sent the batch side by side, one event per
    # transaction), and nothing deadlocked.
    settings.PAYMENTS_WEBHOOK_THREADS = 1
    settings.PAYMENTS_WEBHOOK_CHUNK_SECONDS = 60
    post_paid_events(live_campaign, emulated, 3)
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
    # The chunk locks the first contribution, then waits for the second; once it waits, the
    # other worker waits for the first, and PostgreSQL fails the statement that waited longest:
    # the chunk's. (Released on what PostgreSQL sees, not after a guess at how long the chunk
    # takes to get there: on a loaded machine the other worker took the first lock first.)
    watcher = threading.Thread(target=release_once_a_lock_is_awaited, args=(release,))
    watcher.start()
    try:
        assert webhook_events_apply_pending(limit=100, seconds=30) == 4
    finally:
        release.set()
        other.join(timeout=30)
        watcher.join(timeout=30)

    events = list(WebhookEvent.objects.order_by("received_at").values_list("status", "attempts"))
    assert events == [("processed", 1), ("processed", 1), ("processed", 2)]
    assert Payment.objects.count() == 3
