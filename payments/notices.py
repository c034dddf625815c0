"""Mails about a recurring contribution: its cancellation, a change of its amount, and a reminder
before an annual renewal. Each goes out once (the SupporterNotice ledger), after the change that
caused it was committed, from the worker, through `config.mail_once`."""

import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse
from django.utils import timezone

from branding.brand import brand_get
from branding.mail import mail_compose, site_link
from config.mail_once import SendSlot, mail_send_once, message_id
from payments.models import Subscription, SupporterNotice
from payments.money import money_format

Kind = SupporterNotice.Kind

SUBJECTS = {
    Kind.CANCELLATION: "Your {frequency} contribution to {publisher} is cancelled",
    Kind.AMOUNT_CHANGE: "Your {frequency} contribution to {publisher} is now {amount}",
    Kind.RENEWAL_REMINDER: "Your yearly contribution to {publisher} renews on {date}",
}
TEMPLATES = {
    Kind.CANCELLATION: "cancellation",
    Kind.AMOUNT_CHANGE: "amount_change",
    Kind.RENEWAL_REMINDER: "renewal_reminder",
}
FREQUENCY_BY_INTERVAL = {"month": "monthly", "year": "yearly"}


def notice_enqueue(*, subscription_pk: int, kind: str, key: str = "") -> None:
    """Send the notice from the worker once the current transaction has committed."""
    from payments.tasks import supporter_notice_send

    supporter_notice_send.delay_on_commit(subscription_pk, kind, key)


def _local_date(when: datetime | None) -> str:
    if when is None:
        return ""
    local = timezone.localtime(when, zoneinfo.ZoneInfo(settings.PUBLISHER_TIME_ZONE))
    return local.strftime("%-d %B %Y")


def _message(subscription: Subscription, kind: str, key: str) -> EmailMultiAlternatives:
    contribution = subscription.contribution
    supporter = contribution.supporter
    publisher = brand_get().name
    frequency = FREQUENCY_BY_INTERVAL.get(subscription.interval, "recurring")
    context = {
        "publisher": publisher,
        "supporter": supporter,
        "name": contribution.name or supporter.name,
        "frequency": frequency,
        "amount": money_format(subscription.amount_minor, subscription.currency),
        "previous_amount": "",
        "date": _local_date(subscription.current_period_end),
        "ended": _local_date(subscription.ended_at or subscription.canceled_at),
        "manage_url": site_link(reverse("payments:account")),
    }
    if kind == Kind.AMOUNT_CHANGE and key:
        past = subscription.past_amounts.filter(pk=int(key)).first()
        if past is not None:
            context["previous_amount"] = money_format(past.amount_minor, subscription.currency)
    return mail_compose(
        template=f"payments/email/{TEMPLATES[Kind(kind)]}",
        subject=SUBJECTS[Kind(kind)].format(**context),
        to=[supporter.email],
        context=context,
    )


def notice_send(*, subscription_pk: int, kind: str, key: str = "") -> bool:
    """Send one notice unless it was sent; return whether it went out now.

    Its ledger row is made once (unique on subscription, kind and occurrence) and sent through
    `config.mail_once`: claimed, sent under a Message-ID of its own, marked sent. A second run,
    or a second delivery of the task, sends nothing.
    """
    subscription = Subscription.objects.select_related("contribution__supporter").get(
        pk=subscription_pk
    )
    email = subscription.contribution.supporter.email
    if not email:  # erased
        return False
    notice, _ = SupporterNotice.objects.get_or_create(
        subscription=subscription, kind=kind, key=key, defaults={"to_email": email}
    )
    message = _message(subscription, kind, key)
    message.extra_headers["Message-ID"] = message_id(
        kind=f"notice-{kind}", key=f"{subscription.pk}.{key or 0}"
    )
    slot = SendSlot(
        row=SupporterNotice.objects.filter(pk=notice.pk),
        claimed_field="claimed_at",
        sent_field="sent_at",
    )
    return mail_send_once(slot=slot, send=message.send)


def renewal_key(period_end: datetime) -> str:
    """Name one renewal: the date it falls on (one reminder per renewal)."""
    return period_end.date().isoformat()


def renewal_reminders_due(*, now: datetime | None = None) -> list[tuple[int, str]]:
    """Return (subscription, renewal key) for each annual subscription that renews within the
    reminder window and was not reminded of that renewal yet."""
    now = now or timezone.now()
    window = timedelta(days=settings.PAYMENTS_RENEWAL_REMINDER_DAYS)
    candidates = Subscription.objects.filter(
        interval="year",
        status=Subscription.Status.ACTIVE,
        cancel_at_period_end=False,
        current_period_end__gt=now,
        current_period_end__lte=now + window,
    ).values_list("pk", "current_period_end")
    keyed = [(pk, renewal_key(end)) for pk, end in candidates if end is not None]
    sent = set(
        SupporterNotice.objects.filter(
            kind=Kind.RENEWAL_REMINDER,
            subscription_id__in=[pk for pk, _ in keyed],
            sent_at__isnull=False,
        ).values_list("subscription_id", "key")
    )
    return [(pk, key) for pk, key in keyed if (pk, key) not in sent]


def renewal_reminders_enqueue(*, now: datetime | None = None) -> int:
    """Queue a reminder for each annual renewal coming up; return how many were queued."""
    due = renewal_reminders_due(now=now)
    for pk, key in due:
        notice_enqueue(subscription_pk=pk, kind=Kind.RENEWAL_REMINDER, key=key)
    return len(due)
