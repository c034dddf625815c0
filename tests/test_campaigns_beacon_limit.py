"""Beacons beyond the per-address limit are refused with 429 and not counted."""

import json

import pytest

from antiabuse.ratelimit import LocalRateLimit
from campaigns.models import EventCount
from campaigns.tests.factories import CampaignFactory, VariantFactory
from campaigns.tests.fixtures import fixture_fresh_registry  # noqa: F401

pytestmark = pytest.mark.django_db


def beacon(client, count=1, address="203.0.113.7"):
    body = [
        {"campaign": "spring", "variant": "control", "placement": "banner", "event": "view"}
    ] * count
    return client.post(
        "/api/events/", data=json.dumps(body), content_type="text/plain", REMOTE_ADDR=address
    )


@pytest.fixture
def campaign(settings):
    settings.CAMPAIGN_EVENTS_STORE = "database"  # counted at once, so the test can read them
    campaign = CampaignFactory.create(slug="spring")
    VariantFactory.create(campaign=campaign, key="control")
    return campaign


def counted(campaign):
    return sum(EventCount.objects.filter(campaign=campaign).values_list("count", flat=True))


def test_events_over_the_limit_are_refused_and_not_counted(client, settings, campaign):
    settings.CAMPAIGN_BEACON_LIMIT_PER_MINUTE = 5

    assert beacon(client, count=3).status_code == 204
    assert beacon(client, count=2).status_code == 204
    refused = beacon(client)

    assert refused.status_code == 429
    assert refused["Retry-After"] == "60"
    assert "Too many events" in refused.json()["error"]
    assert counted(campaign) == 5
    # Another reader's address has its own allowance.
    assert beacon(client, address="198.51.100.2").status_code == 204
    assert counted(campaign) == 6


def test_a_limit_of_zero_counts_everything(client, settings, campaign):
    settings.CAMPAIGN_BEACON_LIMIT_PER_MINUTE = 0

    for _ in range(12):
        assert beacon(client, count=10).status_code == 204

    assert counted(campaign) == 120


def test_the_limit_starts_again_in_the_next_window(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("antiabuse.ratelimit.time.monotonic", lambda: clock[0])
    limit = LocalRateLimit(window_seconds=60)

    assert limit.allow("a", limit=2, cost=2)
    assert not limit.allow("a", limit=2)
    clock[0] += 60

    assert limit.allow("a", limit=2)


def test_the_table_never_holds_more_than_its_bound():
    limit = LocalRateLimit(window_seconds=60, max_keys=3)
    for n in range(10):
        assert limit.allow(f"reader-{n}", limit=1)

    assert len(limit._hits) <= 3
