"""The Celery app. Workers and beat run with `celery --app config ...`."""

import os

from celery import Celery
from celery.signals import setup_logging, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("reader_support")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()  # every installed app's tasks.py
app.autodiscover_tasks(["config"])  # config/tasks.py


@task_prerun.connect(weak=False, dispatch_uid="config-db-connection-age")
def _retire_old_db_connection(**kwargs: object) -> None:
    """With CELERY_DB_REUSE_MAX set, Celery keeps the database connection between tasks; retire it
    as Django does between requests (older than DATABASE_CONN_MAX_AGE, or failing its check)."""
    from django.db import close_old_connections

    close_old_connections()


@setup_logging.connect(weak=False, dispatch_uid="config-logging")
def _logging_from_settings(**kwargs: object) -> None:
    """Workers and beat log through the project's LOGGING (JSON lines, redacted by
    `config.logging`) instead of Celery's own format: a failed task's arguments (a sign-in link,
    an address) are redacted like everything else."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
