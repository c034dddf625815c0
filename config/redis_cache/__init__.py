"""Django's Redis cache, with one client object per process and server instead of one per call.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` for every cache call, and each
thread's cache backend (Django keeps one per thread) builds its own connection pool. The client
of redis-py 8 looks up its own package version while it is built (importlib metadata, for CLIENT
SETINFO), and so does every new connection: every cache call paid about as much again as its
round trip, and each new thread (the webhook worker starts a set per batch) opened connections
of its own. A client is only a handle on its pool, and both are safe to share between threads,
so the process keeps one of each per server and options. Forked processes (Celery's prefork)
are handled by the pool itself, which starts afresh in a child.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient

_clients: dict[tuple[str, str], Any] = {}
_clients_lock = threading.Lock()


class ReusedClientRedisCacheClient(RedisCacheClient):
    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        # Django's own attributes and helpers, which its type stubs do not declare.
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]
        server = self._servers[index]  # type: ignore[attr-defined]
        options = self._pool_options  # type: ignore[attr-defined]
        shared = (server, repr(sorted(options.items())))
        client = _clients.get(shared)
        if client is None:
            with _clients_lock:
                client = _clients.get(shared)
                if client is None:
                    pool = self._pool_class.from_url(server, **options)  # type: ignore[attr-defined]
                    client = _clients[shared] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class ReusedClientRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
