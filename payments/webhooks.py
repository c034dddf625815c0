"""Webhook intake (verify, store once, wake a worker) and event processing (apply once, later).

Stripe is the source of truth. The endpoint only proves an event came from Stripe (or from the
demo provider, signed the same way), stores it under its unique event id and wakes a worker. A
worker applies stored events in chunks, one transaction per chunk holding the events' row locks
and one savepoint per event, so a duplicate delivery or a second worker changes nothing and a
failing event does not undo the others. Events that were never applied (broker
down, a lost task) or failed are applied later by `webhook_events_sweep`."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone

from payments.deadlocks import is_deadlock
from payments.event_handlers import HANDLERS, EventNotApplicable, EventNotReady
from payments.gateway import (
    GatewayError,
    WebhookSignatureInvalid,
    expected_livemode,
    webhook_secret,
)
from payments.hot_rows import db_time, row_reader
from payments.models import WebhookEvent
from payments.receipts import receipts_batched
from payments.stripe_gateway import API_VERSION, webhook_payload_verify
from payments.stripe_rate import stripe_seconds_spent

logger = logging.getLogger(__name__)


class WebhookRejected(Exception):
    """The request is not an event we accept; the message says why (answered with 400)."""


@dataclass(frozen=True)
class Intake:
    event_id: str
    created: bool


def webhook_event_receive(*, payload: bytes, signature: str) -> Intake:
    """Verify, parse and store one delivery; enqueue it for a worker after commit.

    A second delivery of the same event id changes nothing and is reported as not created.
    """
    try:
        webhook_payload_verify(
            payload=payload,
            signature=signature,
            secret=webhook_secret(),
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )
    except WebhookSignatureInvalid as error:
        raise WebhookRejected(f"signature check failed: {error}") from error
    try:
        data = json.loads(payload)
        event_id, event_type = str(data["id"]), str(data["type"])
        livemode = bool(data["livemode"])
        created = datetime.fromtimestamp(int(data["created"]), tz=UTC)
        data["data"]["object"]["id"]
    except (ValueError, KeyError, TypeError, OverflowError, OSError, RecursionError) as error:
        # RecursionError: a body nested deeper than the parser goes (Stripe's events are shallow).
        raise WebhookRejected("the body is not a Stripe event") from error
    if livemode != expected_livemode():
        mode = "live" if livemode else "test"
        raise WebhookRejected(f"a {mode} event was sent to an endpoint in the other mode")
    api_version = str(data.get("api_version") or "")
    held = api_version != API_VERSION
    try:
        with transaction.atomic():
            WebhookEvent.objects.create(
                stripe_event_id=event_id,
                type=event_type,
                livemode=livemode,
                api_version=api_version,
                created=created,
                payload=data,
                **(_held(api_version) if held else {}),
            )
            if not held:
                transaction.on_commit(webhook_events_wake)
    except IntegrityError:
        return Intake(event_id=event_id, created=False)
    if held:
        logger.error(
            "webhook event of another API version held, not applied",
            extra={"event": event_id, "api_version": api_version, "expected": API_VERSION},
        )
    return Intake(event_id=event_id, created=True)


HELD = "held:"


def _held(api_version: str) -> dict[str, Any]:
    """An event in another API version's shapes is stored but never applied on its own.

    Refusing it would not help: Stripe would retry the same payload for three days and then
    drop it. Stored, it is kept (nothing lost), marked failed with every attempt used so the
    sweep leaves it alone, and logged as an error. The fix is the endpoint's version
    (`manage.py stripe_setup`); `manage.py replay_webhooks EVENT` applies one by hand when a
    person has checked its shape.
    """
    return {
        "status": WebhookEvent.Status.FAILED,
        "attempts": settings.PAYMENTS_WEBHOOK_MAX_ATTEMPTS,
        "last_error": (
            f"{HELD} API version {api_version or '(none)'}, not the pinned {API_VERSION}; "
            "fix the endpoint with manage.py stripe_setup, or replay it once checked"
        ),
        "processed_at": timezone.now(),
    }


WAKE_KEY = "payments:webhook-events-wake"


def webhook_events_wake() -> None:
    """Make sure a worker will apply pending events soon: enqueue one batch task, not one per event.

    A cache flag (set-if-absent) stands for "a batch task is queued". The task clears it before it
    claims anything, so an event stored after the clear enqueues a new task, and one stored before
    it is seen by the task's claims. The flag expires on its own, so a lost task only delays the
    next wake-up; if the broker is down the event is stored and the sweep applies it later.
    """
    from payments.tasks import webhook_events_apply_pending

    try:
        if not cache.add(WAKE_KEY, 1, timeout=settings.PAYMENTS_WEBHOOK_WAKE_SECONDS):
            return  # a batch task is queued and has not started claiming yet
        webhook_events_apply_pending.apply_async(retry=False)
    except Exception:  # any broker or cache failure: the event is stored, the sweep will apply it
        logger.warning("could not enqueue webhook events; the sweep will apply them", exc_info=True)
        with contextlib.suppress(Exception):
            cache.delete(WAKE_KEY)  # let the next event try again


def webhook_events_apply_pending(*, limit: int, seconds: float) -> int:
    """Apply received events, oldest first, a chunk per transaction; return how many.

    Each chunk is claimed with `FOR UPDATE SKIP LOCKED`, so several worker processes share a
    backlog without waiting on each other and an event is never applied twice at once; a task
    that finds a backlog wakes one more task to share it. Events that wait for Stripe's API (a
    read takes 200-400 ms) are applied side by side by PAYMENTS_WEBHOOK_THREADS threads, each
    claiming its own. Stops after `limit` events or `seconds`, whichever comes first, and then
    wakes another task for the rest. The receipts of each chunk are enqueued as one task as soon
    as the chunk commits: a worker killed later in the batch must not leave them to the sweep
    (side by side, those of the whole run: see `_events_apply_side_by_side_then_wake`).
    """
    with contextlib.suppress(Exception):  # the cache is down: the flag expires on its own
        cache.delete(WAKE_KEY)  # from now on, newly stored events wake another task
    deadline = time.monotonic() + seconds
    threads = settings.PAYMENTS_WEBHOOK_THREADS > 1
    if threads and STRIPE_WAITS.seen_recently():
        if not _events_waiting():
            return 0
        webhook_events_wake()  # a backlog: another worker process can share it at once
        return _events_apply_side_by_side_then_wake(limit=limit, deadline=deadline)
    applied, size = 0, 1
    while applied < limit and time.monotonic() < deadline:
        in_stripe = stripe_seconds_spent()
        claimed, took = _events_apply_chunk_receipted(size=min(size, limit - applied))
        if claimed == 0:
            return applied  # nothing left to claim
        if applied == 0 and _events_waiting():
            webhook_events_wake()  # a backlog: another worker process can share it
        applied += claimed
        per_event = took / claimed
        waiting = (stripe_seconds_spent() - in_stripe) / claimed
        if threads and waiting >= settings.PAYMENTS_WEBHOOK_SLOW_SECONDS:
            STRIPE_WAITS.seen()
            more = _events_apply_side_by_side_then_wake(limit=limit - applied, deadline=deadline)
            return applied + more
        size = _chunk_size_next(seconds_per_event=per_event)
    webhook_events_wake()  # stopped early: there may be more
    return applied


def _events_apply_side_by_side_then_wake(*, limit: int, deadline: float) -> int:
    """Apply events side by side (`_events_apply_side_by_side`); unless none was left, wake
    the next batch task; then enqueue the run's receipts as one task. Return how many.

    The order matters: a worker process takes tasks in the order they were queued, and one that
    took a run's receipts before the next batch left Stripe's rate unused for a second or more
    (with one receipts task per event, both processes did). A worker killed during a run leaves
    that run's receipts (PAYMENTS_WEBHOOK_BATCH_SECONDS' worth at most) to the sweep.
    """
    with receipts_batched():
        applied, exhausted = _events_apply_side_by_side(limit=limit, deadline=deadline)
        if not exhausted:
            webhook_events_wake()  # stopped early: there may be more
    return applied


class _StripeWaitsSeen:
    """When this process last found events waiting for Stripe. A batch task soon after goes
    side by side from its first event instead of applying one alone to find out again: on a
    renewal day the tasks follow each other every few seconds, and that lone event (a Stripe
    read long) left the other threads idle at every task's start. Found out again once the
    memory is REMEMBERED_SECONDS old."""

    REMEMBERED_SECONDS = 30.0

    def __init__(self) -> None:
        self.at: float | None = None

    def seen(self) -> None:
        self.at = time.monotonic()

    def seen_recently(self) -> bool:
        return self.at is not None and time.monotonic() - self.at < self.REMEMBERED_SECONDS

    def forget(self) -> None:
        self.at = None


STRIPE_WAITS = _StripeWaitsSeen()


def _events_apply_side_by_side(*, limit: int, deadline: float) -> tuple[int, bool]:
    """Apply up to `limit` events in PAYMENTS_WEBHOOK_THREADS threads, each claiming its own
    chunks (one event each while they wait for Stripe) on its own database connection, until
    `deadline`. Return how many were applied and whether none was left to claim.

    Waiting for Stripe leaves the process idle: threads overlap those waits, and the shared rate
    limit (`payments.stripe_rate`) keeps all of them under Stripe's limit. Each thread runs in a
    copy of the caller's context, so their receipts join the caller's `receipts_batched`. The
    threads and their connections outlive the task (`SIDE_BY_SIDE_THREADS`).
    """
    lock = threading.Lock()
    left, applied, exhausted = limit, 0, False

    def run() -> None:
        nonlocal left, applied, exhausted
        # This thread's connection, kept from an earlier task: Django's rules between requests
        # (CONN_MAX_AGE, a connection that failed) decide whether it is used again.
        connection.close_if_unusable_or_obsolete()
        size = 1
        while time.monotonic() < deadline:
            with lock:
                take = min(size, left)
                if take <= 0 or exhausted:
                    return
                left -= take
            claimed, took = _events_apply_chunk_timed(size=take)
            with lock:
                left += take - claimed
                applied += claimed
                if claimed == 0:
                    exhausted = True
                    return
            size = _chunk_size_next(seconds_per_event=took / claimed)

    threads = settings.PAYMENTS_WEBHOOK_THREADS
    pool = SIDE_BY_SIDE_THREADS.pool(size=threads)
    runs = [pool.submit(contextvars.copy_context().run, run) for _ in range(threads)]
    for finished in runs:
        finished.result()  # a thread's failure fails the task, as it would in series
    return applied, exhausted


class _SideBySideThreads:
    """The threads a worker process applies events side by side with, kept between batch tasks
    with their database connections.

    Threads made for each task opened PAYMENTS_WEBHOOK_THREADS new PostgreSQL connections every
    few seconds on a renewal day, each a server process to start and warm (about 5 ms of the
    server's CPU). `stop` closes every thread's connection and ends the threads (tests, or a
    change of size); a process that exits ends them with it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._size = 0

    def pool(self, *, size: int) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._size != size:
                self._stop()
                self._pool = ThreadPoolExecutor(
                    max_workers=size, thread_name_prefix="webhook-events"
                )
                self._size = size
            return self._pool

    def stop(self) -> None:
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        pool, size = self._pool, self._size
        if pool is None:
            return
        # A connection is closed only by its own thread: one job each, held at a barrier until
        # every thread has taken one, so that no thread takes two.
        everyone = threading.Barrier(size)

        def close_own_connection() -> None:
            everyone.wait(timeout=30)
            connection.close()

        for job in [pool.submit(close_own_connection) for _ in range(size)]:
            job.result()
        pool.shutdown(wait=True)
        self._pool, self._size = None, 0


SIDE_BY_SIDE_THREADS = _SideBySideThreads()


def _events_apply_chunk_receipted(*, size: int) -> tuple[int, float]:
    """Apply a chunk (see `_events_apply_chunk`), then enqueue its receipts as one task.

    Return how many events it claimed and how long applying them took (without the enqueueing,
    which says nothing about how long the next chunk's events will hold their locks).
    """
    with receipts_batched():
        return _events_apply_chunk_timed(size=size)


def _events_apply_chunk_timed(*, size: int) -> tuple[int, float]:
    """Apply a chunk; return how many events it claimed and how long that took."""
    started = time.monotonic()
    claimed = _events_apply_chunk(size=size)
    return claimed, time.monotonic() - started


def _chunk_size_next(*, seconds_per_event: float) -> int:
    """Size the next chunk so its transaction lasts about PAYMENTS_WEBHOOK_CHUNK_SECONDS.

    Events applied from the database alone take milliseconds and are worth grouping; events that
    wait for Stripe's API take far longer, and grouping them would only hold their contributions'
    locks longer, so they go one per transaction.
    """
    most: int = settings.PAYMENTS_WEBHOOK_CHUNK_SIZE
    fits = int(settings.PAYMENTS_WEBHOOK_CHUNK_SECONDS / max(seconds_per_event, 1e-6))
    return max(1, min(most, fits))


def _events_waiting() -> bool:
    return WebhookEvent.objects.filter(status=WebhookEvent.Status.RECEIVED).exists()


def _events_apply_chunk(*, size: int) -> int:
    """Claim up to `size` received events and apply them in one transaction; return how many.

    One transaction per chunk rather than per event: the claim, the status updates and the
    commit are paid once for the chunk. Each handler still runs in its own savepoint, so a
    failing event leaves the others' changes in place.
    """
    with transaction.atomic():
        events = _events_claim(CLAIM_OLDEST_RECEIVED, [size])
        outcomes = [_event_run(event) for event in events]
        _events_finish(outcomes)
    return len(events)


def webhook_event_process(*, event_pk: int) -> str:
    """Apply a stored event once; return its status afterwards.

    The event's row lock makes concurrent attempts wait and then see it already processed. If
    the handler fails, everything it did is rolled back and the failure is recorded on the event
    for the sweep and the replay command.
    """
    with transaction.atomic():
        events = _events_claim(CLAIM_ONE, [event_pk])
        if not events:
            raise WebhookEvent.DoesNotExist(f"no stored webhook event {event_pk}")
        outcome = _event_run(events[0])
        _events_finish([outcome])
    return outcome.status


FINISHED = (WebhookEvent.Status.PROCESSED, WebhookEvent.Status.IGNORED)


# Claims are written out rather than built by the ORM: every chunk (one event each while events
# wait for Stripe) makes one, and building it cost more than PostgreSQL's answer.
CLAIM_OLDEST_RECEIVED = (
    "WHERE status = 'received' ORDER BY received_at, id LIMIT %s",
    " FOR UPDATE SKIP LOCKED",
)
CLAIM_ONE = ("WHERE id = %s", " FOR UPDATE")


def _events_claim(claim: tuple[str, str], params: list[Any]) -> list[WebhookEvent]:
    """Lock and read events for this transaction by one of the claims above.

    On PostgreSQL the transaction's commit does not wait for the WAL to reach the disk, set in
    the same round trip. That is safe here: the event itself was stored with a durable commit at
    intake, and applying it is idempotent, so a crash that loses this commit leaves the event
    "received" for the sweep. Any later durable commit (the receipt ledger, the next intake)
    flushes this one too. (SQLite, the embedded demo's, has one writer and no row locks.)
    """
    where, lock = claim
    reader = row_reader(WebhookEvent)
    select = f"SELECT {reader.columns} FROM payments_webhookevent {where}"  # noqa: S608 - ours
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"SET LOCAL synchronous_commit TO OFF; {select}{lock}", params)
            cursor.nextset()  # the SELECT's rows, after SET's empty result
        else:
            cursor.execute(select, params)
        rows = cursor.fetchall()
    return [reader.instance(row) for row in rows]


@dataclass(frozen=True)
class Outcome:
    event_pk: int
    status: str
    error: str = ""
    changed: bool = True


def _event_run(event: WebhookEvent) -> Outcome:
    """Run the handler of an event the caller holds locked, in a savepoint; say how it ended.

    A failure undoes everything the handler did (and drops its after-commit work, such as the
    receipt) and is recorded for the sweep and the replay command; the caller's transaction and
    the other events in it go on.
    """
    if event.status in FINISHED:
        return Outcome(event.pk, event.status, changed=False)
    handler = HANDLERS.get(event.type)
    if handler is None:
        return Outcome(event.pk, WebhookEvent.Status.IGNORED)
    try:
        with transaction.atomic():
            handler(event.payload["data"]["object"], event.created)
    except EventNotApplicable as reason:
        return Outcome(event.pk, WebhookEvent.Status.IGNORED, str(reason))
    except (EventNotReady, GatewayError) as failure:
        logger.info("webhook event not applied yet", extra={"event": event.pk})
        return Outcome(event.pk, WebhookEvent.Status.FAILED, str(failure))
    except OperationalError as failure:
        if is_deadlock(failure) and event.attempts + 1 < settings.PAYMENTS_WEBHOOK_MAX_ATTEMPTS:
            # Another worker's chunk locked the same rows in the opposite order and PostgreSQL
            # failed this event to free both. Left received, it is the oldest event, so the next
            # chunk applies it at once instead of the sweep a minute later.
            logger.info("webhook event deadlocked; applied again", extra={"event": event.pk})
            return Outcome(event.pk, WebhookEvent.Status.RECEIVED, "deadlock; applied again")
        return _event_failed(event, failure)
    except Exception as failure:
        return _event_failed(event, failure)
    return Outcome(event.pk, WebhookEvent.Status.PROCESSED)


def _event_failed(event: WebhookEvent, failure: Exception) -> Outcome:
    """Record an unexpected failure for the replay command; the worker goes on."""
    logger.exception("webhook event failed", extra={"event": event.pk})
    return Outcome(event.pk, WebhookEvent.Status.FAILED, f"{type(failure).__name__}: {failure}")


def _events_finish(outcomes: list[Outcome]) -> None:
    """Record how the events ended: one UPDATE for each distinct status and error."""
    groups: dict[tuple[str, str], list[int]] = {}
    for outcome in outcomes:
        if outcome.changed:
            groups.setdefault((outcome.status, outcome.error), []).append(outcome.event_pk)
    now = timezone.now()
    with connection.cursor() as cursor:
        for (status, error), pks in groups.items():
            # The rows are locked by this transaction: no need to check their status again.
            marks = ", ".join(["%s"] * len(pks))
            cursor.execute(
                "UPDATE payments_webhookevent SET status = %s, attempts = attempts + 1, "  # noqa: S608 - placeholders only
                f"last_error = %s, processed_at = %s WHERE id IN ({marks})",
                [status, error, db_time(now), *pks],
            )


def webhook_events_due(*, now: datetime | None = None) -> list[int]:
    """Return events the sweep should apply: stored but never applied, or failed and retryable."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.PAYMENTS_WEBHOOK_SWEEP_AFTER_SECONDS)
    never_applied = WebhookEvent.objects.filter(
        status=WebhookEvent.Status.RECEIVED, received_at__lt=stale
    )
    failed = WebhookEvent.objects.filter(
        status=WebhookEvent.Status.FAILED,
        attempts__lt=settings.PAYMENTS_WEBHOOK_MAX_ATTEMPTS,
        processed_at__lt=stale,
    )
    ids = list(never_applied.order_by("created").values_list("pk", flat=True)[:1000])
    ids += list(failed.order_by("created").values_list("pk", flat=True)[:1000])
    return ids


def webhook_events_replay(*, stripe_event_id: str | None = None) -> dict[str, Any]:
    """Apply one event again (by Stripe id, whatever its status), or every failed event but
    those held for their API version.

    Return each event's status afterwards.
    """
    events = WebhookEvent.objects.all()
    if stripe_event_id:
        events = events.filter(stripe_event_id=stripe_event_id)
    else:
        # Held events (another API version) are replayed only one by one, by a person.
        events = events.filter(status=WebhookEvent.Status.FAILED).exclude(
            last_error__startswith=HELD
        )
    results = {}
    for pk, event_id in events.order_by("created").values_list("pk", "stripe_event_id"):
        # Handlers are idempotent, so applying a processed event again only re-reads Stripe.
        WebhookEvent.objects.filter(pk=pk).update(status=WebhookEvent.Status.RECEIVED)
        results[event_id] = webhook_event_process(event_pk=pk)
    return results
