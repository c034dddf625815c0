"""Fixtures the campaigns tests share (imported by tests/test_campaigns_*.py)."""

from collections.abc import Iterator

import pytest
from django.core.cache import cache

from campaigns import events
from campaigns.compiled import VERSION_KEY, registry
from campaigns.views import BEACON_LIMIT


@pytest.fixture(autouse=True, name="fresh_registry")
def fixture_fresh_registry() -> Iterator[None]:
    """Start each test without a compiled copy or beacon counts left by another test."""
    cache.delete(VERSION_KEY)
    registry.reset()
    BEACON_LIMIT.reset()
    yield
    registry.reset()


@pytest.fixture(name="redis_events")
def fixture_redis_events(settings) -> Iterator[object]:
    """Count beacons in a real Redis, starting from no pending counts."""
    settings.CAMPAIGN_EVENTS_STORE = "redis"
    settings.CAMPAIGN_EVENTS_BUFFER_SECONDS = 0  # tests that buffer set it themselves
    client = events.redis_client()

    def clear() -> None:
        events.buffer.drain()  # beacons an earlier test left in this process's memory
        for key in [events.current_key(), *client.scan_iter(match=events.flush_key("") + "*")]:
            client.delete(key)

    clear()
    yield client
    clear()
