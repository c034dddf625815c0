"""The Redis cache keeps one client per connection pool: Django's builds one per call, and
building a redis-py client costs about what the round trip it sends does."""

import threading

import pytest
from django.core.cache import caches

from config.redis_cache import ReusedClientRedisCache


@pytest.fixture
def redis_cache():
    cache = caches["default"]
    assert isinstance(cache, ReusedClientRedisCache), "production's cache is this backend"
    return cache


@pytest.mark.redis
def test_every_cache_call_of_a_process_uses_one_client(redis_cache):
    # The objects themselves are kept: a freed object's id() is soon another's.
    clients = [redis_cache._cache.get_client(write=True) for _ in range(3)]
    clients += [redis_cache._cache.get_client() for _ in range(3)]  # one server: one pool
    assert all(client is clients[0] for client in clients)


@pytest.mark.redis
def test_threads_share_the_client_and_each_sees_its_own_answers(redis_cache):
    errors: list[str] = []

    def work(n: int) -> None:
        for i in range(50):
            key = f"test:reused:{n}:{i}"
            redis_cache.set(key, n * 1000 + i, timeout=30)
            if redis_cache.get(key) != n * 1000 + i:
                errors.append(key)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.redis
def test_threads_cache_backends_share_one_client_and_pool(redis_cache):
    """Django gives each thread a cache backend of its own: each built its own pool, and the
    webhook worker's threads, started for each batch, opened new connections every time."""
    seen = []

    def in_a_thread() -> None:
        backend = caches["default"]
        assert isinstance(backend, ReusedClientRedisCache)
        seen.append(backend._cache.get_client(write=True))

    thread = threading.Thread(target=in_a_thread)
    thread.start()
    thread.join()
    assert seen[0] is redis_cache._cache.get_client(write=True)
