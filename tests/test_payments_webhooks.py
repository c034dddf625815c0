"""Signed Stripe events posted to the webhook endpoint, made by the Stripe emulator's flows
(`emulated`): in Stripe's order, reordered, repeated, or (for the intake's refusals) with the one
field a test is about changed.

The endpoint stores; `webhook_event_process` (what the worker task calls) applies. Payment
intents and subscriptions are re-read through the real stripe library, answered by the emulator.
"""

import time

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command

from payments import receipts
from payments.models import Contribution, Dispute, Payment, Refund, Subscription, WebhookEvent
from payments.tasks import webhook_events_sweep
from payments.tests.emulated import emulated_fixture, signed_post  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from payments.webhooks import WAKE_KEY
from stripe_emulator.api import api_call
from stripe_emulator.flows import cards, checkout, disputes, invoices, payouts, refunds
from stripe_emulator.scenarios import one_off_paid

pytestmark = pytest.mark.django_db


def some_event(emulated, **changed):
    """An event Stripe sent (a charge's balance transaction attached), with `changed` fields."""
    one_off_paid(emulated.emulator)
    return {**emulated.emulator.events()[-1], **changed}


# --- Intake --------------------------------------------------------------------------------------


def test_a_bad_signature_is_refused_and_nothing_is_stored(client, emulated):
    response = signed_post(client, some_event(emulated), secret="whsec_wrong")

    assert response.status_code == 400
    assert "signature" in response.json()["error"]
    assert not WebhookEvent.objects.exists()


def test_a_missing_signature_is_refused(client, emulated):
    response = client.post("/stripe/webhook/", data=b"{}", content_type="application/json")

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_stale_signature_is_refused(client, emulated):
    ten_minutes_ago = int(time.time()) - 600

    response = signed_post(client, some_event(emulated), timestamp=ten_minutes_ago)

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_live_event_is_refused_in_test_mode(client, emulated):
    response = signed_post(client, some_event(emulated, livemode=True))

    assert response.status_code == 400
    assert "live event" in response.json()["error"]
    assert not WebhookEvent.objects.exists()


def test_a_signed_body_that_is_not_an_event_is_refused(client, emulated):
    response = signed_post(client, {"hello": "world"})

    assert response.status_code == 400
    assert response.json()["error"] == "the body is not a Stripe event"


def test_only_post_is_allowed(client):
    assert client.get("/stripe/webhook/").status_code == 405


def test_a_duplicate_delivery_is_stored_once_and_answered_200(client, emulated):
    data = some_event(emulated)

    first = signed_post(client, data)
    second = signed_post(client, data)

    assert first.status_code == second.status_code == 200
    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is True
    assert WebhookEvent.objects.count() == 1


def test_an_event_type_the_service_does_not_handle_is_stored_and_ignored(emulated):
    one_off_paid(emulated.emulator)
    [attached] = [e for e in emulated.emulator.events() if e["type"] == "payment_method.attached"]

    stored = emulated.apply(attached)

    assert stored.status == WebhookEvent.Status.IGNORED
    assert stored.payload["type"] == "payment_method.attached"
    assert emulated.http.requests == []  # nothing was asked of Stripe for it


# --- One-off payments ----------------------------------------------------------------------------


def test_a_completed_one_off_checkout_records_one_payment_with_fees_and_one_receipt(
    emulated, django_capture_on_commit_callbacks
):
    contribution = emulated.start(email="reader@example.org")
    outcome = checkout.session_pay(
        emulated.emulator,
        session_id=str(contribution.stripe_checkout_session_id),
        number=cards.SUCCESS,
    )
    completed = [e for e in outcome.events if e["type"] == "checkout.session.completed"]
    intent = emulated.emulator.get(completed[0]["data"]["object"]["payment_intent"])
    charge = emulated.emulator.get(intent["latest_charge"])
    emulated.http.requests.clear()

    with django_capture_on_commit_callbacks() as callbacks:
        assert emulated.deliver(completed) == ["checkout.session.completed"]
    assert emulated.deliver(completed) == []  # Stripe delivers it again

    stored = WebhookEvent.objects.get()
    assert stored.status == WebhookEvent.Status.PROCESSED
    payment = Payment.objects.get()
    assert (payment.gross_minor, payment.fee_minor, payment.net_minor) == (1000, 40, 960)
    assert payment.currency == "EUR"
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.stripe_charge_id == charge["id"]
    assert payment.stripe_balance_transaction_id == charge["balance_transaction"]
    assert payment.payment_method_type == "card"
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.PAID
    assert contribution.first_paid_at == payment.paid_at
    assert contribution.supporter.stripe_customer_id == intent["customer"]
    # The event's own enqueue, the campaign's counter and the receipt, after commit, once each.
    assert len(callbacks) == 3
    assert emulated.http.requests[0]["path"] == f"/v1/payment_intents/{intent['id']}"
    assert emulated.http.requests[0]["query"] == {"expand[0]": "latest_charge.balance_transaction"}

    assert receipts.receipt_send(payment_pk=payment.pk) is True
    assert receipts.receipt_send(payment_pk=payment.pk) is False  # the task ran twice
    assert len(mail.outbox) == 1
    receipt = mail.outbox[0]
    assert receipt.to == ["reader@example.org"]
    assert "€10.00" in receipt.body
    assert "one-off" in receipt.body
    assert "not a charitable donation" in receipt.body
    assert "/support/account/" in receipt.body
    assert "€10.00" in receipt.alternatives[0][0]  # type: ignore[attr-defined]


def test_sepa_is_pending_until_stripe_says_it_succeeded(emulated):
    contribution = emulated.start()
    emulated.pay(contribution, number=cards.SEPA_SUCCESS)

    payment = Payment.objects.get()
    assert payment.status == Payment.Status.PENDING
    assert payment.fee_minor is None
    assert payment.payment_method_type == "sepa_debit"
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.PROCESSING
    assert receipts.receipt_send(payment_pk=payment.pk) is False

    # Days later the debit clears.
    session_id = str(contribution.stripe_checkout_session_id)
    cleared = checkout.sepa_settle(emulated.emulator, session_id=session_id, fail=False)
    assert "checkout.session.async_payment_succeeded" in emulated.deliver(cleared)

    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.fee_minor == 35
    assert Payment.objects.count() == 1
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.PAID
    assert receipts.receipt_send(payment_pk=payment.pk) is True


def test_a_failed_sepa_debit_marks_the_contribution_failed_and_pays_nothing(emulated):
    contribution = emulated.start()
    emulated.pay(contribution, number=cards.SEPA_FAILS)
    session_id = str(contribution.stripe_checkout_session_id)
    bounced = checkout.sepa_settle(emulated.emulator, session_id=session_id, fail=True)
    assert "checkout.session.async_payment_failed" in emulated.deliver(bounced)

    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.FAILED
    assert Payment.objects.get().status == Payment.Status.FAILED
    assert not Payment.objects.filter(status=Payment.Status.SUCCEEDED).exists()


def test_a_late_pending_event_does_not_undo_a_succeeded_payment(emulated):
    contribution = emulated.start()
    unpaid = checkout.session_pay(
        emulated.emulator,
        session_id=str(contribution.stripe_checkout_session_id),
        number=cards.SEPA_SUCCESS,
    ).events
    intent_id = emulated.event(unpaid, "payment_intent.processing")["data"]["object"]["id"]
    processing = emulated.emulator.get(intent_id)
    processing_charge = emulated.emulator.get(processing["latest_charge"])
    cleared = checkout.sepa_settle(
        emulated.emulator, session_id=str(contribution.stripe_checkout_session_id), fail=False
    )
    emulated.apply(emulated.event(cleared, "checkout.session.async_payment_succeeded"))
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED

    # The older "completed, unpaid" event arrives last, and its handler's read of the intent
    # is as stale as the event (read before the debit cleared, committed after the success).
    emulated.emulator.save(processing)
    emulated.emulator.save(processing_charge)
    emulated.apply(emulated.event(unpaid, "checkout.session.completed"))

    assert Payment.objects.get().status == Payment.Status.SUCCEEDED


# --- Subscriptions -------------------------------------------------------------------------------


def monthly_subscription_id(emulated, contribution):
    return str(emulated.emulator.get(str(contribution.stripe_checkout_session_id))["subscription"])


def test_a_renewal_before_the_subscription_is_known_ends_in_the_right_state(emulated):
    contribution = emulated.start(frequency="monthly", amount="500")
    first = checkout.session_pay(
        emulated.emulator,
        session_id=str(contribution.stripe_checkout_session_id),
        number=cards.SUCCESS,
    ).events
    sub_id = monthly_subscription_id(emulated, contribution)
    renewal = invoices.subscription_renew(emulated.emulator, subscription_id=sub_id)
    renewal_paid = emulated.event(renewal, "invoice.paid")
    invoice_id = renewal_paid["data"]["object"]["id"]
    emulated.http.requests.clear()

    # invoice.paid arrives first: nothing is mirrored yet, so the subscription is read from Stripe.
    emulated.apply(renewal_paid)
    subscription = Subscription.objects.get()
    assert subscription.contribution == contribution
    assert subscription.status == "active"
    payment = Payment.objects.get()
    assert payment.kind == Payment.Kind.SUBSCRIPTION_RENEWAL
    assert payment.subscription == subscription
    assert (payment.gross_minor, payment.fee_minor, payment.stripe_invoice_id) == (
        500,
        33,
        invoice_id,
    )
    [listed] = [r for r in emulated.http.requests if r["path"] == "/v1/invoice_payments"]
    assert listed["query"] == {"invoice": invoice_id, "limit": "10"}

    # Then the checkout and subscription events: nothing is counted twice.
    emulated.apply(emulated.event(first, "checkout.session.completed"))
    emulated.apply(emulated.event(first, "customer.subscription.created"))
    emulated.deliver(renewal, order="shuffled", duplicates=2, seed=5)

    assert Subscription.objects.count() == 1
    assert Payment.objects.filter(kind=Payment.Kind.SUBSCRIPTION_RENEWAL).count() == 1
    assert Payment.objects.filter(stripe_invoice_id=invoice_id).count() == 1
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.ACTIVE


def test_deleted_before_updated_ends_cancelled(emulated):
    contribution = emulated.give(frequency="monthly", amount="500")
    sub_id = monthly_subscription_id(emulated, contribution)
    past_due = invoices.subscription_renew(emulated.emulator, subscription_id=sub_id, fail=True)
    mark = emulated.emulator.events_mark()
    api_call(
        emulated.emulator,
        "DELETE",
        f"/v1/subscriptions/{sub_id}",
        {"cancellation_details": {"feedback": "too_expensive"}},
    )
    [deleted] = emulated.emulator.events(since=mark)

    emulated.apply(deleted)
    emulated.apply(emulated.event(past_due, "customer.subscription.updated"))  # older, late

    subscription = Subscription.objects.get()
    assert subscription.status == "canceled"
    assert subscription.stripe_cancellation_feedback == "too_expensive"
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.CANCELED
    assert contribution.canceled_at is not None


def test_an_older_update_does_not_overwrite_a_newer_one(emulated):
    contribution = emulated.give(frequency="monthly", amount="500")
    sub_id = monthly_subscription_id(emulated, contribution)
    older = emulated.event(
        invoices.subscription_renew(emulated.emulator, subscription_id=sub_id, fail=True),
        "customer.subscription.updated",
    )
    emulated.emulator.advance(seconds=10)
    recovered = invoices.subscription_renew(emulated.emulator, subscription_id=sub_id)
    item = emulated.emulator.get(sub_id)["items"]["data"][0]
    mark = emulated.emulator.events_mark()
    api_call(  # the supporter gives more from now on
        emulated.emulator,
        "POST",
        f"/v1/subscriptions/{sub_id}",
        {
            "items": [
                {
                    "id": item["id"],
                    "price_data": {
                        "currency": "eur",
                        "product": item["price"]["product"],
                        "unit_amount": 800,
                        "recurring": {"interval": "month"},
                    },
                }
            ],
            "proration_behavior": "none",
        },
    )
    newer = emulated.emulator.events(since=mark)
    assert [e["type"] for e in newer] == ["price.created", "customer.subscription.updated"]
    assert older["data"]["object"]["status"] == "past_due"

    emulated.deliver([*recovered, *newer])
    emulated.apply(older)

    subscription = Subscription.objects.get()
    assert (subscription.status, subscription.amount_minor) == ("active", 800)


def test_a_failed_renewal_tells_the_supporter_once(emulated):
    contribution = emulated.give(frequency="monthly", amount="500", email="reader@example.org")
    subscription_id = emulated.emulator.get(str(contribution.stripe_checkout_session_id))[
        "subscription"
    ]
    failed = invoices.subscription_renew(
        emulated.emulator, subscription_id=subscription_id, fail=True
    )

    emulated.deliver(failed, duplicates=2, seed=1)

    payment = Payment.objects.get(kind=Payment.Kind.SUBSCRIPTION_RENEWAL)
    assert payment.status == Payment.Status.FAILED
    assert payment.subscription == Subscription.objects.get()
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.PAST_DUE
    assert receipts.payment_failed_notice_send(payment_pk=payment.pk) is True
    assert receipts.payment_failed_notice_send(payment_pk=payment.pk) is False
    assert len(mail.outbox) == 1
    assert "update your card" in mail.outbox[0].body


# --- Refunds, disputes, payouts ------------------------------------------------------------------


def test_a_refund_is_recorded_once(emulated):
    emulated.give()
    payment = Payment.objects.get()
    mark = emulated.emulator.events_mark()
    assert payment.stripe_charge_id is not None
    made = refunds.refund_create(emulated.emulator, charge_id=payment.stripe_charge_id, amount=400)
    events = emulated.emulator.events(since=mark)
    assert [e["type"] for e in events] == ["refund.created", "charge.refunded"]
    emulated.http.requests.clear()

    emulated.deliver(events)
    emulated.deliver(events, order="reversed", duplicates=2, seed=3)  # again, and again

    refund = Refund.objects.get()
    assert (refund.stripe_refund_id, refund.amount_minor, refund.currency) == (
        made["id"],
        400,
        "EUR",
    )
    payment.refresh_from_db()
    assert payment.refunded_minor == 400
    assert payment.status == Payment.Status.SUCCEEDED
    listed = [r for r in emulated.http.requests if r["path"] == "/v1/refunds"]
    assert listed and listed[0]["query"]["charge"] == payment.stripe_charge_id


def paid_then_refunded(emulated, amount=None):
    """A gift paid at Stripe and then refunded there (in part, with `amount`); return the
    payment's events and the charge.refunded, none of them delivered."""
    contribution = emulated.start()
    paid = checkout.session_pay(
        emulated.emulator,
        session_id=str(contribution.stripe_checkout_session_id),
        number=cards.SUCCESS,
    ).events
    charge_id = emulated.event(paid, "charge.succeeded")["data"]["object"]["id"]
    mark = emulated.emulator.events_mark()
    refunds.refund_create(emulated.emulator, charge_id=charge_id, amount=amount)
    return paid, emulated.event(emulated.emulator.events(since=mark), "charge.refunded")


def test_a_refund_before_its_payment_is_applied_later_by_the_sweep(emulated, settings):
    settings.PAYMENTS_WEBHOOK_SWEEP_AFTER_SECONDS = 0
    paid, refunded = paid_then_refunded(emulated)

    early = emulated.apply(refunded)  # Stripe's refund overtakes the checkout's events
    assert early.status == WebhookEvent.Status.FAILED
    assert "no payment recorded yet" in early.last_error

    emulated.deliver(paid)
    webhook_events_sweep()

    early.refresh_from_db()
    assert early.status == WebhookEvent.Status.PROCESSED
    assert Payment.objects.get().refunded_minor == 1000


def test_a_dispute_opened_then_lost_is_recorded_with_its_dates(emulated):
    payment = emulated.give().payments.get()
    stripe = emulated.emulator
    opened = disputes.dispute_open(stripe, charge_id=str(payment.stripe_charge_id))
    dispute_id = opened[0]["data"]["object"]["id"]
    stripe.advance(seconds=3600)
    under_review = disputes.dispute_evidence_submit(stripe, dispute_id=dispute_id)
    stripe.advance(days=1)
    closed = disputes.dispute_close(stripe, dispute_id=dispute_id, won=False)

    emulated.apply(emulated.event(opened, "charge.dispute.created"))
    emulated.apply(emulated.event(closed, "charge.dispute.closed"))
    # A late "updated" from before the close changes nothing.
    emulated.apply(emulated.event(under_review, "charge.dispute.updated"))

    row = Dispute.objects.get()
    assert row.status == "lost"
    assert (row.amount_minor, row.fee_minor, row.currency) == (1000, 1500, "EUR")
    assert row.closed_at is not None and row.closed_at > row.opened_at
    payment.refresh_from_db()
    assert payment.disputed_minor == 1000


def test_a_won_dispute_gives_the_money_back(emulated):
    payment = emulated.give().payments.get()
    opened = disputes.dispute_open(emulated.emulator, charge_id=str(payment.stripe_charge_id))
    emulated.deliver(opened)
    payment.refresh_from_db()
    assert payment.disputed_minor == 1000
    emulated.emulator.advance(seconds=5)

    emulated.deliver(
        disputes.dispute_close(
            emulated.emulator, dispute_id=opened[0]["data"]["object"]["id"], won=True
        )
    )

    payment.refresh_from_db()
    assert payment.disputed_minor == 0


def test_a_paid_payout_is_mirrored_and_tags_the_payments_it_carried(emulated):
    payment = emulated.give().payments.get()
    emulated.emulator.advance(days=2)
    created = payouts.payout_run(emulated.emulator)
    payout_id = created[0]["data"]["object"]["id"]
    emulated.http.requests.clear()

    emulated.deliver(created + payouts.payout_paid(emulated.emulator, payout_id=payout_id))

    payment.refresh_from_db()
    assert payment.stripe_payout_id == payout_id
    [listed] = [r for r in emulated.http.requests if r["path"] == "/v1/balance_transactions"]
    assert listed["query"] == {"payout": payout_id, "limit": "100"}


# --- Sweep and replay ----------------------------------------------------------------------------


def checkout_completed(emulated):
    """A one-off checkout paid at Stripe: its checkout.session.completed, not delivered yet."""
    contribution = emulated.start()
    paid = checkout.session_pay(
        emulated.emulator,
        session_id=str(contribution.stripe_checkout_session_id),
        number=cards.SUCCESS,
    ).events
    return emulated.event(paid, "checkout.session.completed")


def test_an_event_stored_while_the_broker_was_down_is_applied_by_the_sweep(
    client, emulated, settings
):
    settings.PAYMENTS_WEBHOOK_SWEEP_AFTER_SECONDS = 0
    # Posted, stored, but never picked up by a worker (no on-commit enqueue ran in this test).
    signed_post(client, checkout_completed(emulated))
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.RECEIVED

    assert webhook_events_sweep() == 1

    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED


def test_replay_command_applies_one_event_or_all_failed_ones(emulated, capsys):
    paid, data = paid_then_refunded(emulated, amount=300)
    failed = emulated.apply(data)  # no payment recorded for the charge yet: fails
    assert failed.status == WebhookEvent.Status.FAILED

    emulated.deliver(paid)
    call_command("replay_webhooks", "--failed")
    assert f"{data['id']}: processed" in capsys.readouterr().out
    call_command("replay_webhooks", data["id"])  # again, by id: idempotent

    assert Payment.objects.count() == 1
    assert Refund.objects.get().amount_minor == 300
    assert Payment.objects.get().refunded_minor == 300


def test_replay_command_explains_bad_arguments():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="one event id"):
        call_command("replay_webhooks")
    with pytest.raises(CommandError, match="No stored event"):
        call_command("replay_webhooks", "evt_missing")


def test_a_body_that_is_not_utf8_is_refused_not_crashed(client, emulated):
    response = client.post(
        "/stripe/webhook/",
        data=b"\xff\xfe{",
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=abc",
    )

    assert response.status_code == 400


def test_cancellation_after_stripe_gives_up_on_payment_is_recorded(emulated):
    contribution = emulated.give(frequency="monthly", amount="500")
    sub_id = monthly_subscription_id(emulated, contribution)
    retries = [
        event
        for _ in range(invoices.MAX_ATTEMPTS)
        for event in invoices.subscription_renew(
            emulated.emulator, subscription_id=sub_id, fail=True
        )
    ]
    gave_up = emulated.event(retries, "customer.subscription.deleted")

    emulated.apply(gave_up)

    subscription = Subscription.objects.get()
    assert (subscription.status, subscription.stripe_cancellation_reason) == (
        "canceled",
        "payment_failed",
    )
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.CANCELED


def test_the_sweep_requeues_a_receipt_a_lost_task_never_sent(emulated):
    from datetime import timedelta

    from django.utils import timezone

    payment = emulated.give().payments.get()
    assert receipts.receipts_missing_enqueue() == 0  # too recent: its own task is on the way
    Payment.objects.filter(pk=payment.pk).update(paid_at=timezone.now() - timedelta(minutes=10))

    assert receipts.receipts_missing_enqueue() == 1

    receipts.receipt_send(payment_pk=payment.pk)
    assert receipts.receipts_missing_enqueue() == 0


def test_a_broker_outage_at_intake_still_answers_200_and_keeps_the_event(
    client, emulated, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from payments import tasks

    completed = checkout_completed(emulated)

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    # The outage is simulated at the broker client: stopping the shared Redis would hit other tests.
    monkeypatch.setattr(tasks.webhook_events_apply_pending, "apply_async", broker_down)
    cache.delete(WAKE_KEY)  # no batch task queued: this event must try to enqueue one

    with django_capture_on_commit_callbacks(execute=True):
        response = signed_post(client, completed)

    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.RECEIVED
    assert cache.get(WAKE_KEY) is None  # the next event tries again


def test_a_signed_event_with_an_impossible_time_is_refused(client, emulated):
    response = signed_post(client, some_event(emulated, created=10**20))

    assert response.status_code == 400
