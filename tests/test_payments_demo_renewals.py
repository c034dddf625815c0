"""`manage.py demo_renew`: the demo provider bills the next period, and the ordinary webhook
handlers record the renewal (or the failed renewal) with its receipt (or notice)."""

import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import CommandError, call_command

from payments import receipts
from payments.demo_provider.store import demo_object_load
from payments.models import (
    Contribution,
    DemoObject,
    Payment,
    ReceiptSend,
    Subscription,
    WebhookEvent,
)
from payments.services import subscription_cancel
from payments.stripe_gateway import webhook_signature_header
from payments.tests.fixtures import (  # noqa: F401 - fixtures
    campaign_fixture,
    demo_give,
    events_apply,
    receipts_on_disk,
)
from payments.webhooks import webhook_events_replay
from tests.conftest import wait_for

RENEWAL = Payment.Kind.SUBSCRIPTION_RENEWAL


@pytest.fixture
def monthly(client, campaign, django_capture_on_commit_callbacks) -> Contribution:
    """A €5.00 monthly contribution paid through the demo checkout, its events applied."""
    with django_capture_on_commit_callbacks(execute=True):
        contribution = demo_give(client, frequency="monthly", amount="500")
    events_apply()
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.ACTIVE
    return contribution


def renew(reference, *args, capture) -> str:
    out = StringIO()
    with capture(execute=True):
        call_command("demo_renew", str(reference), *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_renewal_is_a_second_payment_with_the_demo_fee_and_a_receipt(
    monthly, django_capture_on_commit_callbacks
):
    subscription = Subscription.objects.get()
    period_end = subscription.current_period_end
    assert period_end is not None

    out = renew(monthly.pk, capture=django_capture_on_commit_callbacks)

    assert f"Billed the next period of contribution {monthly.pk}" in out
    assert "€5.00" in out
    assert f"The period billed ends on {period_end + timedelta(days=30):%-d %B %Y}" in out
    # Stripe's renewal: the period moves on (subscription updated), then the invoice is paid.
    assert events_apply() == ["customer.subscription.updated", "invoice.paid"]
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    first, renewal = Payment.objects.order_by("pk")
    assert first.kind == Payment.Kind.SUBSCRIPTION_FIRST
    assert (renewal.kind, renewal.status, renewal.gross_minor, renewal.currency) == (
        RENEWAL,
        "succeeded",
        500,
        "EUR",
    )
    assert (renewal.fee_minor, renewal.net_minor) == (33, 467)  # 1.5% + €0.25, as at checkout
    assert renewal.subscription == subscription
    assert str(renewal.stripe_invoice_id).startswith("in_demo_")
    assert renewal.stripe_charge_id != first.stripe_charge_id
    subscription.refresh_from_db()
    assert subscription.status == "active"
    assert subscription.current_period_end == period_end + timedelta(days=30)
    monthly.refresh_from_db()
    assert monthly.status == Contribution.Status.ACTIVE

    assert receipts.receipt_send(payment_pk=renewal.pk) is True  # what the enqueued task runs
    receipt = mail.outbox[-1]
    assert receipt.to == ["reader@example.org"]
    assert "your receipt" in receipt.subject
    assert "€5.00" in receipt.body
    assert "one payment of your monthly contribution" in receipt.body
    assert f"Reference: {renewal.pk}" in receipt.body


@pytest.mark.django_db
def test_a_failed_renewal_sends_the_notice_and_makes_the_contribution_past_due_until_a_retry(
    monthly, django_capture_on_commit_callbacks
):
    subscription = Subscription.objects.get()
    period_end = subscription.current_period_end
    assert period_end is not None

    out = renew(
        subscription.stripe_subscription_id, "--fail", capture=django_capture_on_commit_callbacks
    )

    assert "Declined." in out
    # The period moves on, the attempt fails, the subscription becomes past due.
    assert events_apply() == [
        "customer.subscription.updated",
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    failed = Payment.objects.get(kind=RENEWAL)
    assert (failed.status, failed.gross_minor, failed.fee_minor) == ("failed", 500, None)
    assert (failed.failure_code, failed.failure_message) == (
        "card_declined",
        "Your card was declined.",
    )
    monthly.refresh_from_db()
    assert monthly.status == Contribution.Status.PAST_DUE
    subscription.refresh_from_db()
    assert subscription.status == "past_due"
    assert subscription.current_period_end == period_end + timedelta(days=30)
    assert receipts.payment_failed_notice_send(payment_pk=failed.pk) is True
    notice = mail.outbox[-1]
    assert "could not be taken" in notice.subject
    assert '("Your card was declined.")' in notice.body
    assert "please update your card" in notice.body

    # Run again without --fail: Stripe's retry of the same invoice, now paid.
    out = renew(monthly.pk, capture=django_capture_on_commit_callbacks)

    assert f"Retried the open invoice of contribution {monthly.pk}" in out
    events_apply()
    renewal = Payment.objects.get(kind=RENEWAL)
    assert renewal.pk == failed.pk
    assert (renewal.status, renewal.fee_minor) == ("succeeded", 33)
    monthly.refresh_from_db()
    assert monthly.status == Contribution.Status.ACTIVE
    subscription.refresh_from_db()
    assert subscription.status == "active"
    assert subscription.current_period_end == period_end + timedelta(days=30)  # not moved again
    assert receipts.receipt_send(payment_pk=renewal.pk) is True


@pytest.mark.django_db
def test_duplicate_renewal_events_change_nothing(
    client, monthly, django_capture_on_commit_callbacks
):
    renew(monthly.pk, "--fail", capture=django_capture_on_commit_callbacks)
    events_apply()
    failed = Payment.objects.get(kind=RENEWAL)
    assert receipts.payment_failed_notice_send(payment_pk=failed.pk) is True
    renew(monthly.pk, capture=django_capture_on_commit_callbacks)
    events_apply()
    assert receipts.receipt_send(payment_pk=failed.pk) is True
    before = ledger()
    mails = len(mail.outbox)

    for stored in WebhookEvent.objects.filter(type__startswith="invoice."):
        payload = stored_payload(stored)
        delivered = client.post(
            "/stripe/webhook/",
            data=payload,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=webhook_signature_header(
                payload=payload, secret=settings.PAYMENTS_DEMO_WEBHOOK_SECRET
            ),
        )
        assert delivered.json()["duplicate"] is True
        # Applied again, as `manage.py replay_webhooks` would: nothing new.
        with django_capture_on_commit_callbacks(execute=True):
            assert webhook_events_replay(stripe_event_id=stored.stripe_event_id) == {
                stored.stripe_event_id: "processed"
            }

    assert ledger() == before
    monthly.refresh_from_db()
    assert monthly.status == Contribution.Status.ACTIVE
    assert receipts.receipt_send(payment_pk=failed.pk) is False
    assert receipts.payment_failed_notice_send(payment_pk=failed.pk) is False
    assert len(mail.outbox) == mails
    assert ReceiptSend.objects.filter(payment=failed).count() == 2  # one notice, one receipt


def ledger() -> list[dict[str, object]]:
    """Every payment as recorded, but for when the row was last written."""
    rows = Payment.objects.order_by("pk").values()
    return [{k: v for k, v in row.items() if k != "updated_at"} for row in rows]


def stored_payload(event: WebhookEvent) -> bytes:
    from payments.stripe_gateway import event_json

    return event_json(event.payload)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("999999", "There is no contribution 999999."),
        ("sub_nope", "There is no subscription 'sub_nope'"),
        ("one-off", "is a one-off contribution; only monthly and annual ones renew."),
        ("unpaid", "has no subscription yet: its checkout was never paid"),
        ("cancelled", "has been cancelled; a cancelled contribution never renews."),
        ("cancelled subscription", "has been cancelled; a cancelled contribution never renews."),
    ],
)
def test_what_cannot_renew_is_refused_with_the_reason(
    client, monthly, reference, message, django_capture_on_commit_callbacks
):
    if reference == "one-off":
        client.post(
            "/support/keep-local-news-open/",
            {"frequency": "one_off", "amount": "500", "email": "once@example.org", "website": ""},
        )
        reference = str(Contribution.objects.get(supporter__email="once@example.org").pk)
    elif reference == "unpaid":
        client.post(
            "/support/keep-local-news-open/",
            {"frequency": "monthly", "amount": "500", "email": "later@example.org", "website": ""},
        )
        reference = str(Contribution.objects.get(supporter__email="later@example.org").pk)
    elif reference.startswith("cancelled"):
        subscription = Subscription.objects.get()
        with django_capture_on_commit_callbacks(execute=True):
            subscription_cancel(subscription=subscription, reason="Moving abroad")
        events_apply()
        by_subscription = reference == "cancelled subscription"
        reference = subscription.stripe_subscription_id if by_subscription else str(monthly.pk)
    events, objects = WebhookEvent.objects.count(), DemoObject.objects.count()

    with pytest.raises(CommandError, match=message):
        renew(reference, capture=django_capture_on_commit_callbacks)

    assert (WebhookEvent.objects.count(), DemoObject.objects.count()) == (events, objects)
    assert not Payment.objects.filter(kind=RENEWAL).exists()


@pytest.mark.django_db
def test_nothing_is_simulated_when_stripe_is_configured(
    monthly, settings, django_capture_on_commit_callbacks
):
    settings.PAYMENTS_DEMO = False
    settings.STRIPE_SECRET_KEY = "sk_test_configured"
    events, objects = WebhookEvent.objects.count(), DemoObject.objects.count()

    with pytest.raises(
        CommandError, match=r"The demo provider is not active \(a Stripe key is set\)"
    ):
        renew(monthly.pk, capture=django_capture_on_commit_callbacks)

    assert (WebhookEvent.objects.count(), DemoObject.objects.count()) == (events, objects)


@pytest.mark.django_db(transaction=True)
def test_a_worker_records_the_renewal_and_mails_its_receipt(
    client, campaign, celery_worker_process
):
    """The command as an operator runs it: real commits, a worker process, mail on disk."""
    email = f"renewal-{uuid.uuid4().hex[:8]}@example.org"
    contribution = demo_give(client, frequency="monthly", email=email, amount="1000")
    wait_for(
        lambda: Contribution.objects.filter(pk=contribution.pk, status="active").exists(),
        timeout=30,
        what="the worker to record the first payment",
    )

    call_command("demo_renew", str(contribution.pk), stdout=StringIO())

    wait_for(
        lambda: Payment.objects.filter(kind=RENEWAL, status="succeeded").exists(),
        timeout=30,
        what="the worker to record the renewal",
    )
    renewal = Payment.objects.get(kind=RENEWAL)
    assert renewal.gross_minor == 1000
    wait_for(lambda: len(receipts_on_disk(email)) == 2, timeout=30, what="both receipts on disk")
    assert any(f"Reference: {renewal.pk}" in text for text in receipts_on_disk(email))

    # Cancelling commits on its own too; a cancelled contribution is then refused.
    subscription_cancel(subscription=Subscription.objects.get(), reason="Done")
    with pytest.raises(CommandError, match="has been cancelled"):
        call_command("demo_renew", str(contribution.pk), stdout=StringIO())
    assert demo_object_load(str(renewal.stripe_payment_intent_id))["status"] == "succeeded"
