from celery import shared_task

from campaigns import events


@shared_task(acks_late=True, soft_time_limit=120, time_limit=150)
def campaign_events_flush() -> int:
    """Move counted beacons from Redis to the database (safe to run twice, or at once)."""
    return events.events_flush()
