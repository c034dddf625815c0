"""Receipts and notices by e-mail, each sent once per payment through the send ledger."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from branding.brand import brand_get
from branding.mail import mail_compose, site_link
from config.mail_once import RowSendSlot, claim_must_commit, mail_send_claimed, message_id
from payments.hot_rows import db_time
from payments.models import Payment, ReceiptSend, Supporter
from payments.money import money_format

FREQUENCY_WORDS = {"one_off": "one-off", "monthly": "monthly", "annual": "annual"}

# A receipt thanks a reader for a payment just made. A payment found later than this (its task
# lost, or its webhook missed and the payment backfilled) gets none unasked: a "thank you" weeks
# after the fact surprises more than it helps, and staff can still send one (a resend).
RECEIPT_LATE_LIMIT = timedelta(days=7)


# Payments whose receipts are due, collected by `receipts_batched` (None outside such a block).
_receipts_due: ContextVar[list[int] | None] = ContextVar("receipts_due", default=None)


def receipt_enqueue(*, payment_pk: int) -> None:
    """Ask a worker to send a payment's receipt (call it after the payment's commit).

    Inside `receipts_batched` the payment joins the block's single task instead.
    """
    due = _receipts_due.get()
    if due is not None:
        due.append(payment_pk)  # one step under the GIL: threads may share the list
        return
    from payments.tasks import receipt_send as receipt_send_task

    receipt_send_task.delay(payment_pk)


@contextmanager
def receipts_batched(*, paid_since: datetime | None = None) -> Iterator[None]:
    """Enqueue the receipts due after the commits inside the block as one task, at its end.

    Threads started inside the block in a copy of its context (`contextvars.copy_context`)
    share it. Even when the block fails, the payments committed before the failure get their
    receipts. If the broker is down, the sweep's `receipts_missing_enqueue` finds them later.
    With `paid_since`, only the payments paid since then get theirs.
    """
    due: list[int] = []
    token = _receipts_due.set(due)
    try:
        yield
    finally:
        _receipts_due.reset(token)
        if due and paid_since is not None:
            recent = Payment.objects.filter(pk__in=due, paid_at__gte=paid_since)
            due = list(recent.values_list("pk", flat=True))
        if due:
            from payments.tasks import receipts_send

            receipts_send.delay(due)


def _message(
    *,
    payment: Payment,
    template: str,
    subject: str,
    mail_connection: BaseEmailBackend | None = None,
) -> EmailMultiAlternatives:
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
        "not_charity": settings.PAYMENTS_RECEIPT_NOT_CHARITY_TEXT,
        "manage_url": site_link(reverse("payments:account")),
    }
    return mail_compose(
        template=f"payments/email/{template}",
        subject=subject,
        to=[contribution.supporter.email],
        context=context,
        connection=mail_connection,
    )


class MessagesNotSent(OSError):
    """Some messages of a batch could not be handed to the mail server (the cause is chained)."""


# What the messages show, and nothing else: a receipt batch reads many of these rows at once.
MESSAGE_FIELDS = (
    "status",
    "gross_minor",
    "currency",
    "paid_at",
    "failed_at",
    "created_at",
    "failure_message",
    "contribution",
    "contribution__frequency",
    "contribution__supporter",
    "contribution__supporter__name",
    "contribution__supporter__email",
)


def _payments_for_messages(payment_pks: list[int], status: str) -> list[Payment]:
    """Read the payments still in `status`, with what their messages show, in one query.

    Read before each send's transaction: a payment never leaves SUCCEEDED, and a failure notice
    that races with a late success is harmless (the card did fail that time).
    """
    payments = (
        Payment.objects.select_related("contribution__supporter")
        .only(*MESSAGE_FIELDS)
        .filter(pk__in=payment_pks, status=status, contribution__isnull=False)
        .in_bulk()
    )
    return [payments[pk] for pk in dict.fromkeys(payment_pks) if pk in payments]


# The send ledger's rows for a batch's payments and one kind, each created claimed, or claimed if
# it exists and is free (never sent, and any claim expired): one statement, committed on its
# own, for the whole batch, where a claim per mail took a commit each. A row sent, or claimed by
# another run, is left as it is, and does not come back. The conflict target names the partial
# unique index (resends may repeat).
_SLOTS_CLAIM = """
INSERT INTO payments_receiptsend (payment_id, kind, to_email, sent_at, claimed_at, created_at)
VALUES {rows}
ON CONFLICT (payment_id, kind) WHERE NOT (kind = 'resend')
DO UPDATE SET claimed_at = excluded.claimed_at
WHERE payments_receiptsend.sent_at IS NULL
  AND (payments_receiptsend.claimed_at IS NULL OR payments_receiptsend.claimed_at < %s)
RETURNING payment_id, id
"""


# Claims taken in one statement: a crash leaves at most these waiting for their claims to expire.
CLAIMS_AT_ONCE = 100


def _send_slots_claim(*, payments: list[Payment], kind: str) -> tuple[dict[int, int], datetime]:
    """Claim the send ledger's rows of these payments for `kind` (see `_SLOTS_CLAIM`); return
    the row claimed for each payment that was neither sent nor held by another run, and the
    claims' time for `mail_send_claimed`."""
    claim_must_commit()  # one statement, committed on its own (autocommit)
    now = timezone.now()
    if not payments:
        return {}, now
    at, expired = db_time(now), db_time(now - timedelta(seconds=settings.MAIL_CLAIM_SECONDS))
    params: list[Any] = []
    for payment in payments:
        assert payment.contribution is not None  # filtered in the query
        params += [payment.pk, kind, payment.contribution.supporter.email, at, at]
    rows = ", ".join(["(%s, %s, %s, NULL, %s, %s)"] * len(payments))
    with connection.cursor() as cursor:
        cursor.execute(_SLOTS_CLAIM.format(rows=rows), [*params, expired])
        claimed = dict(cursor.fetchall())
    return claimed, now


def _claim_fresh(claimed_at: datetime) -> bool:
    """Whether a claim is young enough to send under: one past half its life is left to expire
    (the sweep sends it then). A batch slowed down by the mail server must not send a mail whose
    claim another run may take meanwhile, and send it again."""
    age = timezone.now() - claimed_at
    return age < timedelta(seconds=settings.MAIL_CLAIM_SECONDS / 2)


def _send_once(
    *, payment_pks: list[int], kind: str, template: str, subject: str, status: str
) -> int:
    """Send one kind of message for each payment at most once; return how many were sent now.

    The batch's sends are claimed in one statement, then each is sent and recorded in the
    crash-safe order of `config.mail_once`, with a Message-ID derived from the payment and kind.
    The batch shares one connection to the mail server (one SMTP session, not one per message);
    after a failure the next message opens a new one. Must run outside a transaction: the
    claims commit before the sends.
    """
    sent, failures = 0, []
    mail_connection = get_connection()
    payments = _payments_for_messages(payment_pks, status)
    for start in range(0, len(payments), CLAIMS_AT_ONCE):
        batch = payments[start : start + CLAIMS_AT_ONCE]
        claimed, claimed_at = _send_slots_claim(payments=batch, kind=kind)
        for payment in batch:
            if payment.pk not in claimed:
                continue  # sent already, or another run is sending it
            if not _claim_fresh(claimed_at):
                break  # the rest go when their claims expire
            message = _message(
                payment=payment, template=template, subject=subject, mail_connection=mail_connection
            )
            message.extra_headers["Message-ID"] = message_id(kind=kind, key=payment.pk)

            def send(message: EmailMultiAlternatives = message) -> None:
                mail_connection.open()  # a no-op while the session is open
                message.send()

            slot = RowSendSlot(
                model=ReceiptSend,
                pk=claimed[payment.pk],
                claimed_field="claimed_at",
                sent_field="sent_at",
            )
            try:
                mail_send_claimed(slot=slot, claimed_at=claimed_at, send=send)
                sent += 1
            except OSError as error:  # the mail server: go on with the others, then report it
                failures.append(error)
                with suppress(OSError):  # the session is broken anyway
                    mail_connection.close()
    with suppress(OSError):  # every message was handed over: a failed goodbye is no harm
        mail_connection.close()
    if failures:
        raise MessagesNotSent(f"{len(failures)} of {len(payment_pks)} not sent") from failures[0]
    return sent


def receipts_send(*, payment_pks: list[int]) -> int:
    """Send the receipts of successful payments, each once; return how many were sent now.

    If the mail server refuses some, the others are still sent and `MessagesNotSent` (an
    OSError) is raised at the end: a retry sends only what was not sent.
    """
    return _send_once(
        payment_pks=payment_pks,
        kind=ReceiptSend.Kind.RECEIPT,
        template="receipt",
        subject=f"Thank you for supporting {settings.PAYMENTS_PUBLISHER_NAME}: your receipt",
        status=Payment.Status.SUCCEEDED,
    )


def receipt_send(*, payment_pk: int) -> bool:
    """Send the receipt of a successful payment, once; return whether it was sent now."""
    return receipts_send(payment_pks=[payment_pk]) == 1


def payment_failed_notice_send(*, payment_pk: int) -> bool:
    """Tell the supporter, once, that a payment failed and how to update their card."""
    sent = _send_once(
        payment_pks=[payment_pk],
        kind=ReceiptSend.Kind.PAYMENT_FAILED,
        template="payment_failed",
        subject=f"Your contribution to {settings.PAYMENTS_PUBLISHER_NAME} could not be taken",
        status=Payment.Status.FAILED,
    )
    return sent == 1


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


RECEIPT_SWEEP_TASK_SIZE = 100  # receipts per task the sweep queues (one SMTP session each)


def receipts_missing_enqueue(*, now: datetime | None = None) -> int:
    """Enqueue receipts still unsent for recent successful payments (a lost task, a worker
    killed mid-send); return how many.

    Payments paid more than `PAYMENTS_RECEIPT_SWEEP_AFTER_SECONDS` ago qualify, at most
    `PAYMENTS_RECEIPT_SWEEP_BATCH` per sweep, in tasks of `RECEIPT_SWEEP_TASK_SIZE`. A send that
    is claimed and still running is left alone by the task (see `config.mail_once`).
    """
    from payments.tasks import receipts_send as receipts_send_task

    now = now or timezone.now()
    due = list(
        Payment.objects.filter(
            status=Payment.Status.SUCCEEDED,
            paid_at__gte=now - RECEIPT_LATE_LIMIT,
            paid_at__lt=now - timedelta(seconds=settings.PAYMENTS_RECEIPT_SWEEP_AFTER_SECONDS),
            contribution__isnull=False,
        )
        .exclude(receipt_sends__kind=ReceiptSend.Kind.RECEIPT, receipt_sends__sent_at__isnull=False)
        .order_by("paid_at", "pk")
        .values_list("pk", flat=True)[: settings.PAYMENTS_RECEIPT_SWEEP_BATCH]
    )
    for start in range(0, len(due), RECEIPT_SWEEP_TASK_SIZE):
        receipts_send_task.delay(due[start : start + RECEIPT_SWEEP_TASK_SIZE])
    return len(due)


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
    context = {"url": url, "minutes": settings.PAYMENTS_SIGN_IN_LINK_MINUTES}
    mail_compose(
        template="payments/email/sign_in",
        subject=f"Your sign-in link for {brand_get().name}",
        to=[supporter.email],
        context=context,
    ).send()
