"""Redis down (cache and broker): readers giving, answering or signing in never see a 500.

The cache points at a port where nothing listens, as it is while Redis is down. Each rate
limit falls back to counting in the web process's memory (still a limit, per process).
"""

import pytest
from django.core.cache import cache

from antiabuse.ratelimit import OUTAGE_LIMITS, RateLimit
from campaigns.models import Campaign
from payments.models import Contribution, Supporter
from payments.tests.fixtures import AMOUNTS

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: refused at once


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.ReusedClientRedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    settings.CELERY_BROKER_URL = DEAD_REDIS
    OUTAGE_LIMITS.clear()
    yield
    OUTAGE_LIMITS.clear()


def test_the_cache_really_is_down(redis_down):
    with pytest.raises(Exception):  # noqa: B017 - whatever the client raises
        cache.add("probe", 1)


def test_a_rate_limit_still_limits_in_memory_while_its_store_is_down(redis_down):
    limit = RateLimit(scope="outage-test", limit=2, window_seconds=60)

    assert [limit.allow("203.0.113.7") for _ in range(3)] == [True, True, False]
    assert limit.allow("203.0.113.8")
    assert not RateLimit(scope="outage-none", limit=0, window_seconds=60).allow("x")


@pytest.mark.django_db
def test_giving_works_while_redis_is_down(redis_down, client):
    Campaign.objects.create(
        name="Keep local news open",
        slug="keep-local-news-open",
        status=Campaign.Status.LIVE,
        currency="EUR",
        amounts=AMOUNTS,
    )

    response = client.post(
        "/support/keep-local-news-open/",
        {"frequency": "one_off", "amount": "1000", "email": "giver@example.org", "website": ""},
    )

    assert response.status_code == 302, response.content[:500]
    assert Contribution.objects.filter(supporter__email="giver@example.org").count() == 1


@pytest.mark.django_db
def test_asking_for_a_sign_in_link_works_while_redis_is_down(redis_down, client):
    Supporter.objects.create(email="known@example.org", name="Known")

    response = client.post("/support/account/", {"email": "known@example.org"})

    assert response.status_code == 200
