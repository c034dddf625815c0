"""A client-side limit on the rate of Stripe API calls, shared by every process of the service.

Stripe allows about 100 read and 100 write operations per second in live mode (25 in test mode)
and answers 429 beyond that. Workers applying webhook events read Stripe from many threads in
several processes at once, so each call first reserves a slot in a schedule kept in Redis. Two
rules give each slot its time:

- spacing: slots are 1/rate apart, with a few allowed back to back (STRIPE_RATE_BURST), so calls
  reach Stripe evenly rather than in clumps (the generic cell rate algorithm);
- budget: no one-second window [t, t + 1) ever holds more than `rate` slots (rounded down), burst
  included. Spacing alone lets a burst ride on a full second of spaced calls (90 a second plus
  a burst of 5 gave 96); the schedule keeps the times of the last `rate` slots, and a new slot
  is never less than one second after the oldest of them.

Slots are handed out in time order, so checking the newest window is enough. A caller that
wakes well after its slot (a busy host) takes a new one rather than send late, bunched with the
calls after it. Without Redis (the embedded demo) the same schedule is kept in the process.

If Redis cannot be reached the call goes ahead unlimited (logged): a limit must not stop the
ledger, and Stripe's own 429s are retried by the library.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 1.0  # Stripe counts its limits per second

# KEYS[1]: the time the next spaced slot is free; KEYS[2]: the times of the last `budget` slots,
# oldest first. ARGV: seconds between slots, burst allowed (seconds), budget per window, window
# (seconds). Returns the slot's time and the seconds the caller waits for it, on Redis's own
# clock, so every process shares one time.
_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local budget = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local at = tat - burst
if at < now then at = now end
if redis.call('LLEN', KEYS[2]) >= budget then
  local oldest = tonumber(redis.call('LINDEX', KEYS[2], -budget))
  if oldest + window > at then at = oldest + window end
end
local nxt = math.max(tat, at) + interval
local keep = math.ceil((math.max(nxt, at + window) - now) * 1000) + 1000
local stamp = string.format('%.6f', at)
redis.call('SET', KEYS[1], string.format('%.6f', nxt), 'PX', keep)
redis.call('RPUSH', KEYS[2], stamp)
redis.call('LTRIM', KEYS[2], -budget, -1)
redis.call('PEXPIRE', KEYS[2], keep)
return {stamp, string.format('%.6f', at - now)}
"""


@dataclass(frozen=True)
class Slot:
    """A reserved call: when it may go (on the schedule's clock) and how long that is from now."""

    at: float
    wait: float


@dataclass(frozen=True)
class _Limit:
    interval: float  # seconds between spaced slots
    burst: float  # seconds of slots allowed back to back
    budget: int  # slots in any one-second window


def _limit(kind: str) -> _Limit | None:
    rate = float(
        settings.STRIPE_READS_PER_SECOND if kind == "read" else settings.STRIPE_WRITES_PER_SECOND
    )
    if rate <= 0:
        return None  # no limit
    interval = 1.0 / rate
    budget = max(1, math.floor(rate * WINDOW_SECONDS))
    return _Limit(interval=interval, burst=interval * settings.STRIPE_RATE_BURST, budget=budget)


def stripe_call_reserve(*, kind: str) -> Slot | None:
    """Reserve the next slot for one Stripe call of `kind` ("read" or "write") without waiting
    for it; None when there is no limit (or Redis failed and the call goes ahead)."""
    limit = _limit(kind)
    if limit is None:
        return None
    try:
        if settings.REDIS_URL:
            return _reserve_shared(kind, limit)
    except Exception:  # Redis down or refusing: go ahead rather than stop the ledger
        logger.warning("Stripe rate limit unavailable; calling without it", exc_info=True)
        return None
    return _LOCAL.reserve(kind, limit)


# A call that wakes this much after its slot (a busy host's scheduling) takes a new slot: sent
# late, it would reach Stripe in the same second as the calls of the slots after its own.
LATE_SECONDS = 0.05
LATE_RETRIES = 3  # then it goes anyway: a limit must not stop the ledger


def stripe_call_wait(*, kind: str) -> float:
    """Wait for a free slot for one Stripe call of `kind`; return the seconds waited."""
    started = time.monotonic()
    for _ in range(1 + LATE_RETRIES):
        slot = stripe_call_reserve(kind=kind)
        if slot is None:
            break
        due = time.monotonic() + slot.wait
        if slot.wait > 0:
            time.sleep(slot.wait)
        if time.monotonic() - due <= LATE_SECONDS:
            break
        logger.info("woke late for a Stripe call's slot; taking another", extra={"kind": kind})
    return time.monotonic() - started


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


def _reserve_shared(kind: str, limit: _Limit) -> Slot:
    key = _key(kind)
    at, wait = _redis_script()(
        keys=[key, f"{key}:window"],
        args=[repr(limit.interval), repr(limit.burst), limit.budget, repr(WINDOW_SECONDS)],
    )
    return Slot(at=float(at), wait=max(float(wait), 0.0))


class _LocalSchedule:
    """The same schedule for one process, when there is no Redis."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next_free: dict[str, float] = {}
        self.recent: dict[str, deque[float]] = {}

    def reserve(self, kind: str, limit: _Limit) -> Slot:
        with self.lock:
            now = time.monotonic()
            tat = max(self.next_free.get(kind, now), now)
            at = max(tat - limit.burst, now)
            recent = self.recent.get(kind)
            if recent is None or recent.maxlen != limit.budget:
                recent = self.recent[kind] = deque(recent or (), maxlen=limit.budget)
            if len(recent) == limit.budget:
                at = max(at, recent[0] + WINDOW_SECONDS)
            recent.append(at)
            self.next_free[kind] = max(tat, at) + limit.interval
            return Slot(at=at, wait=at - now)


_LOCAL = _LocalSchedule()

_spent = threading.local()


def stripe_seconds_spent() -> float:
    """Return the seconds this thread has spent in Stripe API calls so far (waits for the rate
    limit included): how a worker tells events that wait for Stripe from those that do not."""
    return float(getattr(_spent, "seconds", 0.0))


def stripe_seconds_add(seconds: float) -> None:
    _spent.seconds = stripe_seconds_spent() + seconds
