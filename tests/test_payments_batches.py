"""Webhook events applied in batches, and receipts sent in batches, without losing a guarantee.

The intake wakes one batch task for a burst of events (not one task per event); the task claims
events a chunk at a time, one transaction per chunk and one savepoint per event; receipts of a
batch go out in one task.
"""

import socketserver
import threading

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection

from payments import event_handlers, receipts, tasks
from payments.models import Payment, ReceiptSend, WebhookEvent
from payments.tests.emulated import emulated_fixture, signed_post  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture, contribution_make  # noqa: F401 - fixtures
from payments.webhooks import WAKE_KEY, _chunk_size_next, webhook_events_apply_pending
from stripe_emulator.flows import refunds

pytestmark = pytest.mark.django_db


@pytest.fixture
def enqueued(monkeypatch):
    """Record what would be handed to the broker (the broker itself is not under test here)."""
    sent: dict[str, list[object]] = {"batches": [], "receipts": []}
    monkeypatch.setattr(
        tasks.webhook_events_apply_pending,
        "apply_async",
        lambda *args, **kwargs: sent["batches"].append(kwargs),
    )
    monkeypatch.setattr(tasks.receipts_send, "delay", lambda pks: sent["receipts"].append(pks))
    cache.delete(WAKE_KEY)
    yield sent
    cache.delete(WAKE_KEY)


def posted(emulated, event):
    assert signed_post(emulated.client, event).status_code == 200
    return WebhookEvent.objects.get(stripe_event_id=event["id"])


def post_paid(emulated, campaign, n):
    """Post the checkout.session.completed of a new contribution paid at Stripe; return the
    stored event."""
    contribution = contribution_make(campaign, email=f"reader{n}@example.org")
    paid = emulated.checkout_paid(contribution).events
    return posted(emulated, emulated.event(paid, "checkout.session.completed"))


def post_refund_of_an_unknown_payment(emulated, campaign, n):
    """Post the charge.refunded of a payment whose own events have not arrived (it fails: no
    payment recorded for the charge); return the stored event."""
    contribution = contribution_make(campaign, email=f"reader{n}@example.org")
    paid = emulated.checkout_paid(contribution).events
    charge_id = emulated.event(paid, "charge.succeeded")["data"]["object"]["id"]
    mark = emulated.emulator.events_mark()
    refunds.refund_create(emulated.emulator, charge_id=charge_id)
    return posted(emulated, emulated.event(emulated.emulator.events(since=mark), "charge.refunded"))


def test_a_burst_of_events_wakes_one_batch_task_and_the_task_lets_the_next_one_wake_again(
    emulated, campaign, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(3):
            post_paid(emulated, campaign, n)
    assert len(enqueued["batches"]) == 1

    # The task finds a backlog behind its first chunk: it wakes one more task to share it.
    assert webhook_events_apply_pending(limit=100, seconds=30) == 3
    assert len(enqueued["batches"]) == 2
    # That task finds nothing left; an event stored after it started wakes a new one.
    assert webhook_events_apply_pending(limit=100, seconds=30) == 0
    with django_capture_on_commit_callbacks(execute=True):
        post_paid(emulated, campaign, 3)

    assert len(enqueued["batches"]) == 3


@pytest.mark.django_db(transaction=True)  # commits for real: on-commit callbacks run in place
def test_a_batch_applies_each_event_once_and_a_failure_neither_stops_it_nor_comes_back(
    emulated, campaign, enqueued
):
    first = post_paid(emulated, campaign, 1)
    unknown = post_refund_of_an_unknown_payment(emulated, campaign, 2)
    last = post_paid(emulated, campaign, 3)

    assert webhook_events_apply_pending(limit=100, seconds=30) == 3

    statuses = {e.pk: (e.status, e.attempts) for e in WebhookEvent.objects.all()}
    assert statuses == {
        first.pk: ("processed", 1),
        unknown.pk: ("failed", 1),  # left to the sweep, not claimed again by the batch
        last.pk: ("processed", 1),
    }
    payments = list(Payment.objects.order_by("pk").values_list("pk", flat=True))
    assert len(payments) == 2
    # The batch's receipts are queued chunk by chunk, each after its chunk's commit.
    assert [pk for chunk in enqueued["receipts"] for pk in chunk] == payments
    # A one-event task delivered late for an applied event changes nothing.
    assert tasks.webhook_event_apply(first.pk) == "processed"
    first.refresh_from_db()
    assert first.attempts == 1


@pytest.mark.postgres  # SQLite answers a division by zero with NULL, not an error
@pytest.mark.django_db(transaction=True)
def test_a_database_error_in_one_event_of_a_chunk_undoes_only_that_event(
    emulated, campaign, enqueued, monkeypatch
):
    def payment_then_database_error(obj, created):
        event_handlers.checkout_session_changed(obj, created)  # writes a payment, then fails
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    first = post_paid(emulated, campaign, 1)
    broken = post_paid(emulated, campaign, 2)
    last = post_paid(emulated, campaign, 3)
    broken_session = broken.payload["data"]["object"]["id"]
    real = event_handlers.checkout_session_changed
    monkeypatch.setitem(
        event_handlers.HANDLERS,
        "checkout.session.completed",
        lambda obj, created: (
            payment_then_database_error(obj, created)
            if obj["id"] == broken_session
            else real(obj, created)
        ),
    )

    assert webhook_events_apply_pending(limit=100, seconds=30) == 3

    statuses = dict(WebhookEvent.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "processed", broken.pk: "failed", last.pk: "processed"}
    broken.refresh_from_db()
    assert "division by zero" in broken.last_error
    # The failed event's payment was rolled back with it, and so was its receipt.
    paid = Payment.objects.values_list("contribution__stripe_checkout_session_id", flat=True)
    assert list(paid.order_by("pk")) == [
        first.payload["data"]["object"]["id"],
        last.payload["data"]["object"]["id"],
    ]
    assert sum(len(chunk) for chunk in enqueued["receipts"]) == 2


@pytest.mark.django_db(transaction=True)  # commits for real: on-commit callbacks run in place
def test_receipts_are_queued_as_each_chunk_commits_not_at_the_end_of_the_batch(
    emulated, campaign, enqueued, settings, monkeypatch
):
    """A worker killed in its second chunk must not take the first chunk's receipts with it."""
    from payments import webhooks

    settings.PAYMENTS_WEBHOOK_CHUNK_SIZE = 1
    for n in range(3):
        post_paid(emulated, campaign, n)
    queued_before_chunk: list[int] = []
    real_chunk = webhooks._events_apply_chunk

    def chunk_watched(*, size: int) -> int:
        queued_before_chunk.append(sum(len(pks) for pks in enqueued["receipts"]))
        return real_chunk(size=size)

    monkeypatch.setattr(webhooks, "_events_apply_chunk", chunk_watched)

    assert webhook_events_apply_pending(limit=100, seconds=30) == 3

    # Before chunks 2, 3 and the final empty claim, the receipts of the chunks before were queued.
    assert queued_before_chunk == [0, 1, 2, 3]


def test_a_batch_stops_at_its_limit_and_wakes_a_task_for_the_rest(emulated, campaign, enqueued):
    for n in range(3):
        post_paid(emulated, campaign, n)

    assert webhook_events_apply_pending(limit=2, seconds=30) == 2

    assert WebhookEvent.objects.filter(status="received").count() == 1
    assert len(enqueued["batches"]) == 1


def test_receipts_of_a_batch_are_sent_once_each_and_a_mail_outage_leaves_them_for_the_retry(
    emulated, campaign, settings
):
    for n in range(2):
        post_paid(emulated, campaign, n)
    webhook_events_apply_pending(limit=100, seconds=30)
    pks = list(Payment.objects.values_list("pk", flat=True))
    # A mail server that refuses connections (nothing listens on port 1).
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 2

    with pytest.raises(OSError):
        receipts.receipts_send(payment_pks=pks)
    assert not ReceiptSend.objects.filter(sent_at__isnull=False).exists()  # none recorded sent
    # and no claim left behind: the retry sends at once, not after the claim expires
    assert not ReceiptSend.objects.filter(claimed_at__isnull=False).exists()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert receipts.receipts_send(payment_pks=pks) == 2
    assert receipts.receipts_send(payment_pks=pks) == 0  # the task ran twice
    assert sorted(m.to[0] for m in mail.outbox) == ["reader0@example.org", "reader1@example.org"]
    assert ReceiptSend.objects.filter(kind="receipt").count() == 2


class SmtpSink(socketserver.ThreadingTCPServer):
    """A real SMTP server on a free local port that keeps what it is sent (tests only)."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SmtpSession)
        self.sessions = 0
        self.messages: list[bytes] = []


class SmtpSession(socketserver.StreamRequestHandler):
    server: SmtpSink

    def handle(self) -> None:
        self.server.sessions += 1
        self.wfile.write(b"220 sink ready\r\n")
        while line := self.rfile.readline():
            command = line.strip().upper()
            if command == b"DATA":
                self.wfile.write(b"354 end with a dot\r\n")
                lines = []
                while (data := self.rfile.readline()) not in (b".\r\n", b""):
                    lines.append(data)
                self.server.messages.append(b"".join(lines))
                self.wfile.write(b"250 queued\r\n")
            elif command == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:  # EHLO, HELO, MAIL, RCPT, RSET, NOOP
                self.wfile.write(b"250 ok\r\n")


def test_a_batch_of_receipts_goes_through_one_smtp_session(emulated, campaign, settings):
    for n in range(3):
        post_paid(emulated, campaign, n)
    webhook_events_apply_pending(limit=100, seconds=30)
    pks = list(Payment.objects.values_list("pk", flat=True))
    sink = SmtpSink()
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.server_address[1]
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    try:
        assert receipts.receipts_send(payment_pks=pks) == 3
    finally:
        sink.shutdown()
        sink.server_close()

    assert sink.sessions == 1
    assert len(sink.messages) == 3
    for n in range(3):
        assert any(f"To: reader{n}@example.org".encode() in m for m in sink.messages)
    assert ReceiptSend.objects.filter(kind="receipt").count() == 3


def test_receipts_are_read_for_a_whole_batch_in_one_query(
    emulated, campaign, django_assert_max_num_queries
):
    for n in range(5):
        post_paid(emulated, campaign, n)
    webhook_events_apply_pending(limit=100, seconds=30)
    pks = list(Payment.objects.values_list("pk", flat=True))

    # One read, then per receipt: the ledger row's INSERT, the claim (its own transaction: a
    # savepoint pair around it in this test) and the mark.
    with django_assert_max_num_queries(1 + 5 * 5):
        assert receipts.receipts_send(payment_pks=pks) == 5


def test_chunks_group_fast_events_and_leave_slow_ones_one_per_transaction(settings):
    settings.PAYMENTS_WEBHOOK_CHUNK_SIZE, settings.PAYMENTS_WEBHOOK_CHUNK_SECONDS = 25, 0.25

    assert _chunk_size_next(seconds_per_event=0.004) == 25  # applied from the database alone
    assert _chunk_size_next(seconds_per_event=0.05) == 5
    assert _chunk_size_next(seconds_per_event=0.4) == 1  # waiting for Stripe's API
