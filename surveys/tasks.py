"""Thin, idempotent tasks: they take ids and call a service."""

import logging
from collections.abc import Callable
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from config.queueing import RETRY_TRANSIENT
from surveys.models import PrizeDraw
from surveys.services import draws as draw_services
from surveys.services.entries import (
    entry_confirmation_mail_send,
    entry_duplicate_notice_mail_send,
    placement_notification_mail_send,
)
from surveys.services.personal_data import draw_personal_data_erase, draws_due_erasure
from surveys.services.surveys import drafts_abandoned_delete

logger = logging.getLogger(__name__)


@shared_task(max_retries=12, acks_late=True, **RETRY_TRANSIENT)
def entry_confirmation_send(entry_id: int) -> None:
    entry_confirmation_mail_send(entry_id=entry_id)


@shared_task(max_retries=12, acks_late=True, **RETRY_TRANSIENT)
def entry_duplicate_notice_send(entry_id: int) -> None:
    entry_duplicate_notice_mail_send(entry_id=entry_id)


@shared_task(max_retries=12, acks_late=True, **RETRY_TRANSIENT)
def placement_notification_send(placement_id: int) -> None:
    placement_notification_mail_send(placement_id=placement_id)


@shared_task(max_retries=12, acks_late=True, **RETRY_TRANSIENT)
def placement_reminder_send(placement_id: int) -> None:
    placement_notification_mail_send(placement_id=placement_id, reminder=True)


@shared_task(acks_late=True)
def draws_advance() -> None:
    """Move every draw along: open, close, run, expire unclaimed prizes, remind winners."""
    now = timezone.now()
    steps: list[tuple[str, dict[str, object], Callable[..., object]]] = [
        (PrizeDraw.Status.DRAFT, {"opens_at__lte": now}, draw_services.draw_open),
        (PrizeDraw.Status.OPEN, {"closes_at__lte": now}, draw_services.draw_close),
        (PrizeDraw.Status.CLOSED, {}, draw_services.draw_run),
        (PrizeDraw.Status.DRAWN, {}, draw_services.draw_claims_expire),
    ]
    for status, filters, step in steps:
        for draw_id in PrizeDraw.objects.filter(status=status, **filters).values_list(
            "pk", flat=True
        ):
            try:
                step(draw_id=draw_id)
            except draw_services.DrawError as error:
                # Another process moved it first, or it is not ready (e.g. no prizes): next round.
                logger.info("draw %s not advanced: %s", draw_id, error)
    remind_before = timedelta(days=settings.SURVEYS_CLAIM_REMINDER_DAYS)
    for placement_id in draw_services.placements_due_reminder(now=now, remind_before=remind_before):
        placement_reminder_send.delay(placement_id)


@shared_task(acks_late=True)
def draws_retention_erase() -> None:
    """Erase entrants' personal data once a complete draw's retention period has passed, and
    drop survey drafts readers abandoned."""
    for draw_id in draws_due_erasure():
        draw_personal_data_erase(draw_id=draw_id)
    drafts_abandoned_delete(older_than=timedelta(days=settings.SURVEYS_DRAFT_DAYS))
