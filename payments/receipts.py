"""Receipts and notices by e-mail, each sent once per payment through the send ledger."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from payments.models import Payment, ReceiptSend, Supporter
from payments.money import money_format

FREQUENCY_WORDS = {"one_off": "one-off", "monthly": "monthly", "annual": "annual"}


def _message(*, payment: Payment, template: str, subject: str) -> EmailMultiAlternatives:
    contribution = payment.contribution
    assert contribution is not None
    when = payment.paid_at or payment.failed_at or payment.created_at
    local = timezone.localtime(when, zoneinfo.ZoneInfo(settings.PUBLISHER_TIME_ZONE))
    context = {
        "payment": payment,
        "contribution": contribution,
        "supporter": contribution.supporter,
        "amount": money_format(payment.gross_minor, payment.currency),
        "date": local.strftime("%-d %B %Y"),
        "frequency": FREQUENCY_WORDS.get(contribution.frequency, contribution.frequency),
        "publisher": settings.PAYMENTS_PUBLISHER_NAME,
        "not_charity": settings.PAYMENTS_RECEIPT_NOT_CHARITY_TEXT,
        "manage_url": settings.SITE_URL.rstrip("/") + "/support/account/",
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"payments/email/{template}.txt", context),
        to=[contribution.supporter.email],
    )
    message.attach_alternative(
        render_to_string(f"payments/email/{template}.html", context), "text/html"
    )
    return message


def _send_once(*, payment_pk: int, kind: str, template: str, subject: str, status: str) -> bool:
    """Send one kind of message for a payment at most once; return whether it was sent now.

    The ledger row is claimed and locked in the same transaction as the send: a second run waits,
    then sees `sent_at`; a failed send rolls the claim back so the task can try again.
    """
    with transaction.atomic():
        payment = (
            Payment.objects.select_related("contribution__supporter")
            .filter(pk=payment_pk, status=status, contribution__isnull=False)
            .first()
        )
        if payment is None or payment.contribution is None:
            return False
        # Claim the ledger row (a concurrent run's insert is ignored), then wait for its lock.
        ReceiptSend.objects.bulk_create(
            [
                ReceiptSend(
                    payment=payment, kind=kind, to_email=payment.contribution.supporter.email
                )
            ],
            ignore_conflicts=True,
        )
        send = ReceiptSend.objects.select_for_update().get(payment=payment, kind=kind)
        if send.sent_at is not None:
            return False
        _message(payment=payment, template=template, subject=subject).send()
        send.sent_at = timezone.now()
        send.save(update_fields=["sent_at"])
        return True


def receipt_send(*, payment_pk: int) -> bool:
    """Send the receipt of a successful payment, once."""
    return _send_once(
        payment_pk=payment_pk,
        kind=ReceiptSend.Kind.RECEIPT,
        template="receipt",
        subject=f"Thank you for supporting {settings.PAYMENTS_PUBLISHER_NAME}: your receipt",
        status=Payment.Status.SUCCEEDED,
    )


def payment_failed_notice_send(*, payment_pk: int) -> bool:
    """Tell the supporter, once, that a payment failed and how to update their card."""
    return _send_once(
        payment_pk=payment_pk,
        kind=ReceiptSend.Kind.PAYMENT_FAILED,
        template="payment_failed",
        subject=f"Your contribution to {settings.PAYMENTS_PUBLISHER_NAME} could not be taken",
        status=Payment.Status.FAILED,
    )


def receipt_resend(*, payment: Payment) -> ReceiptSend:
    """Send a receipt again on request (reader or staff); every resend is logged."""
    assert payment.contribution is not None
    if payment.status != Payment.Status.SUCCEEDED:
        raise ValueError("Only a successful payment has a receipt.")
    email = payment.contribution.supporter.email
    _message(
        payment=payment,
        template="receipt",
        subject=f"Your receipt from {settings.PAYMENTS_PUBLISHER_NAME} (copy)",
    ).send()
    return ReceiptSend.objects.create(
        payment=payment, kind=ReceiptSend.Kind.RESEND, to_email=email, sent_at=timezone.now()
    )


def receipts_missing_enqueue() -> int:
    """Enqueue receipts for recent successful payments that have none (a lost task)."""
    from payments.tasks import receipt_send as receipt_send_task

    since = timezone.now() - timedelta(days=7)
    due = (
        Payment.objects.filter(
            status=Payment.Status.SUCCEEDED,
            paid_at__gte=since,
            paid_at__lt=timezone.now() - timedelta(minutes=5),
            contribution__isnull=False,
        )
        .exclude(receipt_sends__kind=ReceiptSend.Kind.RECEIPT, receipt_sends__sent_at__isnull=False)
        .values_list("pk", flat=True)[:500]
    )
    count = 0
    for payment_pk in due:
        receipt_send_task.delay(payment_pk)
        count += 1
    return count


def receipt_resend_by_id(*, payment_pk: int) -> None:
    payment = (
        Payment.objects.select_related("contribution__supporter")
        .filter(pk=payment_pk, status=Payment.Status.SUCCEEDED)
        .first()
    )
    if payment is not None:
        receipt_resend(payment=payment)


def sign_in_email_send(*, supporter_pk: int, url: str) -> None:
    """Send a self-service sign-in link (the link itself shows a button; see the views)."""
    supporter = Supporter.objects.filter(pk=supporter_pk).first()
    if supporter is None:
        return
    context = {
        "url": url,
        "publisher": settings.PAYMENTS_PUBLISHER_NAME,
        "minutes": settings.PAYMENTS_SIGN_IN_LINK_MINUTES,
    }
    message = EmailMultiAlternatives(
        subject=f"Your sign-in link for {settings.PAYMENTS_PUBLISHER_NAME}",
        body=render_to_string("payments/email/sign_in.txt", context),
        to=[supporter.email],
    )
    message.send()
