"""Signed Stripe events posted to the webhook endpoint: made by the Stripe emulator's flows
(`emulated`), or, for orderings and states a flow does not reach, built from Stripe's example
objects.

The endpoint stores; `webhook_event_process` (what the worker task calls) applies. Payment
intents and subscriptions are re-read through the real stripe library, answered by the emulator
or by a recording fake HTTP client.
"""

import time

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command

from payments import receipts
from payments.models import Contribution, Dispute, Payment, Refund, Subscription, WebhookEvent
from payments.tasks import webhook_events_sweep
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import (  # noqa: F401 - fixtures
    campaign_fixture,
    contribution_make,
    fake_stripe_fixture,
    intent_add,
    mirrored_subscription,
    subscription_add,
)
from payments.tests.stripe_fakes import event, post_event, stripe_object
from payments.webhooks import WAKE_KEY, webhook_event_process
from stripe_emulator.flows import cards, checkout, invoices, refunds

pytestmark = pytest.mark.django_db


def deliver(client, data):
    """Post an event and apply it as the worker would; return the stored event."""
    response = post_event(client, data)
    assert response.status_code == 200, response.content
    stored = WebhookEvent.objects.get(stripe_event_id=data["id"])
    webhook_event_process(event_pk=stored.pk)
    stored.refresh_from_db()
    return stored


def session_completed(contribution, *, intent_id, payment_status="paid", mode="payment", **extra):
    session = stripe_object(
        "checkout.session",
        mode=mode,
        payment_status=payment_status,
        status="complete",
        payment_intent=intent_id,
        client_reference_id=str(contribution.pk),
        metadata={"contribution_id": str(contribution.pk)},
        customer="cus_QXg1o8vcGmoR32",
        amount_total=contribution.charge_minor,
        currency="eur",
    )
    session.update(extra)
    return session


# --- Intake --------------------------------------------------------------------------------------


def test_a_bad_signature_is_refused_and_nothing_is_stored(client, fake_stripe):
    response = post_event(
        client, event("charge.refunded", stripe_object("charge")), secret="whsec_wrong"
    )

    assert response.status_code == 400
    assert "signature" in response.json()["error"]
    assert not WebhookEvent.objects.exists()


def test_a_missing_signature_is_refused(client, fake_stripe):
    response = client.post("/stripe/webhook/", data=b"{}", content_type="application/json")

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_stale_signature_is_refused(client, fake_stripe):
    ten_minutes_ago = int(time.time()) - 600

    response = post_event(
        client, event("charge.refunded", stripe_object("charge")), timestamp=ten_minutes_ago
    )

    assert response.status_code == 400
    assert not WebhookEvent.objects.exists()


def test_a_live_event_is_refused_in_test_mode(client, fake_stripe):
    response = post_event(client, event("charge.refunded", stripe_object("charge"), livemode=True))

    assert response.status_code == 400
    assert "live event" in response.json()["error"]
    assert not WebhookEvent.objects.exists()


def test_a_signed_body_that_is_not_an_event_is_refused(client, fake_stripe):
    response = post_event(client, {"hello": "world"})

    assert response.status_code == 400
    assert response.json()["error"] == "the body is not a Stripe event"


def test_only_post_is_allowed(client):
    assert client.get("/stripe/webhook/").status_code == 405


def test_a_duplicate_delivery_is_stored_once_and_answered_200(client, fake_stripe):
    data = event("payout.paid", stripe_object("payout", status="paid"))

    first = post_event(client, data)
    second = post_event(client, data)

    assert first.status_code == second.status_code == 200
    assert first.json()["duplicate"] is False
    assert second.json()["duplicate"] is True
    assert WebhookEvent.objects.count() == 1


def test_an_unknown_event_type_is_stored_and_ignored(client, fake_stripe):
    stored = deliver(client, event("plan.created", stripe_object("event")["data"]["object"]))

    assert stored.status == WebhookEvent.Status.IGNORED
    assert stored.payload["type"] == "plan.created"
    assert fake_stripe.requests == []


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


def test_a_late_pending_event_does_not_undo_a_succeeded_payment(client, campaign, fake_stripe):
    contribution = contribution_make(campaign)
    intent_add(fake_stripe, intent_id="pi_late", status="succeeded")
    success = event(
        "checkout.session.async_payment_succeeded",
        session_completed(contribution, intent_id="pi_late"),
    )
    deliver(client, success)
    # The older "completed, unpaid" event arrives last; Stripe now says processing (stale view).
    intent_add(fake_stripe, intent_id="pi_late", status="processing")
    deliver(
        client,
        event(
            "checkout.session.completed",
            session_completed(contribution, intent_id="pi_late", payment_status="unpaid"),
            created=success["created"] - 60,
        ),
    )

    assert Payment.objects.get().status == Payment.Status.SUCCEEDED


# --- Subscriptions -------------------------------------------------------------------------------


def invoice_for(contribution, *, sub_id, invoice_id, billing_reason, status="paid", amount=500):
    invoice = stripe_object(
        "invoice",
        id=invoice_id,
        status=status,
        billing_reason=billing_reason,
        amount_due=amount,
        amount_paid=amount if status == "paid" else 0,
        amount_remaining=0 if status == "paid" else amount,
        currency="eur",
    )
    invoice["parent"] = {
        "type": "subscription_details",
        "quote_details": None,
        "subscription_details": {
            "subscription": sub_id,
            "metadata": {"contribution_id": str(contribution.pk)},
        },
    }
    return invoice


def invoice_payment_add(fake, *, invoice_id, intent_id):
    item = stripe_object(
        "invoice_payment", id="inpay_" + invoice_id, invoice=invoice_id, is_default=True
    )
    item["payment"] = {"type": "payment_intent", "payment_intent": intent_id}
    fake.lists["/v1/invoice_payments"] = [*fake.lists.get("/v1/invoice_payments", []), item]
    # The fake answers the list for any invoice; keep one invoice per test.


def test_a_renewal_before_the_subscription_is_known_ends_in_the_right_state(
    client, campaign, fake_stripe
):
    contribution = contribution_make(campaign, frequency="monthly", amount_minor=500)
    sub = subscription_add(fake_stripe, contribution)
    intent_add(fake_stripe, intent_id="pi_renewal", amount=500, fee=33)
    invoice_payment_add(fake_stripe, invoice_id="in_renewal", intent_id="pi_renewal")

    # invoice.paid arrives first: nothing is mirrored yet, so the subscription is read from Stripe.
    deliver(
        client,
        event(
            "invoice.paid",
            invoice_for(
                contribution,
                sub_id=sub["id"],
                invoice_id="in_renewal",
                billing_reason="subscription_cycle",
            ),
        ),
    )
    subscription = Subscription.objects.get()
    assert subscription.contribution == contribution
    assert subscription.status == "active"
    payment = Payment.objects.get()
    assert payment.kind == Payment.Kind.SUBSCRIPTION_RENEWAL
    assert payment.subscription == subscription
    assert (payment.gross_minor, payment.fee_minor, payment.stripe_invoice_id) == (
        500,
        33,
        "in_renewal",
    )
    assert fake_stripe.requests[1]["query"] == {"invoice": "in_renewal", "limit": "10"}

    # Then the checkout and subscription events: nothing is counted twice.
    deliver(
        client,
        event(
            "checkout.session.completed",
            session_completed(
                contribution, intent_id=None, mode="subscription", subscription=sub["id"]
            ),
        ),
    )
    deliver(client, event("customer.subscription.created", sub))
    deliver(
        client,
        event(
            "invoice.paid",
            invoice_for(
                contribution,
                sub_id=sub["id"],
                invoice_id="in_renewal",
                billing_reason="subscription_cycle",
            ),
        ),
    )

    assert Subscription.objects.count() == 1
    assert Payment.objects.count() == 1
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.ACTIVE


def test_deleted_before_updated_ends_cancelled(client, campaign, fake_stripe):
    contribution = contribution_make(campaign, frequency="monthly", amount_minor=500)
    mirrored_subscription(contribution, "sub_order")
    now = int(time.time())
    deleted = subscription_add(fake_stripe, contribution, status="canceled", sub_id="sub_order")
    deleted.update(canceled_at=now, ended_at=now)
    deleted["cancellation_details"] = {
        "comment": None,
        "feedback": "too_expensive",
        "reason": "cancellation_requested",
    }
    updated = stripe_object(
        "subscription", id="sub_order", status="past_due", currency="eur", metadata={}
    )

    deliver(client, event("customer.subscription.deleted", deleted, created=now))
    deliver(client, event("customer.subscription.updated", updated, created=now - 30))

    subscription = Subscription.objects.get()
    assert subscription.status == "canceled"
    assert subscription.stripe_cancellation_feedback == "too_expensive"
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.CANCELED
    assert contribution.canceled_at is not None


def test_an_older_update_does_not_overwrite_a_newer_one(client, campaign, fake_stripe):
    contribution = contribution_make(campaign, frequency="monthly", amount_minor=500)
    mirrored_subscription(contribution, "sub_updates")
    now = int(time.time())
    newer = subscription_add(
        fake_stripe, contribution, status="active", amount=800, sub_id="sub_updates"
    )
    older = subscription_add(
        fake_stripe, contribution, status="past_due", amount=500, sub_id="sub_updates"
    )

    deliver(client, event("customer.subscription.updated", newer, created=now))
    deliver(client, event("customer.subscription.updated", older, created=now - 10))

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


def paid_one_off(client, campaign, fake_stripe, intent_id="pi_paid"):
    contribution = contribution_make(campaign)
    intent_add(fake_stripe, intent_id=intent_id, amount=1000, fee=40)
    deliver(
        client,
        event("checkout.session.completed", session_completed(contribution, intent_id=intent_id)),
    )
    return Payment.objects.get(stripe_payment_intent_id=intent_id)


def charge_refunded_event(payment, *, amount_refunded, refunds, fake_stripe):
    """Stripe's charge.refunded for `payment`: the charge without its refunds (API 2022-11-15 on),
    which the handler lists from Stripe (`GET /v1/refunds?charge=`)."""
    charge = stripe_object(
        "charge",
        id=payment.stripe_charge_id,
        amount=1000,
        amount_refunded=amount_refunded,
        refunded=amount_refunded == 1000,
        payment_intent=payment.stripe_payment_intent_id,
    )
    del charge["refunds"]
    fake_stripe.lists["/v1/refunds"] = refunds
    for refund in refunds:
        fake_stripe.add(refund)
    return event("charge.refunded", charge)


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


def test_a_refund_before_its_payment_is_applied_later_by_the_sweep(
    client, campaign, fake_stripe, settings
):
    settings.PAYMENTS_WEBHOOK_SWEEP_AFTER_SECONDS = 0
    charge = stripe_object("charge", id="ch_for_pi_early", amount=1000, amount_refunded=1000)
    charge["payment_intent"] = "pi_early"
    del charge["refunds"]
    fake_stripe.lists["/v1/refunds"] = [
        stripe_object("refund", amount=1000, currency="eur", charge="ch_for_pi_early")
    ]
    early = deliver(client, event("charge.refunded", charge))
    assert early.status == WebhookEvent.Status.FAILED
    assert "no payment recorded yet" in early.last_error

    paid_one_off(client, campaign, fake_stripe, intent_id="pi_early")
    webhook_events_sweep()

    early.refresh_from_db()
    assert early.status == WebhookEvent.Status.PROCESSED
    assert Payment.objects.get().refunded_minor == 1000


def test_a_dispute_opened_then_lost_is_recorded_with_its_dates(client, campaign, fake_stripe):
    payment = paid_one_off(client, campaign, fake_stripe)
    now = int(time.time())
    dispute = stripe_object(
        "dispute", charge=payment.stripe_charge_id, currency="eur", amount=1000, created=now
    )
    dispute["balance_transactions"] = [
        stripe_object("balance_transaction", amount=-1000, fee=1500, net=-2500, currency="eur")
    ]
    deliver(client, event("charge.dispute.created", dispute, created=now))
    closed = dict(dispute, status="lost")
    deliver(client, event("charge.dispute.closed", closed, created=now + 86400))
    # A late "updated" from before the close changes nothing.
    deliver(
        client,
        event("charge.dispute.updated", dict(dispute, status="under_review"), created=now + 3600),
    )

    row = Dispute.objects.get()
    assert row.status == "lost"
    assert (row.amount_minor, row.fee_minor, row.currency) == (1000, 1500, "EUR")
    assert row.closed_at is not None and row.closed_at > row.opened_at
    payment.refresh_from_db()
    assert payment.disputed_minor == 1000


def test_a_won_dispute_gives_the_money_back(client, campaign, fake_stripe):
    payment = paid_one_off(client, campaign, fake_stripe)
    dispute = stripe_object("dispute", charge=payment.stripe_charge_id, currency="eur")
    deliver(client, event("charge.dispute.created", dispute))
    deliver(
        client,
        event("charge.dispute.closed", dict(dispute, status="won"), created=int(time.time()) + 5),
    )

    payment.refresh_from_db()
    assert payment.disputed_minor == 0


def test_a_paid_payout_is_mirrored_and_tags_the_payments_it_carried(client, campaign, fake_stripe):
    payment = paid_one_off(client, campaign, fake_stripe)
    entry = stripe_object("balance_transaction", source=payment.stripe_charge_id)
    entry["id"] = payment.stripe_balance_transaction_id
    fake_stripe.lists["/v1/balance_transactions"] = [entry]
    payout = stripe_object("payout", status="paid", currency="eur", amount=960)

    deliver(client, event("payout.paid", payout))

    payment.refresh_from_db()
    assert payment.stripe_payout_id == "po_1Pgc79B7WZ01zgkWu1KToYf4"
    assert fake_stripe.requests[-1]["query"] == {
        "payout": "po_1Pgc79B7WZ01zgkWu1KToYf4",
        "limit": "100",
    }


# --- Sweep and replay ----------------------------------------------------------------------------


def test_an_event_stored_while_the_broker_was_down_is_applied_by_the_sweep(
    client, campaign, fake_stripe, settings
):
    settings.PAYMENTS_WEBHOOK_SWEEP_AFTER_SECONDS = 0
    contribution = contribution_make(campaign)
    intent_add(fake_stripe, intent_id="pi_swept")
    # Posted, stored, but never picked up by a worker (no on-commit enqueue ran in this test).
    post_event(
        client,
        event("checkout.session.completed", session_completed(contribution, intent_id="pi_swept")),
    )
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.RECEIVED

    assert webhook_events_sweep() == 1

    assert WebhookEvent.objects.get().status == WebhookEvent.Status.PROCESSED
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED


def test_replay_command_applies_one_event_or_all_failed_ones(client, campaign, fake_stripe, capsys):
    contribution = contribution_make(campaign)
    data = event(
        "checkout.session.completed", session_completed(contribution, intent_id="pi_replay")
    )
    failed = deliver(client, data)  # Stripe does not know pi_replay yet: fails
    assert failed.status == WebhookEvent.Status.FAILED

    intent_add(fake_stripe, intent_id="pi_replay")
    call_command("replay_webhooks", "--failed")
    assert f"{data['id']}: processed" in capsys.readouterr().out
    call_command("replay_webhooks", data["id"])  # again, by id: idempotent

    assert Payment.objects.count() == 1


def test_replay_command_explains_bad_arguments():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="one event id"):
        call_command("replay_webhooks")
    with pytest.raises(CommandError, match="No stored event"):
        call_command("replay_webhooks", "evt_missing")


def test_a_body_that_is_not_utf8_is_refused_not_crashed(client, fake_stripe):
    response = client.post(
        "/stripe/webhook/",
        data=b"\xff\xfe{",
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=abc",
    )

    assert response.status_code == 400


def test_cancellation_after_stripe_gives_up_on_payment_is_recorded(client, campaign, fake_stripe):
    contribution = contribution_make(campaign, frequency="monthly", amount_minor=500)
    mirrored_subscription(contribution, "sub_gave_up")
    gave_up = subscription_add(fake_stripe, contribution, status="canceled", sub_id="sub_gave_up")
    gave_up["canceled_at"] = gave_up["ended_at"] = int(time.time())
    gave_up["cancellation_details"] = {
        "comment": None,
        "feedback": None,
        "reason": "payment_failed",
    }

    deliver(client, event("customer.subscription.deleted", gave_up))

    subscription = Subscription.objects.get()
    assert (subscription.status, subscription.stripe_cancellation_reason) == (
        "canceled",
        "payment_failed",
    )
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.CANCELED


def test_the_sweep_requeues_a_receipt_a_lost_task_never_sent(client, campaign, fake_stripe):
    from datetime import timedelta

    from django.utils import timezone

    payment = paid_one_off(client, campaign, fake_stripe)
    assert receipts.receipts_missing_enqueue() == 0  # too recent: its own task is on the way
    Payment.objects.filter(pk=payment.pk).update(paid_at=timezone.now() - timedelta(minutes=10))

    assert receipts.receipts_missing_enqueue() == 1

    receipts.receipt_send(payment_pk=payment.pk)
    assert receipts.receipts_missing_enqueue() == 0


def test_a_broker_outage_at_intake_still_answers_200_and_keeps_the_event(
    client, campaign, fake_stripe, monkeypatch, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from payments import tasks

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    # The outage is simulated at the broker client: stopping the shared Redis would hit other tests.
    monkeypatch.setattr(tasks.webhook_events_apply_pending, "apply_async", broker_down)
    cache.delete(WAKE_KEY)  # no batch task queued: this event must try to enqueue one
    contribution = contribution_make(campaign)

    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(
            client,
            event("checkout.session.completed", session_completed(contribution, intent_id="pi_x")),
        )

    assert response.status_code == 200
    assert WebhookEvent.objects.get().status == WebhookEvent.Status.RECEIVED
    assert cache.get(WAKE_KEY) is None  # the next event tries again


def test_a_signed_event_with_an_impossible_time_is_refused(client, fake_stripe):
    response = post_event(client, event("payout.paid", stripe_object("payout"), created=10**20))

    assert response.status_code == 400
