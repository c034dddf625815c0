"""A web process's first seconds under beacon and decision load: no valid beacon is refused and
no empty answer is handed to caches."""

import json
import threading
import time
import urllib.parse
from collections import Counter

import pytest

from tests.reliability import services
from tests.reliability.conftest import http

pytestmark = pytest.mark.reliability

BEACON = json.dumps(
    {"campaign": "storm", "variant": "control", "placement": "banner", "event": "view"}
).encode()
DECISION = "/api/decision/?" + urllib.parse.urlencode({"placements": "banner", "section": "news"})


def test_a_cold_web_start_under_load_refuses_no_beacon_and_shares_no_empty_answer(stack, report):
    stack.env.update(CAMPAIGN_BEACON_LIMIT_PER_MINUTE="0")  # every reader is 127.0.0.1 here
    # The template holds a live campaign, "storm", with its control variant.
    web, port = services.web(stack.env, log_dir=stack.workdir)
    base = f"http://127.0.0.1:{port}"
    beacons: Counter = Counter()
    decisions: Counter = Counter()
    shared_empty: list[str] = []
    first_answer: list[float] = []
    lock = threading.Lock()

    def load() -> None:
        """Fire as soon as the port takes connections, until 3 s after the first answer."""
        while not first_answer or time.monotonic() < first_answer[0] + 3:
            status, _, _ = http(
                "POST",
                base + "/api/events/",
                data=BEACON,
                headers={"Content-Type": "text/plain;charset=UTF-8"},
                timeout=10,
            )
            answer, headers, body = http("GET", base + DECISION, timeout=10)
            with lock:
                if status or answer:
                    first_answer[:] = first_answer or [time.monotonic()]
                if status:
                    beacons[status] += 1
                if answer:
                    decisions[answer] += 1
                    cache_control = headers.get("Cache-Control", "")
                    if json.loads(body or b"{}").get("appeals") == {} and "public" in cache_control:
                        shared_empty.append(cache_control)
            if not (status or answer):
                time.sleep(0.02)  # not listening yet

    threads = [threading.Thread(target=load) for _ in range(12)]
    with services.running(web):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    report(
        "cold web start under beacon and decision load",
        beacons=dict(beacons),
        decisions=dict(decisions),
        shared_empty_answers=len(shared_empty),
    )

    assert beacons and decisions
    assert set(beacons) == {204}, beacons  # never 400 "no running campaign has this name"
    assert set(decisions) == {200}, decisions
    assert shared_empty == []
