"""The per-request database health check (config/postgresql): no round trip on a healthy
connection, and a connection PostgreSQL ended is replaced before a reader's request uses it."""

import time

import psycopg
import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_production_uses_the_backend_with_the_cheap_check():
    assert connection.settings_dict["ENGINE"] == "config.postgresql"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"]


def _as_a_request_starts() -> None:
    """Run the checks Django runs on a kept connection as a request starts and before its first
    query (the test client leaves them out, so they are called here)."""
    connection.close_if_unusable_or_obsolete()
    connection.close_if_health_check_failed()


def test_a_connection_postgresql_ended_is_replaced_before_the_next_request():
    pid = _backend_pid()
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        deadline = time.monotonic() + 10
        while other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
            assert time.monotonic() < deadline, "the backend did not end"
            time.sleep(0.05)

    _as_a_request_starts()

    assert _backend_pid() != pid  # a new connection, and no error


def test_a_healthy_connection_is_checked_without_a_round_trip(monkeypatch):
    _backend_pid()  # the connection is open and kept
    sent: list[str] = []
    raw = connection.connection
    execute = type(raw.cursor()).execute

    def spied(cursor: object, query: object, *args: object, **kwargs: object) -> object:
        sent.append(str(query))  # then sent to PostgreSQL as usual
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(type(raw.cursor()), "execute", spied)
    _as_a_request_starts()

    assert connection.connection is raw
    assert sent == []
