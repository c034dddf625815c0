"""Mails about a recurring contribution: a cancellation and an amount change are confirmed, an
annual renewal is announced ahead; each once, in the publisher's colours."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from branding.brand import brand_get
from payments import notices
from payments.models import Subscription, SupporterNotice
from payments.tasks import renewal_reminders_enqueue, supporter_notice_send
from payments.tests.fixtures import (  # noqa: F401 - fixtures
    campaign_fixture,
    contribution_make,
)
from tests.test_payments_account import demo_monthly, signed_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def run_notices(monkeypatch):
    """Stand in for the broker: a queued notice runs at once, in this process."""
    monkeypatch.setattr(
        supporter_notice_send, "delay", lambda *args, **kwargs: supporter_notice_send(*args)
    )


def test_changing_the_amount_and_cancelling_each_send_one_mail(
    client, campaign, django_capture_on_commit_callbacks, run_notices
):
    contribution = demo_monthly(campaign, client, django_capture_on_commit_callbacks)
    signed_in(client, contribution.supporter)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/support/account/contributions/{contribution.pk}/amount/", {"amount": "8"})

    changed = [m for m in mail.outbox if "is now €8.00" in m.subject]
    assert len(changed) == 1
    assert "is now €8.00 (it was €5.00)" in changed[0].body
    message = changed[0]
    assert isinstance(message, EmailMultiAlternatives)
    html = str(message.alternatives[0][0])
    assert brand_get().accent in html and brand_get().logo_absolute_url in html

    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/support/account/contributions/{contribution.pk}/cancel/", {"reason": ""})

    cancelled = [m for m in mail.outbox if "is cancelled" in m.subject]
    assert len(cancelled) == 1
    assert cancelled[0].to == ["reader@example.org"]
    assert "No further payments will be taken." in cancelled[0].body
    subscription = Subscription.objects.get()
    # A second delivery of the same tasks sends nothing more.
    for kind, key in SupporterNotice.objects.values_list("kind", "key"):
        assert notices.notice_send(subscription_pk=subscription.pk, kind=kind, key=key) is False
    assert sorted(SupporterNotice.objects.values_list("kind", flat=True)) == [
        "amount_change",
        "cancellation",
    ]


def test_an_annual_renewal_is_announced_once_ahead(
    campaign, run_notices, settings, django_capture_on_commit_callbacks
):
    settings.PAYMENTS_RENEWAL_REMINDER_DAYS = 7
    contribution = contribution_make(campaign, frequency="annual", amount_minor=6000)
    soon = timezone.now() + timedelta(days=5)
    subscription = Subscription.objects.create(
        contribution=contribution,
        stripe_subscription_id="sub_annual",
        status="active",
        amount_minor=6000,
        currency="EUR",
        interval="year",
        current_period_end=soon,
    )
    Subscription.objects.create(  # renews later than the window: not yet
        contribution=contribution_make(campaign, frequency="annual", email="later@example.org"),
        stripe_subscription_id="sub_later",
        status="active",
        amount_minor=6000,
        currency="EUR",
        interval="year",
        current_period_end=timezone.now() + timedelta(days=30),
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert renewal_reminders_enqueue() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert renewal_reminders_enqueue() == 0  # reminded once for this renewal

    assert len(mail.outbox) == 1
    reminder = mail.outbox[0]
    assert reminder.to == ["reader@example.org"]
    assert "renews on" in reminder.subject and "€60.00" in reminder.body
    notice = SupporterNotice.objects.get()
    assert (notice.subscription, notice.kind) == (subscription, "renewal_reminder")

    # The next year's renewal gets its own reminder.
    Subscription.objects.filter(pk=subscription.pk).update(
        current_period_end=soon + timedelta(days=365)
    )
    assert notices.renewal_reminders_due(now=soon + timedelta(days=362)) == [
        (subscription.pk, notices.renewal_key(soon + timedelta(days=365)))
    ]


def test_the_beat_schedule_runs_the_reminders(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["payments-renewal-reminders"]
    assert entry["task"] == "payments.tasks.renewal_reminders_enqueue"
