"""Operational tasks that belong to no single app."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "worker:heartbeat"


@shared_task(ignore_result=True)
def worker_heartbeat(token: str = "") -> None:
    """Record that a worker is alive and consuming; `/healthz` reports when it last did."""
    cache.set(HEARTBEAT_KEY, {"at": timezone.now().isoformat(), "token": token}, timeout=None)
