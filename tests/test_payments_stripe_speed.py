"""Events that wait for Stripe are applied side by side, each once, and every Stripe call waits
for its slot under the rate limit shared by all processes (a schedule in Redis)."""

import threading
import time

import pytest
from django.db import connection

from campaigns.models import Campaign
from payments import stripe_rate, tasks, webhooks
from payments.models import Contribution, Payment, Supporter, WebhookEvent
from payments.stripe_gateway import StripeGateway
from payments.stripe_rate import stripe_call_reserve, stripe_call_wait
from payments.tests.emulated import WEBHOOK_SECRET
from payments.tests.fixtures import AMOUNTS
from payments.webhooks import webhook_events_apply_pending
from stripe_emulator import Emulator, EmulatorHttpClient, deliveries
from stripe_emulator.flows import cards, checkout
from stripe_emulator.scenarios import checkout_session_new

LATENCY = 0.2
EVENTS = 12


@pytest.fixture
def slow_stripe(transactional_db, settings, monkeypatch):
    """Stripe mode against an emulator answering each call after LATENCY seconds."""
    settings.PAYMENTS_DEMO = False
    settings.STRIPE_SECRET_KEY = "sk_test_speed"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_LIVEMODE = False
    settings.STRIPE_READS_PER_SECOND = 0  # no limit here: this test is about overlapping waits
    emulator = Emulator(webhook_secret=WEBHOOK_SECRET)
    http = InFlight(emulator)
    monkeypatch.setattr(StripeGateway, "http_client", http)
    return emulator, http


class InFlight(EmulatorHttpClient):
    """The emulator's HTTP client, counting the calls waiting for an answer at the same time."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(emulator)
        self.lock = threading.Lock()
        self.now = self.most = 0

    def request(self, *args, **kwargs):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return super().request(*args, **kwargs)
        finally:
            with self.lock:
                self.now -= 1


def _checkouts_received(client, emulator, capture_on_commit) -> None:
    """Pay EVENTS one-off checkouts in the emulator and post their completed events to the
    intake, each several times (stored once each, applied later)."""
    campaign = Campaign.objects.create(
        name="Speed", slug="speed", status="live", currency="EUR", amounts=AMOUNTS
    )
    completed = []
    for i in range(EVENTS):
        supporter = Supporter.objects.create(email=f"reader-{i}@example.org")
        contribution = Contribution.objects.create(
            supporter=supporter,
            frequency="one_off",
            amount_minor=1000 + i,
            currency="EUR",
            campaign=campaign,
        )
        session = checkout_session_new(
            emulator, amount=1000 + i, contribution_id=contribution.pk, email=supporter.email
        )
        outcome = checkout.session_pay(emulator, session_id=session["id"], number=cards.SUCCESS)
        completed += [e for e in outcome.events if e["type"] == "checkout.session.completed"]
    with capture_on_commit():  # the intake's wake-up is not sent anywhere
        for item in deliveries(completed, secret=WEBHOOK_SECRET, duplicates=4, seed=1):
            response = client.post(
                "/stripe/webhook/",
                data=item.payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=item.signature,
            )
            assert response.status_code == 200


@pytest.mark.postgres
def test_events_waiting_for_stripe_are_applied_side_by_side_each_once(
    client, slow_stripe, settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.PAYMENTS_WEBHOOK_THREADS = 6
    receipts: list[list[int]] = []
    monkeypatch.setattr(tasks.receipts_send, "delay", receipts.append)
    slow_stripe, http = slow_stripe
    _checkouts_received(client, slow_stripe, django_capture_on_commit_callbacks)

    slow_stripe.latency = LATENCY
    applied = webhook_events_apply_pending(limit=1000, seconds=60)

    assert applied == EVENTS
    assert not WebhookEvent.objects.exclude(status="processed").exists()
    assert Payment.objects.count() == EVENTS  # each once
    assert sorted(Payment.objects.values_list("gross_minor", flat=True)) == [
        1000 + i for i in range(EVENTS)
    ]
    # The waits overlapped: several reads were out at once (one at a time, never more than one).
    assert http.most >= 3, http.most
    # Each receipt enqueued once, those applied side by side in one task (the first event,
    # applied alone to see whether events wait for Stripe, has its own): not one per event.
    enqueued = [pk for batch in receipts for pk in batch]
    assert sorted(enqueued) == sorted(Payment.objects.values_list("pk", flat=True))
    assert [len(batch) for batch in receipts] == [1, EVENTS - 1], receipts


@pytest.mark.redis
def test_stripe_calls_from_many_threads_keep_to_the_shared_rate(settings):
    settings.STRIPE_SECRET_KEY = f"sk_test_rate_{time.time_ns()}"  # a schedule of its own
    settings.STRIPE_READS_PER_SECOND = 20
    # The default: evenly spaced. (With a burst, a back-to-back group whose first calls woke a
    # few ms late, as the first calls do while Redis connects, was stamped in the next group's
    # second: 23. The schedule's own times keep the budget either way: the test below.)
    settings.STRIPE_RATE_BURST = 0
    stamps: list[float] = []
    lock = threading.Lock()

    def call() -> None:
        for _ in range(5):
            stripe_call_wait(kind="read")
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    stamps.sort()
    busiest = max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps)
    assert len(stamps) == 40
    # The schedule never puts more than the rate in one second (the test below); what a thread
    # records after its sleep may be late by a scheduling delay: two calls of jitter.
    assert busiest <= 20 + 2, busiest
    assert stamps[-1] - stamps[0] >= (40 - 2 - 1) / 20 - 0.1  # 40 calls need about 2 s


def _busiest_second(times: list[float]) -> int:
    """The most of `times` in any one-second window [t, t + 1)."""
    times = sorted(times)
    best = start = 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.redis
@pytest.mark.parametrize("shared", [True, False], ids=["redis", "in-process"])
def test_no_one_second_window_holds_more_stripe_calls_than_the_rate(settings, monkeypatch, shared):
    """The burst rides on spaced calls only while the second's budget allows: with 30 a second
    and a burst of 5, spacing alone put 35 calls in the first second."""
    settings.STRIPE_SECRET_KEY = f"sk_test_window_{time.time_ns()}"  # a schedule of its own
    settings.STRIPE_READS_PER_SECOND = 30
    settings.STRIPE_RATE_BURST = 5
    if not shared:
        settings.REDIS_URL = ""
        monkeypatch.setattr(stripe_rate, "_LOCAL", stripe_rate._LocalSchedule())
    slots: list[float] = []
    lock = threading.Lock()

    def reserve() -> None:
        for _ in range(25):
            slot = stripe_call_reserve(kind="read")
            assert slot is not None
            with lock:
                slots.append(slot.at)

    threads = [threading.Thread(target=reserve) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(slots) == 150
    assert _busiest_second(slots) == 30  # the budget, and all of it used
    # Spread over about five seconds: the budget does not cost throughput either.
    assert (len(slots) - 1) / (max(slots) - min(slots)) >= 29


@pytest.mark.redis
def test_stripe_writes_have_a_schedule_of_their_own(settings):
    settings.STRIPE_SECRET_KEY = f"sk_test_kinds_{time.time_ns()}"
    settings.STRIPE_READS_PER_SECOND = 2
    settings.STRIPE_WRITES_PER_SECOND = 2
    settings.STRIPE_RATE_BURST = 0
    reads = [stripe_call_reserve(kind="read") for _ in range(3)]
    write = stripe_call_reserve(kind="write")
    third = reads[2]
    assert third is not None and write is not None
    assert third.wait >= 0.9  # the third read waits for the next second
    assert write.wait < 0.1  # the first write does not wait behind the reads


@pytest.mark.postgres
def test_a_batch_soon_after_one_that_waited_for_stripe_starts_side_by_side(
    client, slow_stripe, settings, django_capture_on_commit_callbacks, monkeypatch
):
    settings.PAYMENTS_WEBHOOK_THREADS = 6
    slow_stripe, http = slow_stripe
    _checkouts_received(client, slow_stripe, django_capture_on_commit_callbacks)
    slow_stripe.latency = LATENCY
    woken = []
    monkeypatch.setattr(webhooks, "webhook_events_wake", lambda: woken.append(1))
    assert webhook_events_apply_pending(limit=1, seconds=60) == 1  # found out: events wait
    alone: list[int] = []
    applied_alone = webhooks._events_apply_chunk_receipted

    def apply_alone(*, size: int) -> tuple[int, float]:
        alone.append(size)
        return applied_alone(size=size)

    monkeypatch.setattr(webhooks, "_events_apply_chunk_receipted", apply_alone)
    http.most = 0
    woken.clear()

    assert webhook_events_apply_pending(limit=1000, seconds=60) == EVENTS - 1

    assert alone == []  # no event applied alone first
    assert http.most >= 3, http.most
    assert woken == [1]  # another worker process was asked to share the backlog at once
    assert Payment.objects.count() == EVENTS
    assert webhook_events_apply_pending(limit=1000, seconds=60) == 0  # nothing left


@pytest.mark.redis
def test_a_call_that_wakes_late_for_its_slot_takes_another(settings, monkeypatch):
    """Sent late, it would reach Stripe in the same second as the calls after its slot."""
    settings.STRIPE_SECRET_KEY = f"sk_test_late_{time.time_ns()}"
    settings.STRIPE_READS_PER_SECOND = 50
    settings.STRIPE_RATE_BURST = 0
    stripe_call_reserve(kind="read")  # the next slot is 20 ms away: the call sleeps
    sleeps: list[float] = []
    real_sleep = time.sleep

    def oversleep(seconds: float) -> None:
        sleeps.append(seconds)
        real_sleep(seconds + (0.2 if len(sleeps) == 1 else 0))  # descheduled, the first time

    monkeypatch.setattr(stripe_rate.time, "sleep", oversleep)
    reserved: list[str] = []
    real_reserve = stripe_rate.stripe_call_reserve

    def reserve(*, kind: str) -> stripe_rate.Slot | None:
        reserved.append(kind)
        return real_reserve(kind=kind)

    monkeypatch.setattr(stripe_rate, "stripe_call_reserve", reserve)

    stripe_call_wait(kind="read")

    assert reserved == ["read", "read"]  # the late slot was given up for a fresh one


def _worker_backends() -> set[int]:
    """The PostgreSQL server processes connected to this database, but this thread's."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {pid for (pid,) in cursor.fetchall()}


@pytest.mark.postgres
def test_side_by_side_threads_keep_their_connections_from_one_batch_task_to_the_next(
    client, slow_stripe, settings, django_capture_on_commit_callbacks, monkeypatch
):
    """Threads made per task opened a connection each, every task: on a renewal day, dozens of
    new PostgreSQL server processes every few seconds."""
    settings.PAYMENTS_WEBHOOK_THREADS = 3
    monkeypatch.setattr(tasks.receipts_send, "delay", lambda pks: None)
    monkeypatch.setattr(tasks.webhook_events_apply_pending, "apply_async", lambda **kw: None)
    slow_stripe, _ = slow_stripe
    _checkouts_received(client, slow_stripe, django_capture_on_commit_callbacks)
    slow_stripe.latency = LATENCY

    others = _worker_backends()  # connections an earlier test or thread left open, if any
    first = webhook_events_apply_pending(limit=EVENTS // 2, seconds=60)
    after_first = _worker_backends() - others
    second = webhook_events_apply_pending(limit=EVENTS, seconds=60)
    after_second = _worker_backends() - others

    assert first + second == EVENTS
    assert Payment.objects.count() == EVENTS
    assert len(after_first) == 3, after_first  # each thread's, open between the tasks
    assert after_second == after_first
