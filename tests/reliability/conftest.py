"""Fixtures of the fault tests: a private PostgreSQL cluster for the session (migrated once, a
fresh database per test from it as a template), a private Redis and SMTP server per test, and
helpers to deliver signed events and read the ledger.

These tests use no pytest-django database: the application runs in its own processes against
the private cluster, and the test reads the outcome with plain SQL.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.reliability import services

TEMPLATE = "rs_template"
CONTRIBUTIONS = 80  # made once per run; a test uses the first N
LOGS = Path(tempfile.gettempdir()) / "reliability-logs"
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def cluster() -> Iterator[services.Postgres]:
    """A throw-away PostgreSQL cluster with the schema migrated into a template database."""
    postgres = services.Postgres()
    try:
        postgres.init()
        postgres.sql("postgres", f"CREATE DATABASE {TEMPLATE}")
        env = services.app_env(
            database_url=postgres.url(TEMPLATE),
            redis_url="",
            workdir=postgres.root,
            smtp_port=1,
        )
        # A release runs both before it starts (README, Operations); the static files go to
        # this session's folder, which each test's work folder links to.
        for command in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
            subprocess.run(  # noqa: S603 - our own command line
                [sys.executable, "manage.py", *command, "-v", "0"],
                cwd=services.BASE_DIR,
                env=env,
                check=True,
                timeout=300,
            )
        # Paid contributions and their events, made once (the demo provider's checkouts are
        # slow) into the template: every test's database starts with them, unapplied.
        made = subprocess.run(  # noqa: S603 - our own command line
            [sys.executable, "-m", "tests.reliability.make_events", str(CONTRIBUTIONS), "1"],
            cwd=services.BASE_DIR,
            env=env,
            check=True,
            capture_output=True,
            timeout=600,
        )
        postgres.contributions = json.loads(made.stdout)["contributions"]
        yield postgres
    finally:
        postgres.destroy()


@dataclass
class Stack:
    """One test's instances: its database, Redis, mail server, work folder and processes."""

    cluster: services.Postgres
    database: str
    redis: services.Redis
    smtp: services.SmtpSink
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    def sql(self, statement: str, *params: object) -> list[tuple[Any, ...]]:
        return self.cluster.sql(self.database, statement, *params)

    def paid(self, count: int) -> dict[str, list[Any]]:
        """The first `count` paid contributions of the template (every third monthly), and the
        signed-event payloads Stripe (the demo provider) sends for them, in its order."""
        contributions = self.cluster.contributions[:count]
        assert len(contributions) == count, f"the template has {CONTRIBUTIONS} contributions"
        events = [payload for c in contributions for payload in c["events"]]
        return {"contributions": contributions, "events": events}

    def ledger(self) -> dict[str, object]:
        """What the ledger holds, for the assertions and the report."""
        payments = self.sql(
            "SELECT contribution_id, gross_minor FROM payments_payment WHERE status = 'succeeded'"
        )
        per_contribution = Counter(row[0] for row in payments)
        sent = self.sql(
            "SELECT payment_id FROM payments_receiptsend WHERE kind = 'receipt' "
            "AND sent_at IS NOT NULL"
        )
        statuses: dict[str, int] = dict(
            self.sql("SELECT status, count(*) FROM payments_webhookevent GROUP BY 1")
        )
        message_ids = self.smtp.message_ids()
        return {
            "payments": len(payments),
            "gross_minor": sum(int(row[1]) for row in payments),
            "contributions_paid_twice": sum(1 for n in per_contribution.values() if n > 1),
            "receipts_recorded": len(sent),
            "events": statuses,
            "mails": len(message_ids),
            "distinct_message_ids": len(set(message_ids)),
            "mails_twice": len(message_ids) - len(set(message_ids)),
        }


@pytest.fixture
def stack(cluster: services.Postgres) -> Iterator[Stack]:
    database = f"rs_test_{next(_numbers)}"
    cluster.sql("postgres", f"CREATE DATABASE {database} TEMPLATE {TEMPLATE}")
    workdir = Path(tempfile.mkdtemp(prefix="rs-fault-"))
    (workdir / "static").symlink_to(cluster.root / "static")
    redis = services.Redis(workdir)
    smtp = services.SmtpSink()
    try:
        redis.start()
        stack = Stack(cluster, database, redis, smtp, workdir)
        stack.env = services.app_env(
            database_url=cluster.url(database),
            redis_url=redis.url,
            workdir=workdir,
            smtp_port=smtp.port,
            # Short windows so recovery is seen within the test, not after minutes.
            PAYMENTS_WEBHOOK_SWEEP_EVERY_SECONDS="2",
            PAYMENTS_WEBHOOK_SWEEP_AFTER_SECONDS="3",
            PAYMENTS_RECEIPT_SWEEP_AFTER_SECONDS="5",
            MAIL_CLAIM_SECONDS="10",
            CELERY_VISIBILITY_TIMEOUT="30",
            CAMPAIGN_EVENTS_BUFFER_SECONDS="0",
        )
        yield stack
    finally:
        smtp.close()
        redis.stop()
        with contextlib.suppress(Exception):  # the test may have left the cluster stopped
            cluster.sql("postgres", f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        # The processes' logs outlive the work folder, for a failure's post-mortem.
        logs = LOGS / database
        shutil.rmtree(logs, ignore_errors=True)
        logs.mkdir(parents=True, exist_ok=True)
        for log in workdir.glob("*.log"):
            shutil.copy(log, logs)
        shutil.rmtree(workdir, ignore_errors=True)


def signed(payload: str) -> dict[str, str]:
    """Stripe's signature header for a payload, signed now with the demo provider's secret."""
    from payments.stripe_gateway import webhook_signature_header

    header = webhook_signature_header(
        payload=payload.encode(), secret=settings.PAYMENTS_DEMO_WEBHOOK_SECRET
    )
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a 302 is an answer here, not a hop
        return None


def http(
    method: str,
    url: str,
    *,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 15,
    follow: bool = True,
) -> tuple[int, dict[str, str], bytes]:
    """Return (status, headers, body); a refused or dropped connection is status 0."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, {}, b""


def deliver(base_url: str, payload: str, *, statuses: Counter, until_accepted: bool) -> None:
    """POST one event as Stripe does; with `until_accepted`, retry (as Stripe would) until 2xx."""
    for _ in range(200):
        status, _, _ = http(
            "POST", f"{base_url}/stripe/webhook/", data=payload.encode(), headers=signed(payload)
        )
        statuses[status] += 1
        if 200 <= status < 300 or not until_accepted:
            return
        time.sleep(0.25)
    raise AssertionError("an event was never accepted")


def wait_for(condition, *, timeout: float, what: str, stack: Stack, processes=()) -> None:
    try:
        services.wait_until(condition, timeout=timeout, what=what, every=0.5)
    except TimeoutError:
        logs = "\n".join(f"--- {p.name}\n{p.tail()}" for p in processes)
        raise AssertionError(f"{what}: not reached; ledger {stack.ledger()}\n{logs}") from None


REPORT = Path(tempfile.gettempdir()) / "reliability-report.jsonl"


@pytest.fixture
def report(request: pytest.FixtureRequest):
    """Print what a fault test sent and what the ledger holds (and keep it in a JSON-lines file
    beside the other temporary files), so a run's figures can be quoted."""

    def write(fault: str, **figures: object) -> None:
        line = json.dumps({"test": request.node.name, "fault": fault, **figures}, default=str)
        print(f"\nRELIABILITY {line}")
        with REPORT.open("a") as out:
            out.write(line + "\n")

    return write
