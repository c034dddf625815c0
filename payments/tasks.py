"""Thin, idempotent Celery tasks: they take ids and call a service."""

from celery import shared_task
from django.conf import settings

from config.queueing import RETRY_TRANSIENT as RETRY
from payments import notices, receipts, webhooks


@shared_task(acks_late=True, ignore_result=True, max_retries=10, **RETRY)
def webhook_events_apply_pending() -> int:
    """Apply a batch of received webhook events (what the intake enqueues).

    One task for many events: Celery's own cost per task is larger than applying an event.
    """
    return webhooks.webhook_events_apply_pending(
        limit=settings.PAYMENTS_WEBHOOK_BATCH_SIZE,
        seconds=settings.PAYMENTS_WEBHOOK_BATCH_SECONDS,
    )


@shared_task(acks_late=True, ignore_result=True, max_retries=10, **RETRY)
def webhook_event_apply(event_pk: int) -> str:
    """Apply one stored webhook event; a no-op if it was applied already (e.g. by a batch)."""
    return webhooks.webhook_event_process(event_pk=event_pk)


@shared_task(ignore_result=True)
def webhook_events_sweep() -> int:
    """Apply events stored but never applied (broker down) and retry failed ones."""
    due = webhooks.webhook_events_due()
    for event_pk in due:
        webhooks.webhook_event_process(event_pk=event_pk)
    receipts.receipts_missing_enqueue()
    return len(due)


@shared_task(acks_late=True, ignore_result=True, max_retries=12, **RETRY)
def receipts_send(payment_pks: list[int]) -> None:
    """Send the receipts of a batch of payments, each once (a second run sends nothing new)."""
    receipts.receipts_send(payment_pks=payment_pks)


@shared_task(acks_late=True, ignore_result=True, max_retries=12, **RETRY)
def receipt_send(payment_pk: int) -> None:
    """Send a payment's receipt once (the send ledger makes a second run a no-op)."""
    receipts.receipt_send(payment_pk=payment_pk)


@shared_task(acks_late=True, ignore_result=True, max_retries=12, **RETRY)
def payment_failed_notice_send(payment_pk: int) -> None:
    """Tell a supporter once that a payment failed, with a link to update their card."""
    receipts.payment_failed_notice_send(payment_pk=payment_pk)


@shared_task(ignore_result=True, max_retries=8, **RETRY)
def receipt_resend(payment_pk: int) -> None:
    """Send a copy of a receipt a reader or staff asked for."""
    receipts.receipt_resend_by_id(payment_pk=payment_pk)


@shared_task(ignore_result=True, max_retries=8, **RETRY)
def sign_in_email_send(supporter_pk: int, url: str) -> None:
    """E-mail a self-service sign-in link."""
    receipts.sign_in_email_send(supporter_pk=supporter_pk, url=url)


@shared_task(acks_late=True, ignore_result=True, max_retries=12, **RETRY)
def supporter_notice_send(subscription_pk: int, kind: str, key: str = "") -> None:
    """Mail a cancellation, amount change or renewal reminder once (the ledger sees to it)."""
    notices.notice_send(subscription_pk=subscription_pk, kind=kind, key=key)


@shared_task(ignore_result=True)
def renewal_reminders_enqueue() -> int:
    """Beat, hourly: queue a reminder for each annual renewal within the reminder window."""
    return notices.renewal_reminders_enqueue()
