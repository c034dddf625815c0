"""Redis (cache and broker) stopped while readers give and Stripe delivers webhooks: no reader
sees a 500, every event is stored and applied once Redis is back, every receipt goes once."""

import itertools
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.reliability import services
from tests.reliability.conftest import deliver, http, wait_for

pytestmark = pytest.mark.reliability

PAYMENTS = 40
_emails = itertools.count()


def donate(base: str, statuses: Counter) -> None:
    """What a reader's browser posts from the support page (one-off, €10)."""
    form = urllib.parse.urlencode(
        {
            "frequency": "one_off",
            "amount": "1000",
            "email": f"giver-{next(_emails)}@example.org",
            "website": "",
        }
    ).encode()
    status, _, _ = http(  # a redirect to the checkout is the answer: not followed
        "POST",
        f"{base}/support/storm/",
        follow=False,
        data=form,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    statuses[status] += 1


def test_redis_down_during_donations_and_webhooks_fails_no_reader_and_loses_no_event(stack, report):
    stack.env.update(PAYMENTS_CHECKOUT_LIMIT_PER_IP="100000")  # every reader is 127.0.0.1 here
    made = stack.paid(PAYMENTS)
    events = made["events"]
    expected_gross = sum(c["amount"] for c in made["contributions"])
    half = len(events) // 2
    web, port = services.web(stack.env, log_dir=stack.workdir)
    worker = services.worker(stack.env, log_dir=stack.workdir)
    beat = services.beat(stack.env, log_dir=stack.workdir)
    base = f"http://127.0.0.1:{port}"
    readers: dict[str, Counter] = {"up": Counter(), "down": Counter(), "back": Counter()}
    webhooks: dict[str, Counter] = {"up": Counter(), "down": Counter()}

    def phase(name: str, payloads: list[str], seconds: float) -> None:
        """Reader donations for `seconds` while the payloads are delivered once each."""
        stop = time.monotonic() + seconds

        def readers_loop() -> None:
            while time.monotonic() < stop:
                donate(base, readers[name])

        threads = [threading.Thread(target=readers_loop) for _ in range(4)]
        for thread in threads:
            thread.start()
        if payloads:
            with ThreadPoolExecutor(max_workers=4) as pool:
                list(
                    pool.map(
                        lambda p: deliver(base, p, statuses=webhooks[name], until_accepted=False),
                        payloads,
                    )
                )
        for thread in threads:
            thread.join()

    with services.running(web, worker, beat):
        services.wait_until(lambda: services.listening(port), timeout=30, what="granian")
        phase("up", events[:half], seconds=3)
        stack.redis.stop()
        phase("down", events[half:], seconds=6)
        stack.redis.start()
        phase("back", [], seconds=3)
        wait_for(
            lambda: (
                stack.ledger()["receipts_recorded"] == PAYMENTS
                and stack.ledger()["events"] == {"processed": len(events)}
            ),
            timeout=90,
            what="every event applied and receipt sent after Redis returned",
            stack=stack,
            processes=(web, worker, beat),
        )
        ledger = stack.ledger()
    report(
        "Redis stopped during donations and webhooks",
        webhooks_sent=len(events),
        webhook_statuses={k: dict(v) for k, v in webhooks.items()},
        donation_statuses={k: dict(v) for k, v in readers.items()},
        ledger=ledger,
    )

    for name, statuses in readers.items():
        assert statuses, f"no donation was tried while Redis was {name}"
        assert not [s for s in statuses if s >= 500 or s == 0], (name, statuses)
    assert sum(webhooks["down"].values()) == len(events) - half
    assert webhooks["down"][200] == len(events) - half  # stored without Redis, answered 2xx
    assert ledger["payments"] == PAYMENTS
    assert ledger["gross_minor"] == expected_gross
    assert ledger["contributions_paid_twice"] == 0
    assert ledger["mails"] == ledger["distinct_message_ids"] == PAYMENTS
