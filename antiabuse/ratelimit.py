"""Fixed-window rate limits: counted in the shared cache (Redis in production), or in memory."""

import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.utils.connection import ConnectionProxy

from antiabuse.email_address import email_normalise

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` hits per `window_seconds` for each key within `scope`."""

    scope: str
    limit: int
    window_seconds: int

    def allow(self, key: str) -> bool:
        """Count a hit for `key` and return whether it is within the limit.

        While the shared cache does not answer, the hit is counted in this process's memory
        instead (`OUTAGE_LIMITS`): the limit then holds per process rather than across them,
        which keeps a reader giving, answering a survey or signing in, and still stops one
        client from hammering a form. A store outage never turns into an error for the reader.
        """
        try:
            return self._allow_shared(key)
        except Exception:  # the cache's client raises its own errors (redis.ConnectionError, ...)
            logger.warning("rate limit store down; counting in this process", exc_info=True)
            if self.limit < 1:
                return False
            local = _outage_limit(self.scope, self.window_seconds)
            return local.allow(_digest(key), limit=self.limit)

    def _allow_shared(self, key: str) -> bool:
        window = int(time.time()) // self.window_seconds
        cache_key = f"ratelimit:{self.scope}:{_digest(key)}:{window}"
        redis_client = _redis_client_of(cache)
        if redis_client is not None:
            # One round trip: count and, on the window's first hit, set the expiry.
            hits = int(
                redis_client.eval(
                    _COUNT_IN_WINDOW,
                    1,
                    cache.make_and_validate_key(cache_key),
                    self.window_seconds + 1,
                )
            )
            return hits <= self.limit
        # add() is atomic: only the first hit of a window creates the counter with its expiry.
        if cache.add(cache_key, 1, timeout=self.window_seconds + 1):
            return self.limit >= 1
        try:
            hits = cache.incr(cache_key)
        except ValueError:  # the window expired between add() and incr()
            cache.add(cache_key, 1, timeout=self.window_seconds + 1)
            hits = 1
        return hits <= self.limit


# INCR, and EXPIRE on the first hit, as one script: Redis runs it atomically, in one round trip
# (add() then incr() through the cache took two from the second hit of a window on). The counter
# is a plain integer, as Django's Redis cache stores integers, so cache.get() reads it too.
_COUNT_IN_WINDOW = """
local hits = redis.call('INCR', KEYS[1])
if hits == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return hits
"""


def _redis_client_of(store: object) -> Any:
    """Return the Redis client behind Django's Redis cache, or None for any other cache.

    The project's backend (`config.redis_cache`) keeps one client per pool, so this is cheap.
    """
    backend = caches[DEFAULT_CACHE_ALIAS] if isinstance(store, ConnectionProxy) else store
    if not isinstance(backend, RedisCache):
        return None
    return backend._cache.get_client(write=True)


def _digest(key: str) -> str:
    """Hash the key so that addresses and e-mails never reach the cache in clear."""
    return hashlib.blake2b(key.strip().lower().encode(), digest_size=16).hexdigest()


class LocalRateLimit:
    """At most `limit` hits per `window_seconds` for each key, counted in this process's memory.

    For endpoints too hot for a cache round trip per request, such as the campaign beacons. Each
    web process enforces the limit on its own, so a client whose requests are spread over N
    processes may reach N times the limit: this stops one client from inflating counts by orders
    of magnitude, not by a few percent. Memory is bounded: the table is emptied when a window
    ends, or early if it holds `max_keys` clients.
    """

    def __init__(self, *, window_seconds: int, max_keys: int = 100_000) -> None:
        self.window_seconds = window_seconds
        self.max_keys = max_keys
        self._hits: dict[str, int] = {}
        self._window = -1
        self._lock = threading.Lock()

    def allow(self, key: str, *, limit: int, cost: int = 1) -> bool:
        """Count `cost` hits for `key` and return whether it is within `limit` (0: no limit)."""
        if limit <= 0:
            return True
        window = int(time.monotonic()) // self.window_seconds
        with self._lock:
            if window != self._window or len(self._hits) >= self.max_keys:
                self._hits.clear()
                self._window = window
            hits = self._hits.get(key, 0) + cost
            self._hits[key] = hits
        return hits <= limit

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


@dataclass(frozen=True)
class EmailRateLimit(RateLimit):
    """A `RateLimit` per e-mail address, counted on the normalised address (see
    `antiabuse.email_address`), so tag and case variants of one mailbox share one count."""

    def allow(self, key: str) -> bool:
        return super().allow(email_normalise(key))


# One in-memory table per limit scope, used only while the shared cache is down.
OUTAGE_LIMITS: dict[str, LocalRateLimit] = {}
_outage_lock = threading.Lock()


def _outage_limit(scope: str, window_seconds: int) -> LocalRateLimit:
    with _outage_lock:
        limit = OUTAGE_LIMITS.get(scope)
        if limit is None:
            limit = OUTAGE_LIMITS[scope] = LocalRateLimit(window_seconds=window_seconds)
        return limit
