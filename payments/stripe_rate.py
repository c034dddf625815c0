"""A client-side limit on the rate of Stripe API calls, shared by every process of the service.

Stripe allows about 100 read and 100 write operations per second in live mode (25 in test mode)
and answers 429 beyond that. Workers applying webhook events read Stripe from many threads in
several processes at once, so each call first reserves a slot in a schedule kept in Redis (the
generic cell rate algorithm: one key per kind holding the time the next slot is free). Calls are
spaced 1/rate apart with a small burst allowed, so no second ever sees more than the rate plus
that burst. Without Redis (the embedded demo) the schedule is kept in the process.

If Redis cannot be reached the call goes ahead unlimited (logged): a limit must not stop the
ledger, and Stripe's own 429s are retried by the library.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from functools import cache
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

# KEYS[1]: the schedule. ARGV: seconds between calls, burst allowed (seconds). Returns the seconds
# the caller waits before its slot. Redis's own clock, so every process shares one time.
_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now - burst
local nxt = tat + interval
redis.call('SET', KEYS[1], tostring(nxt), 'PX', math.ceil((nxt - now) * 1000) + 1000)
if wait < 0 then wait = 0 end
return tostring(wait)
"""


def _rate(kind: str) -> float:
    if kind == "read":
        return float(settings.STRIPE_READS_PER_SECOND)
    return float(settings.STRIPE_WRITES_PER_SECOND)


def stripe_call_wait(*, kind: str) -> float:
    """Wait for a free slot for one Stripe call of `kind` ("read" or "write"); return the
    seconds waited."""
    rate = _rate(kind)
    if rate <= 0:
        return 0.0  # no limit
    interval = 1.0 / rate
    burst = interval * settings.STRIPE_RATE_BURST
    try:
        wait = _reserve_shared(kind, interval, burst) if settings.REDIS_URL else None
    except Exception:  # Redis down or refusing: go ahead rather than stop the ledger
        logger.warning("Stripe rate limit unavailable; calling without it", exc_info=True)
        return 0.0
    if wait is None:
        wait = _LOCAL.reserve(kind, interval, burst)
    if wait > 0:
        time.sleep(wait)
    return wait


def _key(kind: str) -> str:
    # Stripe's limits are per account: installations with different keys do not share a limit.
    account = hashlib.sha256(settings.STRIPE_SECRET_KEY.encode()).hexdigest()[:12]
    prefix = settings.CACHES["default"].get("KEY_PREFIX") or "rs"
    return f"{prefix}:stripe-rate:{account}:{kind}"


@cache
def _redis_script() -> Any:
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    return client.register_script(_RESERVE)


def _reserve_shared(kind: str, interval: float, burst: float) -> float:
    return float(_redis_script()(keys=[_key(kind)], args=[repr(interval), repr(burst)]))


class _LocalSchedule:
    """The same schedule for one process, when there is no Redis."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next_free: dict[str, float] = {}

    def reserve(self, kind: str, interval: float, burst: float) -> float:
        with self.lock:
            now = time.monotonic()
            tat = max(self.next_free.get(kind, now), now)
            self.next_free[kind] = tat + interval
            return max(tat - now - burst, 0.0)


_LOCAL = _LocalSchedule()

_spent = threading.local()


def stripe_seconds_spent() -> float:
    """Return the seconds this thread has spent in Stripe API calls so far (waits for the rate
    limit included): how a worker tells events that wait for Stripe from those that do not."""
    return float(getattr(_spent, "seconds", 0.0))


def stripe_seconds_add(seconds: float) -> None:
    _spent.seconds = stripe_seconds_spent() + seconds
