"""Mail that must go once: claimed, sent, recorded, in an order that survives crashes.

A database that dies between the mail server taking a receipt and the send being recorded used
to lose the record, and the retry sent the receipt again. Now the claim is committed first and
the sender records the send through the restart; a sender that dies itself leaves a claim that
expires, and the resend carries the same Message-ID.
"""

import time
from datetime import timedelta

import psycopg
import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection, transaction
from django.utils import timezone

from payments import receipts
from payments.models import Payment, ReceiptSend
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from payments.webhooks import webhook_events_apply_pending
from tests.test_payments_batches import enqueued, post_paid  # noqa: F401 - fixture

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _terminate_this_connection() -> None:
    """Kill this process's database session from outside, as a database crash would."""
    pid = connection.connection.info.backend_pid
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


class DatabaseDiesAfterHandOver(EmailBackend):
    """The mail server takes the message; then the database session dies (once)."""

    crashes = 1

    def send_messages(self, messages):
        sent = super().send_messages(messages)
        if DatabaseDiesAfterHandOver.crashes:
            DatabaseDiesAfterHandOver.crashes -= 1
            _terminate_this_connection()
        return sent


@pytest.fixture
def paid(emulated, campaign, enqueued):  # noqa: F811
    post_paid(emulated, campaign, 1)
    webhook_events_apply_pending(limit=10, seconds=10)
    return Payment.objects.get()


def test_a_database_crash_after_the_hand_over_does_not_send_the_receipt_twice(paid, settings):
    settings.EMAIL_BACKEND = "tests.test_mail_once.DatabaseDiesAfterHandOver"
    DatabaseDiesAfterHandOver.crashes = 1

    try:
        receipts.receipts_send(payment_pks=[paid.pk])
    except Exception:
        connection.close()
    receipts.receipts_send(payment_pks=[paid.pk])  # the task's retry, or the sweep

    assert len(mail.outbox) == 1
    assert ReceiptSend.objects.get(payment=paid, kind="receipt").sent_at is not None


def test_each_receipt_carries_a_message_id_derived_from_the_payment(paid, settings):
    settings.SITE_URL = "https://support.example.com"

    receipts.receipts_send(payment_pks=[paid.pk])

    assert mail.outbox[0].extra_headers["Message-ID"] == f"<receipt.{paid.pk}@support.example.com>"
    assert mail.outbox[0].message()["Message-ID"] == f"<receipt.{paid.pk}@support.example.com>"


def test_a_sender_that_died_mid_send_is_relieved_only_after_its_claim_expires(paid, settings):
    settings.MAIL_CLAIM_SECONDS = 300
    # A worker claimed the receipt and was killed before recording it.
    ReceiptSend.objects.create(
        payment=paid, kind="receipt", to_email="reader1@example.org", claimed_at=timezone.now()
    )

    assert receipts.receipts_send(payment_pks=[paid.pk]) == 0  # maybe still sending: wait
    ReceiptSend.objects.update(claimed_at=timezone.now() - timedelta(seconds=301))
    assert receipts.receipts_send(payment_pks=[paid.pk]) == 1
    assert receipts.receipts_send(payment_pks=[paid.pk]) == 0

    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"].startswith(f"<receipt.{paid.pk}@")


def test_the_sweep_finds_unsent_receipts_after_its_window_in_tasks_of_a_batch(
    paid,
    settings,
    enqueued,  # noqa: F811
):
    settings.PAYMENTS_RECEIPT_SWEEP_AFTER_SECONDS = 120
    settings.PAYMENTS_RECEIPT_SWEEP_BATCH = 10
    enqueued["receipts"].clear()

    assert receipts.receipts_missing_enqueue(now=paid.paid_at + timedelta(seconds=60)) == 0
    assert receipts.receipts_missing_enqueue(now=paid.paid_at + timedelta(seconds=121)) == 1
    assert enqueued["receipts"] == [[paid.pk]]
    receipts.receipts_send(payment_pks=[paid.pk])
    assert receipts.receipts_missing_enqueue(now=paid.paid_at + timedelta(seconds=121)) == 0


def test_a_receipt_is_never_claimed_inside_a_callers_transaction(paid):
    # Its claim must commit before the send: inside a transaction it would commit with the
    # caller, after the mail went, and a second run meanwhile would send it again.
    with transaction.atomic(), pytest.raises(RuntimeError, match="before its send"):
        receipts.receipts_send(payment_pks=[paid.pk])
    assert not ReceiptSend.objects.exists()
    assert receipts.receipts_send(payment_pks=[paid.pk]) == 1


class SlowMailServer(EmailBackend):
    """A mail server that takes 0.6 s to accept each message."""

    def send_messages(self, messages):
        time.sleep(0.6)
        return super().send_messages(messages)


def test_a_batch_slowed_by_the_mail_server_leaves_aging_claims_to_expire(
    emulated,
    campaign,
    enqueued,  # noqa: F811
    settings,
):
    # The batch's claims are taken together. Past half their life, another run could take one
    # as soon as it expires: sending it then could send it twice. It waits for the sweep.
    for n in range(2):
        post_paid(emulated, campaign, n)
    webhook_events_apply_pending(limit=10, seconds=10)
    pks = list(Payment.objects.order_by("pk").values_list("pk", flat=True))
    settings.MAIL_CLAIM_SECONDS = 1
    settings.EMAIL_BACKEND = "tests.test_mail_once.SlowMailServer"

    assert receipts.receipts_send(payment_pks=pks) == 1
    waiting = ReceiptSend.objects.get(payment_id=pks[1])
    assert waiting.claimed_at is not None and waiting.sent_at is None
    assert receipts.receipts_send(payment_pks=pks) == 0  # still claimed

    time.sleep(1.1)  # the claim expires
    assert receipts.receipts_send(payment_pks=pks) == 1
    assert [m.to[0] for m in mail.outbox] == ["reader0@example.org", "reader1@example.org"]
