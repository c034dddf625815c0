"""Enqueue Celery tasks from a reader's request without letting a broker outage fail it, and
the retry policy of tasks that meet a transient outage themselves.

The broker is Redis in production; while it is down, `delay()` raises (after kombu's own
retries, which would also hold the request for seconds). A reader's request must not fail for
that: the work it asked for is already committed, and each caller says what finds it later
(the webhook sweep, the receipt sweep) or what the reader can do (ask again).
"""

import logging
from typing import Any

from celery import Task
from django.db import InterfaceError, OperationalError, transaction

logger = logging.getLogger(__name__)

# Transient failures a task retries with backoff: the mail server (OSError, smtplib's errors
# among them) or the database (a restart, a failover, a dropped connection). Anything else is a
# bug and fails loudly.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OSError, OperationalError, InterfaceError)
# Celery options for such tasks: retry soon (1, 2, 4 ... s, at most a minute apart, jittered),
# so a blip delays the work by seconds, not until the sweep.
RETRY_TRANSIENT: dict[str, Any] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "retry_jitter": True,
}


def task_enqueue(task: Task, *args: Any) -> bool:
    """Send `task(*args)` to the broker once, without retrying; return whether it was sent."""
    try:
        task.apply_async(args, retry=False)
    except Exception:  # the broker's client raises its own errors (redis, kombu, OSError)
        logger.warning("could not enqueue %s; broker down", task.name, exc_info=True)
        return False
    return True


def task_enqueue_on_commit(task: Task, *args: Any) -> None:
    """Enqueue `task(*args)` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: task_enqueue(task, *args))
