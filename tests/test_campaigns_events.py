"""Beacons counted in Redis without a database write, flushed exactly once."""

import json
import threading

import pytest

from campaigns import events
from campaigns.models import EventCount, EventFlush
from campaigns.tasks import campaign_events_flush
from campaigns.tests.factories import CampaignFactory, VariantFactory
from campaigns.tests.fixtures import fixture_fresh_registry, fixture_redis_events  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.redis]


def send(client, campaign="spring", variant="control", event="view", placement="banner"):
    body = {"campaign": campaign, "variant": variant, "placement": placement, "event": event}
    response = client.post("/api/events/", data=json.dumps(body), content_type="text/plain")
    assert response.status_code == 204


def totals(campaign):
    rows = EventCount.objects.filter(campaign=campaign).values_list("variant_key", "kind", "count")
    return {(v, k): n for v, k, n in rows}


@pytest.fixture
def campaign():
    campaign = CampaignFactory.create(slug="spring")
    VariantFactory.create(campaign=campaign, key="control")
    VariantFactory.create(campaign=campaign, key="b")
    return campaign


def test_intake_writes_nothing_to_the_database(
    client, redis_events, campaign, django_assert_num_queries
):
    send(client)  # the first request compiles the campaigns
    with django_assert_num_queries(0):
        for _ in range(20):
            send(client)
            send(client, variant="b", event="click")

    assert events.pending_total() == 41
    assert not EventCount.objects.exists()


def test_flush_moves_the_counts_and_a_second_flush_adds_nothing(client, redis_events, campaign):
    for _ in range(5):
        send(client)
    send(client, variant="b", event="dismiss")

    assert campaign_events_flush() == 6
    assert campaign_events_flush() == 0

    assert totals(campaign) == {("control", "view"): 5, ("b", "dismiss"): 1}
    assert events.pending_total() == 0

    send(client)
    assert campaign_events_flush() == 1
    assert totals(campaign)[("control", "view")] == 6


def test_a_batch_applied_but_not_deleted_is_never_counted_twice(client, redis_events, campaign):
    for _ in range(3):
        send(client)
    # A flush that committed, then died before deleting its renamed key:
    redis_events.rename(events.current_key(), events.flush_key("crashed"))
    raw = redis_events.hgetall(events.flush_key("crashed"))
    assert events._batch_apply("crashed", raw) == 3
    assert redis_events.exists(events.flush_key("crashed"))

    send(client)
    assert campaign_events_flush() == 1

    assert totals(campaign) == {("control", "view"): 4}
    assert not redis_events.exists(events.flush_key("crashed"))
    assert EventFlush.objects.count() == 2


def test_a_batch_renamed_but_not_applied_is_finished_by_the_next_flush(
    client, redis_events, campaign
):
    for _ in range(2):
        send(client)
    redis_events.rename(events.current_key(), events.flush_key("died-before-commit"))

    assert campaign_events_flush() == 2
    assert totals(campaign) == {("control", "view"): 2}


def test_counts_of_a_deleted_campaign_are_dropped_not_stuck(client, redis_events, campaign):
    send(client)
    other = CampaignFactory.create(slug="gone")
    events.event_record(bucket=(other.pk, "control", "banner", "view", events.date.today()))
    other.delete()

    assert campaign_events_flush() == 2
    assert totals(campaign) == {("control", "view"): 1}
    assert events.pending_total() == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_flushes_never_double_count(redis_events):
    campaign = CampaignFactory.create(slug="spring")
    sent = 0
    errors: list[Exception] = []
    for _round in range(5):
        for i in range(40):
            kind = ("view", "click", "dismiss")[i % 3]
            events.event_record(
                bucket=(campaign.pk, "control", "banner", kind, events.date.today())
            )
            sent += 1

        def flush():
            from django.db import connection

            try:
                campaign_events_flush()
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=flush) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors

    assert sum(totals(campaign).values()) == sent


def test_buffered_beacons_reach_redis_within_the_interval(client, settings, redis_events, campaign):
    from tests.conftest import wait_for

    settings.CAMPAIGN_EVENTS_BUFFER_SECONDS = 0.2
    for _ in range(30):
        send(client)

    wait_for(lambda: events.pending_total() == 30, timeout=5, what="the sender thread")
    assert campaign_events_flush() == 30
    assert totals(campaign) == {("control", "view"): 30}


def test_buffered_beacons_wait_in_memory_while_redis_is_down(settings, redis_events, campaign):
    settings.CAMPAIGN_EVENTS_BUFFER_SECONDS = 30
    bucket = (campaign.pk, "control", "banner", "click", events.date.today())
    real_url = settings.REDIS_URL
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    events.redis_client.cache_clear()
    try:
        for _ in range(3):
            events.event_record(bucket=bucket)
        events.buffer.drain()
        assert events.buffer.pending() == 3
    finally:
        settings.REDIS_URL = real_url
        events.redis_client.cache_clear()

    events.buffer.drain()

    assert events.buffer.pending() == 0
    assert events.pending_total() == 3
