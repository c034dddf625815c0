"""A worker SIGKILLed in the middle of a batch of events, and again while it sends receipts,
then started again: nothing lost, nothing twice."""

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.reliability import services
from tests.reliability.conftest import deliver, wait_for

pytestmark = pytest.mark.reliability

PAYMENTS = 60


def test_a_worker_killed_mid_batch_and_mid_send_loses_nothing_and_sends_nothing_twice(
    stack, report
):
    made = stack.paid(PAYMENTS)
    events = len(made["events"])
    expected_gross = sum(c["amount"] for c in made["contributions"])
    stack.smtp.delay = 0.05  # a slow mail server: the second kill lands while receipts go out
    # Slow events too (10 ms each in the handler's transaction is what Stripe's API costs), so
    # the first kill lands inside a batch.
    web, port = services.web(stack.env, log_dir=stack.workdir)
    first = services.worker(stack.env, log_dir=stack.workdir, name="worker-1")
    second = services.worker(stack.env, log_dir=stack.workdir, name="worker-2")
    third = services.worker(stack.env, log_dir=stack.workdir, name="worker-3")
    beat = services.beat(stack.env, log_dir=stack.workdir)
    statuses: Counter = Counter()
    kills = []
    with services.running(web, beat, first, second, third):
        second.stop()  # these two are started later, by the test
        third.stop()
        services.wait_until(lambda: services.listening(port), timeout=30, what="granian")
        base = f"http://127.0.0.1:{port}"
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(
                pool.map(
                    lambda p: deliver(base, p, statuses=statuses, until_accepted=True),
                    made["events"],
                )
            )

        def mid_batch():
            done = stack.ledger()["events"].get("processed", 0)
            return 0 < done < events

        wait_for(mid_batch, timeout=60, what="a batch under way", stack=stack, processes=(first,))
        first.kill()
        kills.append(("mid-batch", stack.ledger()))

        mailed_by_the_first = stack.ledger()["mails"]
        second.popen = None
        second.start()
        wait_for(  # this worker has mailed some receipts itself, and more are due
            lambda: mailed_by_the_first < stack.ledger()["mails"] < PAYMENTS - 10,
            timeout=60,
            what="receipts going out",
            stack=stack,
            processes=(second,),
        )
        second.kill()
        kills.append(("mid-send", stack.ledger()))

        third.popen = None
        third.start()
        wait_for(
            lambda: (
                stack.ledger()["receipts_recorded"] == PAYMENTS
                and stack.ledger()["events"] == {"processed": events}
            ),
            timeout=120,
            what="every event applied and receipt sent",
            stack=stack,
            processes=(third, beat),
        )
        ledger = stack.ledger()
    report(
        "worker SIGKILL mid-batch and mid-send",
        sent=events,
        statuses=dict(statuses),
        at_kills=kills,
        ledger=ledger,
    )

    assert ledger["payments"] == PAYMENTS
    assert ledger["gross_minor"] == expected_gross
    assert ledger["contributions_paid_twice"] == 0
    assert ledger["distinct_message_ids"] == PAYMENTS
    # Nothing twice, with the one exception the order cannot rule out (a sender killed after the
    # mail server took a message, before it recorded the send: the same Message-ID again).
    assert ledger["mails_twice"] <= 1
