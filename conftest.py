"""Test infrastructure shared by every app: real services, or a skip that says why.

Tests marked `postgres`, `redis` or `browser` need that real part. On a bare machine without it
they are skipped with the reason; with TEST_REQUIRE_SERVICES=1 (set by .ci/run) a missing part
fails the test instead, so CI can never pass by silently skipping.
"""

import os
import shutil
from functools import cache

import pytest

REQUIRE_SERVICES = os.environ.get("TEST_REQUIRE_SERVICES") == "1"
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Django's PostgreSQL backend, and ours built on it (config/postgresql).
POSTGRESQL_ENGINES = ("django.db.backends.postgresql", "config.postgresql")


@cache
def missing_postgres() -> str | None:
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] not in POSTGRESQL_ENGINES:
        return "needs PostgreSQL: set DATABASE_URL to a PostgreSQL database"
    return None


@cache
def missing_redis() -> str | None:
    from django.conf import settings

    if not settings.REDIS_URL:
        return "needs Redis: set REDIS_URL"
    import redis

    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        return f"needs Redis: {settings.REDIS_URL} does not answer ({error})"
    return None


@cache
def missing_browser() -> str | None:
    if not shutil.which(CHROMIUM_PATH):
        return (
            f"needs Chromium at {CHROMIUM_PATH} (Debian package 'chromium'; or set CHROMIUM_PATH)"
        )
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "needs the playwright package (make test installs it)"
    return None


@cache
def missing_libreoffice() -> str | None:
    if not shutil.which("soffice"):
        return "needs LibreOffice (Debian package 'libreoffice-calc') to open exported files"
    return None


REQUIREMENTS = {
    "postgres": missing_postgres,
    "redis": missing_redis,
    "browser": missing_browser,
    "libreoffice": missing_libreoffice,
}


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, missing in REQUIREMENTS.items():
        if item.get_closest_marker(marker) is None:
            continue
        reason = missing()
        if reason is None:
            continue
        if REQUIRE_SERVICES:
            pytest.fail(f"TEST_REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    """Serve static files unhashed: tests do not run collectstatic, production does."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _webhook_worker_fresh():
    """Each test's webhook batches start as a fresh worker process's: not knowing whether
    events wait for Stripe (an earlier test's slow emulator must not send them side by side),
    and with no side-by-side threads (whose connections would outlive the test's database)."""
    from payments.webhooks import SIDE_BY_SIDE_THREADS, STRIPE_WAITS

    STRIPE_WAITS.forget()
    yield
    STRIPE_WAITS.forget()
    SIDE_BY_SIDE_THREADS.stop()


@pytest.fixture(autouse=True)
def _no_served_surveys():
    """Start each test with no survey copies in this process: an earlier test's survey, rolled
    back since, must not be served to this one."""
    from surveys.served import served_surveys

    served_surveys.forget()


@pytest.fixture(autouse=True)
def _no_rate_limit_counts():
    """Start each test with no rate-limit counts, whatever an earlier test or test run left.

    The counters live in the shared cache, which outlives a run (Redis, or the file cache under
    the test VAR_DIR); without this, running the suite twice within an hour meets the limits.
    Only the counters are removed from Redis, which may hold other things; the file cache is
    the tests' own.
    """
    from django.core.cache import cache

    if hasattr(cache, "_cache") and hasattr(cache._cache, "get_client"):  # Django's RedisCache
        client = cache._cache.get_client(write=True)
        for key in client.scan_iter(match=cache.make_key("ratelimit:*")):
            client.delete(key)
    else:
        cache.clear()


@pytest.fixture(autouse=True)
def _rollups_stay_exact(request):
    """After every test that used the database, the dashboard's rollups equal the ledger.

    Every ledger write the suite plays (webhooks, refunds, disputes, the Stripe backfill, the
    admin) is then also a check that the triggers keep the rollups exact (finance/rollups.py).
    Set up after the test's database, so the check runs before its rollback.
    """
    uses_database = request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db", "django_db_reset_sequences"} & set(request.fixturenames)
    )
    if not uses_database:
        yield
        return
    request.getfixturevalue("_django_db_helper")
    yield
    from django.db import connection

    from finance.rollups import rollups_drift

    if connection.vendor != "postgresql" or connection.needs_rollback:
        return  # SQLite keeps no rollups; a broken transaction was the test's own failure
    drift = rollups_drift()
    assert not drift, f"the dashboard's rollups drifted from the ledger: {drift[:10]}"
