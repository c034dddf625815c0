"""`GET /healthz`: whether the database, the broker and the cache answer."""

import logging
from collections.abc import Callable

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.celery import app as celery_app
from config.tasks import HEARTBEAT_KEY

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2


def database_answers() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def broker_answers() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)


def cache_answers() -> None:
    cache.set("healthz", "ok", timeout=10)
    if cache.get("healthz") != "ok":
        raise RuntimeError("the cache did not return what was just written")


CHECKS: dict[str, Callable[[], None]] = {
    "database": database_answers,
    "broker": broker_answers,
    "cache": cache_answers,
}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer 200 when every part answers, 503 naming the parts that do not."""
    down = []
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:  # any failure means "down"; the log says why
            logger.exception("health check failed", extra={"part": name})
            down.append(name)
    # Informational: a worker that stopped consuming does not make the web tier unhealthy.
    heartbeat = cache.get(HEARTBEAT_KEY) if "cache" not in down else None
    worker_seen = heartbeat["at"] if heartbeat else None
    if down:
        return JsonResponse(
            {"status": "down", "down": down, "worker_seen": worker_seen}, status=503
        )
    return JsonResponse({"status": "ok", "checked": list(CHECKS), "worker_seen": worker_seen})
