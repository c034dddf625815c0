"""Celery tasks for finance: thin, safe to run twice."""

from celery import shared_task
from django.utils import timezone

from finance import services
from finance.filters import publisher_tz
from finance.rollups import rollups_compact


@shared_task(acks_late=True, soft_time_limit=3600, time_limit=3700)
def export_job_run_task(job_id: str) -> None:
    """Run one export job (a large export can take minutes, hence the longer limits)."""
    services.export_job_run(job_id=job_id)


@shared_task
def export_files_expire_task() -> int:
    return services.export_files_expire()


@shared_task(
    acks_late=True,
    autoretry_for=(ConnectionError, TimeoutError),
    retry_backoff=60,
    max_retries=5,
    soft_time_limit=1800,
    time_limit=1900,
)
def monthly_report_send_task(month: str | None = None) -> None:
    """E-mail the report of `month` (YYYY-MM-DD), by default the month that just ended."""
    import datetime as dt

    if month:
        first = dt.date.fromisoformat(month)
    else:
        first = services.previous_month(timezone.now().astimezone(publisher_tz()).date())
    services.monthly_report_send(month=first)


@shared_task
def rollups_compact_task() -> int:
    """Fold the dashboard rollups' appended changes (safe to run twice, or at once)."""
    return rollups_compact()
