"""Django's Redis cache, with one client object per connection pool instead of one per call.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` for every cache call. The
client of redis-py 8 looks up its own package version while it is built (importlib metadata,
for CLIENT SETINFO), which costs about as much as the round trip it then sends: every cache
call paid twice. A client is only a handle on its pool and is safe to share between threads,
so each pool keeps one. Forked processes (Celery's prefork) are handled by the pool itself.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}  # by id() of the pool, which lives as long as this

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own helpers, which its type stubs do not declare.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            # Two threads may both build one: the second simply replaces the first.
            client = self._client(connection_pool=pool)  # type: ignore[attr-defined]
            self._clients[id(pool)] = client
        return client


class ReusedClientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
