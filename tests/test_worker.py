"""The web process enqueues, a separate worker process executes: no eager mode anywhere."""

import uuid

from django.core.cache import cache

from config.tasks import HEARTBEAT_KEY, worker_heartbeat
from tests.conftest import wait_for


def test_a_task_enqueued_here_is_executed_by_a_worker_process(celery_worker_process):
    token = uuid.uuid4().hex
    cache.delete(HEARTBEAT_KEY)

    worker_heartbeat.delay(token)

    def heartbeat_token():
        seen = cache.get(HEARTBEAT_KEY)
        return seen and seen["token"] == token

    wait_for(heartbeat_token, timeout=30, what="the worker to run the heartbeat task")
