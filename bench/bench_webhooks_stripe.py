"""Webhook events applied per second against Stripe at real speed: every event waits for a
Stripe API read, served by the project's Stripe emulator over HTTP with its latency setting.

Run: `DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python -m bench
bench_webhooks_stripe`. It works in a throwaway database it creates and drops, and serves an
in-process emulator on BENCH_STRIPE_PORT (default 12112) that the worker reaches through
`STRIPE_API_BASE`. Each phase pays BENCH_STRIPE_EVENTS one-off checkouts in the emulator
(default 600; the baseline phase a fifth of that; the no-latency phase BENCH_STRIPE_FAST_EVENTS,
default 3000, as 600 events take it about two seconds: too short for the receipts the worker
sends alongside to be in the figure), delivers each `checkout.session.completed`
BENCH_WEBHOOK_COPIES times (default 3: the duplicate-heavy mix), starts the worker as the
Procfile runs it (prefork, WORKER_CONCURRENCY processes, default 2) and measures events
applied per second from the first to the last `processed_at`. Each event re-reads its payment
intent from Stripe (one read: the session in the event names the intent, but not its charge's
fee and net), so live mode's 90 reads a second bound the rate at about 90 events. Phases, in
one run:

1. no latency and no read limit (the chunked path: the worker's own speed; compare with
   bench_webhooks);
2. 250 ms per Stripe call, one event at a time per process (PAYMENTS_WEBHOOK_THREADS=1: the
   baseline, today's behaviour);
3. 250 ms per Stripe call, events side by side (the default PAYMENTS_WEBHOOK_THREADS).

In phases 2 and 3 the Stripe rate limit is live mode's (STRIPE_READS_PER_SECOND=90, shared in
Redis), and the emulator's own log of requests gives the busiest second seen. BENCH_STRIPE_PHASES
(say `1` or `3`) runs only those phases, for profiling one (the ratio needs 2 and 3). Totals must be
exact: one payment per checkout, gross as paid. Target: at least 80 events per second in phase 3,
and no second above 100 Stripe reads.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from bench.environment import fresh_database

TARGET_PER_SECOND = 80
STRIPE_READ_LIMIT = 100  # Stripe's, live mode
CHILD = "BENCH_WEBHOOKS_STRIPE_CHILD"
SECRET = "whsec_bench_" + "0" * 32


def main() -> None:
    if os.environ.get(CHILD) != "1":
        _run_in_child()
        return
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        print("bench_webhooks_stripe needs PostgreSQL and Redis: set DATABASE_URL and REDIS_URL.")
        return
    with fresh_database("bench_webhooks_stripe"):
        _run()


def _run_in_child() -> None:
    """Run again in a process configured for Stripe mode (settings are read once, at start)."""
    port = os.environ.get("BENCH_STRIPE_PORT", "12112")
    env = dict(os.environ)
    env.update(
        {
            CHILD: "1",
            "PAYMENTS_DEMO": "false",
            "STRIPE_SECRET_KEY": "sk_test_bench",
            "STRIPE_WEBHOOK_SECRET": SECRET,
            "STRIPE_API_BASE": f"http://127.0.0.1:{port}",
            "STRIPE_READS_PER_SECOND": os.environ.get("STRIPE_READS_PER_SECOND", "90"),
            "SITE_URL": os.environ.get("SITE_URL", "https://support.example.org"),
        }
    )
    here = Path(__file__).resolve().parent.parent
    subprocess.run(
        [sys.executable, "-m", "bench", "bench_webhooks_stripe"], cwd=here, env=env, check=True
    )


class _RequestLog:
    """The emulator's requests, to find the busiest second of Stripe reads."""

    def __init__(self) -> None:
        self.times: deque[float] = deque()
        self.lock = threading.Lock()

    def wrap(self, app: Any) -> Any:
        def logged(environ: dict[str, Any], start_response: Any) -> Any:
            if environ["REQUEST_METHOD"] == "GET":
                with self.lock:
                    self.times.append(time.monotonic())
            return app(environ, start_response)

        return logged

    def busiest_second(self) -> int:
        times = sorted(self.times)
        best, start = 0, 0
        for end, at in enumerate(times):
            while at - times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best


def _serve(emulator: list[Any], log: _RequestLog, port: int) -> Any:
    """Serve the emulator in `emulator[0]` (each phase puts a fresh one there)."""
    from stripe_emulator.server import EmulatorServer
    from stripe_emulator.wsgi import wsgi_app

    def current(environ: dict[str, Any], start_response: Any) -> Any:
        return wsgi_app(emulator[0])(environ, start_response)

    return EmulatorServer(log.wrap(current), port=port).serve_in_background()


def _seed_and_deliver(emulator: Any, count: int, copies: int, phase: str) -> tuple[list[int], int]:
    """Pay `count` one-off checkouts in the emulator for new contributions; post their
    `checkout.session.completed` events to the intake `copies` times. Return the contribution
    ids and the gross expected."""
    from django.test import Client

    from bench.emulated_checkouts import checkouts_paid
    from stripe_emulator import deliveries

    emulator.latency = 0.0
    paid = checkouts_paid(emulator, count=count, provider="stripe", email_tag=f"{phase}-")
    completed = [
        event
        for checkout in paid
        for event in checkout.events
        if event["type"] == "checkout.session.completed"
    ]
    client = Client(HTTP_HOST="localhost")
    items = deliveries(completed, secret=SECRET) * copies
    started = time.perf_counter()
    for item in items:
        response = client.post(
            "/stripe/webhook/",
            data=item.payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=item.signature,
            secure=True,
        )
        assert response.status_code == 200, response.content
    print(f"  intake: {len(items) / (time.perf_counter() - started):8.0f} deliveries/s")
    return [c.contribution_id for c in paid], sum(c.amount_minor for c in paid)


def _apply_with_worker(
    threads: int, count: int, *, limited: bool
) -> tuple[float, float, int, float | None]:
    """Start the Procfile's worker until `count` more events are processed; return events/s,
    the worker's CPU seconds and events processed when it applied its first events (its
    start-up, to leave out of the CPU per event), and PostgreSQL's CPU seconds serving this
    database meanwhile (None when the server is not on this machine). Without `limited`, its
    Stripe reads keep to no rate."""
    from django.db import connection

    from config.env import postgres_url
    from payments.models import WebhookEvent

    env = dict(os.environ)
    env["DATABASE_URL"] = postgres_url(connection.settings_dict)
    env["PAYMENTS_WEBHOOK_THREADS"] = str(threads)
    if not limited:
        env["STRIPE_READS_PER_SECOND"] = "0"
    concurrency = os.environ.get("WORKER_CONCURRENCY", "2")
    pending = WebhookEvent.objects.filter(status="received")
    pks = list(pending.values_list("pk", flat=True))
    assert len(pks) == count, (len(pks), count)
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "--app",
            "config",
            "worker",
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
    started_cpu, started_done = 0.0, 0
    server = _ServerCpu()
    try:
        # The intake woke a batch task; the worker picks it up when it starts.
        deadline = time.monotonic() + max(120, count / 2)
        while time.monotonic() < deadline and pending.exists():
            time.sleep(0.2)
            server.look()
            if not started_done:
                started_cpu = _process_tree_cpu(worker.pid)
                started_done = WebhookEvent.objects.filter(pk__in=pks, status="processed").count()
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    done = WebhookEvent.objects.filter(pk__in=pks)
    assert not done.exclude(status="processed").exists(), "an event was not applied"
    times = sorted(t for t in done.values_list("processed_at", flat=True) if t is not None)
    span = (times[-1] - times[0]).total_seconds()
    rate = (len(times) - 1) / span if span > 0 else float("inf")
    return rate, started_cpu, started_done, server.seconds()


class _ServerCpu:
    """The CPU PostgreSQL's server processes spend on this database from now on, read from
    /proc (so only with the server on this machine): the worker's own time is not all an event
    costs the machine, and statements moved between the two show up here. (This process's
    own polling is in it too: a query every 0.2 s.)"""

    def __init__(self) -> None:
        self.local = _server_is_here()
        self.before: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.look()
        self.before = dict(self.last)  # this process's own connection, already running

    def look(self) -> None:
        """Note the CPU of every server process connected to this database now (the worker's
        connections are kept open, so each is seen before it ends)."""
        from django.db import connection

        if not self.local:
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            pids = [pid for (pid,) in cursor.fetchall()]
        for pid in pids:
            with contextlib.suppress(OSError):  # it ended meanwhile
                self.last[pid] = _process_cpu(pid)

    def seconds(self) -> float | None:
        if not self.local:
            return None
        return sum(cpu - self.before.get(pid, 0.0) for pid, cpu in self.last.items())


def _server_is_here() -> bool:
    """Whether the PostgreSQL serving this connection runs on this machine."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"postgres")
    except OSError:
        return False


def _process_cpu(pid: int) -> float:
    """CPU seconds one process on this machine has used (user and system)."""
    own, _reaped_children = _cpu_times(pid)
    return own


def _cpu_times(pid: int) -> tuple[float, float]:
    """CPU seconds of a process on this machine: its own (user and system), and its reaped
    children's. Raises OSError once it has ended."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # utime, stime, cutime, cstime: fields 14-17 of proc(5), counted after the name.
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    ticks = os.sysconf("SC_CLK_TCK")
    return (utime + stime) / ticks, (cutime + cstime) / ticks


def _process_tree_cpu(pid: int) -> float:
    """CPU seconds a running process and its children (alive or reaped) have used so far."""
    total, pids = 0.0, [pid]
    while pids:
        current = pids.pop()
        try:
            own, reaped = _cpu_times(current)
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:  # it ended meanwhile (its time is in its parent's reaped children)
            continue
        total += own + reaped
        pids.extend(int(child) for child in children)
    return total


def _per_event(who: str, seconds: float | None, count: int) -> str:
    if seconds is None:
        return f"{who} not on this machine"
    return f"{who} {1000 * seconds / count:.1f} ms"


def _queue_empty() -> None:
    """Drop the tasks an earlier phase (or run) left queued, such as the receipts its worker
    was stopped before sending: this phase's worker would run them first."""
    from django.core.cache import cache

    from config.celery import app
    from payments.webhooks import WAKE_KEY

    app.control.purge()
    cache.delete(WAKE_KEY)  # it says a batch task is queued: none is now


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _check_totals(contribution_ids: list[int], gross: int) -> None:
    from django.db.models import Sum

    from payments.models import Payment

    payments = Payment.objects.filter(contribution_id__in=contribution_ids)
    assert payments.count() == len(contribution_ids), "a payment was counted twice or lost"
    assert payments.aggregate(total=Sum("gross_minor"))["total"] == gross, "totals changed"
    assert not payments.exclude(status="succeeded").exists()


def _run() -> None:
    from stripe_emulator import Emulator

    count = int(os.environ.get("BENCH_STRIPE_EVENTS", "600"))
    fast_count = int(os.environ.get("BENCH_STRIPE_FAST_EVENTS", "3000"))
    copies = int(os.environ.get("BENCH_WEBHOOK_COPIES", "3"))
    port = int(os.environ.get("BENCH_STRIPE_PORT", "12112"))
    latency = float(os.environ.get("BENCH_STRIPE_LATENCY", "0.25"))
    from django.conf import settings

    threads = settings.PAYMENTS_WEBHOOK_THREADS  # the default, unless the environment says
    current: list[Any] = [None]
    log = _RequestLog()
    server = _serve(current, log, port)
    results = {}
    try:
        ms = f"{latency * 1000:.0f} ms"
        # (name, latency, threads, events, limited): the first phase measures the worker's own
        # speed, so it reads without the rate limit (at 90 reads a second it measured the limit).
        phases = [
            ("no latency, no read limit", 0.0, threads, fast_count, False),
            (f"{ms}, one at a time (baseline)", latency, 1, max(count // 5, 20), True),
            (f"{ms}, side by side x{threads}", latency, threads, count, True),
        ]
        chosen = os.environ.get("BENCH_STRIPE_PHASES", "123")
        for number, (name, phase_latency, phase_threads, phase_count, limited) in enumerate(phases):
            if str(number + 1) not in chosen:
                continue
            print(f"phase {number + 1}: {name}, {phase_count} events x{copies} deliveries")
            # A fresh account per phase: the emulator's steps scan what it holds.
            emulator = current[0] = Emulator(webhook_secret=SECRET)
            _queue_empty()
            ids, gross = _seed_and_deliver(emulator, phase_count, copies, f"p{number}")
            emulator.latency = phase_latency
            log.times.clear()
            worker_cpu = _cpu(resource.RUSAGE_CHILDREN)
            emulator_cpu = _cpu(resource.RUSAGE_SELF)
            rate, start_cpu, start_done, server_cpu = _apply_with_worker(
                phase_threads, phase_count, limited=limited
            )
            worker_cpu = _cpu(resource.RUSAGE_CHILDREN) - worker_cpu
            emulator_cpu = _cpu(resource.RUSAGE_SELF) - emulator_cpu
            _check_totals(ids, gross)
            busiest = log.busiest_second()
            results[name] = rate
            print(
                f"  applied: {rate:8.1f} events/s; busiest second: {busiest} Stripe reads; "
                f"totals exact (load average {os.getloadavg()[0]:.1f})"
            )
            # The worker's start-up (importing Django, forking) is about a second of CPU
            # whatever the events: counted apart, it would not shrink with the work per event.
            applying = (worker_cpu - start_cpu) / max(phase_count - start_done, 1)
            print(
                f"  CPU per event: worker {1000 * applying:.1f} ms once started "
                f"({1000 * worker_cpu / phase_count:.1f} ms with its start-up of "
                f"{start_cpu:.1f} s), emulator and this process "
                f"{1000 * emulator_cpu / phase_count:.1f} ms, "
                + _per_event("PostgreSQL", server_cpu, phase_count)
            )
            assert busiest <= STRIPE_READ_LIMIT or not limited, "over Stripe's live-mode limit"
    finally:
        server.shutdown()
    names = list(results)
    if len(names) < 3:
        return
    print(
        f"side by side / baseline at {latency * 1000:.0f} ms: "
        f"{results[names[2]] / results[names[1]]:.1f}x"
    )
    verdict = "meets" if results[names[2]] >= TARGET_PER_SECOND else "MISSES"
    print(f"target {TARGET_PER_SECOND} applied/s at {latency * 1000:.0f} ms per call: {verdict}")


if __name__ == "__main__":
    main()
