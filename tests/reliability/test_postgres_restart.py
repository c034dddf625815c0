"""PostgreSQL crashes and restarts while Stripe delivers events and receipts go out: Stripe may
get 5xx and retries, the ledger ends exact, no receipt goes twice."""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.reliability import services
from tests.reliability.conftest import deliver, wait_for

pytestmark = pytest.mark.reliability

PAYMENTS = 60


def test_postgres_restarted_during_deliveries_ends_exact_with_no_receipt_twice(stack, report):
    made = stack.paid(PAYMENTS)
    events = made["events"]
    expected_gross = sum(c["amount"] for c in made["contributions"])
    stack.smtp.delay = 0.03  # receipts going out, too, when the database goes down
    web, port = services.web(stack.env, log_dir=stack.workdir)
    worker = services.worker(stack.env, log_dir=stack.workdir)
    beat = services.beat(stack.env, log_dir=stack.workdir)
    statuses: Counter = Counter()
    base = f"http://127.0.0.1:{port}"
    at_crash = {}

    def crash_a_third_of_the_way() -> None:
        services.wait_until(
            lambda: sum(statuses.values()) >= len(events) // 3, timeout=60, what="deliveries"
        )
        at_crash.update(stack.ledger())
        stack.cluster.crash()
        time.sleep(2)  # down for a while: deliveries meanwhile get 5xx and are retried
        stack.cluster.start()

    with services.running(web, worker, beat):
        services.wait_until(lambda: services.listening(port), timeout=30, what="granian")
        crasher = threading.Thread(target=crash_a_third_of_the_way)
        crasher.start()
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(
                pool.map(lambda p: deliver(base, p, statuses=statuses, until_accepted=True), events)
            )
        crasher.join(timeout=90)
        wait_for(
            lambda: (
                stack.ledger()["receipts_recorded"] == PAYMENTS
                and stack.ledger()["events"] == {"processed": len(events)}
            ),
            timeout=120,
            what="every event applied and receipt sent after the restart",
            stack=stack,
            processes=(web, worker, beat),
        )
        ledger = stack.ledger()
    report(
        "PostgreSQL crashed (pg_ctl -m immediate) and restarted during deliveries",
        webhooks_sent=len(events),
        delivery_statuses=dict(statuses),
        at_crash=at_crash,
        ledger=ledger,
    )

    assert at_crash, "the database was never crashed"
    assert statuses[200] == len(events)  # each event accepted in the end (after retries)
    assert ledger["payments"] == PAYMENTS
    assert ledger["gross_minor"] == expected_gross
    assert ledger["contributions_paid_twice"] == 0
    assert ledger["mails"] == ledger["distinct_message_ids"] == PAYMENTS  # none twice
