"""Fixed-window rate limits counted in the shared cache (Redis in production)."""

import hashlib
import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` hits per `window_seconds` for each key within `scope`."""

    scope: str
    limit: int
    window_seconds: int

    def allow(self, key: str) -> bool:
        """Count a hit for `key` and return whether it is within the limit."""
        window = int(time.time()) // self.window_seconds
        cache_key = f"ratelimit:{self.scope}:{_digest(key)}:{window}"
        # add() is atomic: only the first hit of a window creates the counter with its expiry.
        if cache.add(cache_key, 1, timeout=self.window_seconds + 1):
            return self.limit >= 1
        try:
            hits = cache.incr(cache_key)
        except ValueError:  # the window expired between add() and incr()
            cache.add(cache_key, 1, timeout=self.window_seconds + 1)
            hits = 1
        return hits <= self.limit


def _digest(key: str) -> str:
    """Hash the key so that addresses and e-mails never reach the cache in clear."""
    return hashlib.blake2b(key.strip().lower().encode(), digest_size=16).hexdigest()
