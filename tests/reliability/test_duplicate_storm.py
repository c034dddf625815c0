"""The duplicate storm: every event of many payments delivered several times, shuffled and
concurrent, over HTTP to granian and a real Celery worker; totals and receipts end exact."""

import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.reliability import services
from tests.reliability.conftest import deliver, wait_for

pytestmark = pytest.mark.reliability

PAYMENTS = 80
COPIES = 3


def test_every_event_delivered_three_times_shuffled_and_concurrent_ends_exact(stack, report):
    made = stack.paid(PAYMENTS)
    started, timings = time.monotonic(), {}
    expected_gross = sum(c["amount"] for c in made["contributions"])
    deliveries = [payload for payload in made["events"] for _ in range(COPIES)]
    random.Random(7).shuffle(deliveries)
    web, port = services.web(stack.env, log_dir=stack.workdir)
    worker = services.worker(stack.env, log_dir=stack.workdir)
    beat = services.beat(stack.env, log_dir=stack.workdir)  # the sweep, as in production
    statuses: Counter = Counter()
    with services.running(web, worker, beat):
        services.wait_until(lambda: services.listening(port), timeout=30, what="granian")
        base = f"http://127.0.0.1:{port}"
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(
                pool.map(
                    lambda p: deliver(base, p, statuses=statuses, until_accepted=True), deliveries
                )
            )
        timings["delivered"] = time.monotonic() - started
        wait_for(
            lambda: (
                stack.ledger()["receipts_recorded"] == PAYMENTS
                and stack.ledger()["events"] == {"processed": len(made["events"])}
            ),
            timeout=120,
            what="every receipt sent",
            stack=stack,
            processes=(web, worker, beat),
        )
        ledger = stack.ledger()
        timings["exact"] = time.monotonic() - started
    report(
        "duplicate storm",
        sent=len(deliveries),
        events=len(made["events"]),
        statuses=dict(statuses),
        ledger=ledger,
        seconds={name: round(value, 1) for name, value in timings.items()},
    )

    assert statuses[200] == len(deliveries)
    assert ledger["payments"] == PAYMENTS
    assert ledger["gross_minor"] == expected_gross
    assert ledger["contributions_paid_twice"] == 0
    assert ledger["events"] == {"processed": len(made["events"])}
    assert ledger["mails"] == ledger["distinct_message_ids"] == PAYMENTS
