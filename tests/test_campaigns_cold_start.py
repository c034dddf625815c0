"""A web process's first seconds: no request is answered from campaigns not compiled yet."""

import json
import threading
from urllib.parse import urlencode

import pytest

from campaigns import compiled as compiled_module
from campaigns.compiled import Registry, compile_from_database
from campaigns.tests.factories import CampaignFactory
from campaigns.tests.fixtures import fixture_fresh_registry  # noqa: F401

pytestmark = pytest.mark.django_db


def test_callers_during_the_first_compile_wait_for_it():
    """Thread A runs the first (slow) compile; thread B asks meanwhile and must get its result."""
    started, release = threading.Event(), threading.Event()
    result = compiled_module.Compiled(
        version="v1",
        campaigns=(),
        by_slug={},
        kill_all=False,
        kill_tags=frozenset(),
        compiled_at=0.0,
    )

    def slow_loader(version: str) -> compiled_module.Compiled:
        started.set()
        release.wait(5)
        return result

    registry = Registry(loader=slow_loader, version_reader=lambda: "v1")
    seen: dict[str, object] = {}
    first = threading.Thread(target=lambda: seen.setdefault("a", registry.current()))
    first.start()
    assert started.wait(5)
    second = threading.Thread(target=lambda: seen.setdefault("b", registry.current()))
    second.start()
    second.join(0.3)
    release.set()
    first.join(5)
    second.join(5)

    assert seen == {"a": result, "b": result}


def test_a_failed_first_compile_is_tried_again_by_the_next_request(settings):
    settings.CAMPAIGN_REFRESH_SECONDS = 60
    calls = []

    def flaky_loader(version: str) -> compiled_module.Compiled:
        calls.append(version)
        if len(calls) == 1:
            raise ConnectionError("database not ready")
        return compile_from_database(version)

    registry = Registry(loader=flaky_loader, version_reader=lambda: "v1")

    assert registry.current() is None
    assert registry.current() is not None
    assert len(calls) == 2


def test_with_the_cache_down_the_campaigns_still_compile_from_the_database():
    CampaignFactory.create(slug="spring")

    def cache_down() -> str:
        raise ConnectionError("redis down")

    registry = Registry(version_reader=cache_down)

    compiled = registry.current()
    assert compiled is not None and "spring" in compiled.by_slug


@pytest.fixture
def campaigns_unreadable(monkeypatch):
    def failing(version: str) -> compiled_module.Compiled:
        raise ConnectionError("database not ready")

    monkeypatch.setattr(compiled_module.registry, "_loader", failing)


def test_an_answer_built_from_no_campaigns_is_never_shared(client, campaigns_unreadable):
    query = urlencode({"placements": "banner", "section": "news"})

    response = client.get(f"/api/decision/?{query}")

    assert response.status_code == 200
    assert response.json() == {"appeals": {}}
    assert response["Cache-Control"] == "private, no-store"


def test_a_beacon_that_cannot_be_checked_is_not_refused_as_invalid(client, campaigns_unreadable):
    CampaignFactory.create(slug="spring")
    body = {"campaign": "spring", "variant": "control", "placement": "banner", "event": "view"}

    response = client.post(
        "/api/events/", data=json.dumps(body), content_type="text/plain;charset=UTF-8"
    )

    assert response.status_code == 503
    assert response["Retry-After"]
