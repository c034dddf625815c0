"""Enqueue Celery tasks from a reader's request without letting a broker outage fail it.

The broker is Redis in production; while it is down, `delay()` raises (after kombu's own
retries, which would also hold the request for seconds). A reader's request must not fail for
that: the work it asked for is already committed, and each caller says what finds it later
(the webhook sweep, the receipt sweep) or what the reader can do (ask again).
"""

import logging
from typing import Any

from celery import Task
from django.db import transaction

logger = logging.getLogger(__name__)


def task_enqueue(task: Task, *args: Any) -> bool:  # type: ignore[type-arg]
    """Send `task(*args)` to the broker once, without retrying; return whether it was sent."""
    try:
        task.apply_async(args, retry=False)
    except Exception:  # the broker's client raises its own errors (redis, kombu, OSError)
        logger.warning("could not enqueue %s; broker down", task.name, exc_info=True)
        return False
    return True


def task_enqueue_on_commit(task: Task, *args: Any) -> None:  # type: ignore[type-arg]
    """Enqueue `task(*args)` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: task_enqueue(task, *args))
