"""Webhook throughput: signed events accepted per second by the endpoint, and applied per second
by one worker, against PostgreSQL, with a duplicate-heavy mix that must not change the totals.

Run: `DATABASE_URL=postgres://... REDIS_URL=redis://...
.venv/bin/python -m bench bench_webhooks`. It works in a throwaway test database it creates and
drops. Sizes: BENCH_WEBHOOK_EVENTS (distinct events, default 1000), BENCH_WEBHOOK_COPIES (deliveries
of each, default 3), BENCH_WEBHOOK_WORKER=0 (skip the Celery worker). Baseline: the same
number of requests rejected at signature verification.
With REDIS_URL set, one real Celery worker as the Procfile runs it (BENCH_WEBHOOK_POOL, default
prefork, with WORKER_CONCURRENCY processes, default 2) applies the queued events (the intake woke
its batch tasks) and sends their receipts. "Applied" is taken from the first to the last
`processed_at`; "and their receipts sent" runs to the last receipt's `sent_at`. Without Redis the
events are applied in-process.
Target: at least 300 events applied per second.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.environment import fresh_database

TARGET_APPLIED_PER_SECOND = 300


def _setup() -> Any:
    import django

    django.setup()
    import logging

    from django.db import connection

    # Rejected requests (the baseline) would log a warning each.
    logging.getLogger("django.request").setLevel(logging.ERROR)

    return connection


def _seed(count: int) -> list[dict[str, Any]]:
    """Create contributions paid through the demo's Stripe emulator; return their sessions."""
    from bench.emulated_checkouts import checkouts_paid
    from payments.demo_provider.store import demo_emulator
    from stripe_emulator.objects import public

    emulator = demo_emulator()
    emulator.sinks.clear()  # the benchmark posts the events itself
    paid = checkouts_paid(emulator, count=count, provider="demo")
    return [public(emulator.get(checkout.session_id)) for checkout in paid]


def _events(sessions: list[dict[str, Any]]) -> list[tuple[bytes, str]]:
    from django.conf import settings

    from payments.stripe_gateway import event_json, webhook_signature_header

    signed = []
    for i, session in enumerate(sessions):
        event = {
            "id": f"evt_bench_{i}",
            "object": "event",
            "api_version": "2026-10-28.endive",
            "created": int(time.time()),
            "data": {"object": session},
            "livemode": False,
            "type": "checkout.session.completed",
        }
        payload = event_json(event)
        header = webhook_signature_header(
            payload=payload, secret=settings.PAYMENTS_DEMO_WEBHOOK_SECRET
        )
        signed.append((payload, header))
    return signed


def _post_all(client: Any, deliveries: list[tuple[bytes, str]]) -> float:
    started = time.perf_counter()
    for payload, header in deliveries:
        client.post(
            "/stripe/webhook/",
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=header,
            secure=True,
        )
    return time.perf_counter() - started


def _rate(count: int, times: list[Any]) -> float:
    """`count` events per second, over the span from the first to the last of these times."""
    if count < 2 or not times:
        return 0.0
    span = (max(times) - min(times)).total_seconds()
    return (count - 1) / span if span > 0 else float("inf")


def _warn_if_queue_not_empty() -> None:
    """Tasks left in the queue by earlier runs would be counted in the worker's figure."""
    from config.celery import app

    with app.connection_for_read() as connection:
        channel: Any = connection.default_channel  # kombu's Redis channel
        _, waiting, _ = channel.queue_declare("celery", passive=True)
    # The intake of this run queued one batch task (or two, if it outlasted the wake-up flag).
    if waiting > 2:
        print(f"warning: {waiting} tasks queued before the worker started; they slow its figure")


def _apply_with_worker(count: int) -> tuple[float, float] | None:
    """Start one real worker on the queued events; return its events/s, and events/s with their
    receipts sent too; None without Redis."""
    from django.conf import settings
    from django.db import connection

    from config.env import postgres_url
    from payments.models import ReceiptSend, WebhookEvent

    if not settings.REDIS_URL or os.environ.get("BENCH_WEBHOOK_WORKER") == "0":
        return None
    db = connection.settings_dict
    env = dict(os.environ)
    env["DATABASE_URL"] = postgres_url(db)
    # The worker as the Procfile runs it (prefork, WORKER_CONCURRENCY processes, default 2),
    # unless told otherwise.
    pool = os.environ.get("BENCH_WEBHOOK_POOL", "prefork")
    concurrency = os.environ.get("WORKER_CONCURRENCY", "2")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "--app",
            "config",
            "worker",
            "--pool",
            pool,
            "--concurrency",
            concurrency,
            "--loglevel",
            "ERROR",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
    )
    _warn_if_queue_not_empty()
    receipts = ReceiptSend.objects.filter(kind="receipt", sent_at__isnull=False)
    try:
        deadline = time.monotonic() + max(60, count / 20)
        while time.monotonic() < deadline:
            if receipts.count() >= count:
                break
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    applied = list(
        WebhookEvent.objects.filter(status="processed").values_list("processed_at", flat=True)
    )
    sent = list(receipts.values_list("sent_at", flat=True))
    return _rate(len(applied), applied), _rate(len(applied), applied + sent)


def _apply_in_process() -> tuple[int, float, float]:
    """Apply what is left as the worker task would; return count, wall and CPU seconds."""
    from payments.models import WebhookEvent
    from payments.webhooks import webhook_event_process

    pks = list(WebhookEvent.objects.filter(status="received").values_list("pk", flat=True))
    started, cpu = time.perf_counter(), time.process_time()
    for pk in pks:
        webhook_event_process(event_pk=pk)
    return len(pks), time.perf_counter() - started, time.process_time() - cpu


def run(count: int, copies: int) -> None:
    from django.db.models import Sum
    from django.test import Client

    from payments.models import Payment, WebhookEvent

    sessions = _seed(count)
    deliveries = _events(sessions)
    expected_gross = sum(1000 + i for i in range(count))
    client = Client(HTTP_HOST="localhost")

    bad = [(payload, header.replace("v1=", "v1=0")) for payload, header in deliveries]
    baseline = _post_all(client, bad)
    print(f"baseline (rejected at signature check): {count / baseline:8.0f} requests/s")

    first = _post_all(client, deliveries)
    print(f"intake, new events:                     {count / first:8.0f} events/s")
    mixed = [d for d in deliveries for _ in range(copies - 1)]
    again = _post_all(client, mixed) if mixed else 0.0
    if mixed:
        print(f"intake, duplicate deliveries:           {len(mixed) / again:8.0f} events/s")
    assert WebhookEvent.objects.count() == count

    rates = _apply_with_worker(count)
    rate = None
    if rates is not None:
        pool = os.environ.get("BENCH_WEBHOOK_POOL", "prefork")
        concurrency = os.environ.get("WORKER_CONCURRENCY", "2")
        rate, with_receipts = rates
        print(f"applied by one Celery worker ({pool} x{concurrency}):   {rate:8.0f} events/s")
        print(f"  ... and their receipts sent too:       {with_receipts:8.0f} events/s")
    applied, seconds, cpu = _apply_in_process()
    if applied:
        print(
            f"applied in-process (what is left):      {applied / seconds:8.0f} events/s "
            f"({1000 * cpu / applied:.1f} ms CPU per event in this process; "
            f"load average {os.getloadavg()[0]:.1f})"
        )
    if rate is None:
        rate = applied / seconds if seconds else 0.0

    # Duplicates once more, after applying: nothing may change.
    if mixed:
        _post_all(client, mixed)
        assert _apply_in_process()[0] == 0
    totals = Payment.objects.aggregate(gross=Sum("gross_minor"))
    assert Payment.objects.count() == count, "a payment was counted twice or lost"
    assert totals["gross"] == expected_gross, "totals changed under duplicates"
    assert not WebhookEvent.objects.exclude(status="processed").exists()
    print(f"payments: {count}, gross {totals['gross']} minor units (as expected)")
    print(
        f"applied / baseline: {rate / (count / baseline):.3f} "
        f"(the machine's speed cancels out; load average now {os.getloadavg()[0]:.1f})"
    )
    verdict = "meets" if rate >= TARGET_APPLIED_PER_SECOND else "MISSES"
    print(f"target {TARGET_APPLIED_PER_SECOND} applied/s: {verdict}")


def main() -> None:
    connection = _setup()
    if connection.vendor != "postgresql":
        print("bench_webhooks needs PostgreSQL: set DATABASE_URL (and REDIS_URL for the worker).")
        return
    count = int(os.environ.get("BENCH_WEBHOOK_EVENTS", "1000"))
    copies = int(os.environ.get("BENCH_WEBHOOK_COPIES", "3"))
    from django.conf import settings

    if not settings.PAYMENTS_DEMO:
        print("bench_webhooks signs events as the demo provider: unset STRIPE_SECRET_KEY.")
        return
    with fresh_database("bench_webhooks"):
        run(count, copies)


if __name__ == "__main__":
    main()
