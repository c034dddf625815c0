"""Renewals in the demo: bill a subscription's next period, as Stripe does when one renews.

Stripe opens an invoice for the new period, moves the subscription's period on and charges the
saved card: `invoice.paid` follows, or `invoice.payment_failed` with the subscription past due
and the invoice left open for another attempt (after Stripe's last retry, the subscription is
canceled). The demo's emulator does the same on demand (`manage.py demo_renew`), and the webhook
handlers record it like any Stripe renewal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from payments.demo_provider.store import demo_emulator
from payments.gateway import stripe_time
from payments.models import Contribution, Subscription
from stripe_emulator import ResourceMissing
from stripe_emulator.flows.invoices import subscription_renew


class DemoRenewalRefused(Exception):
    """The renewal cannot be simulated; the message says why, for the person who asked."""


@dataclass(frozen=True)
class DemoRenewal:
    contribution_id: int
    subscription_id: str
    invoice_id: str
    paid: bool
    retried: bool  # an open invoice was tried again (no new period)
    amount_minor: int
    currency: str
    period_end: datetime | None


def demo_renewal_bill(*, reference: str, fail: bool) -> DemoRenewal:
    """Bill the next period of a recurring contribution paid through the demo provider.

    `reference` is our contribution id or the subscription's id (`sub_demo_...`). With `fail`
    the saved card is declined. An invoice left open by a failed attempt is tried again first.
    """
    if not settings.PAYMENTS_DEMO:
        raise DemoRenewalRefused(
            "The demo provider is not active (a Stripe key is set): Stripe bills renewals itself."
        )
    subscription = _subscription_find(reference)
    return demo_subscription_renew(subscription_id=subscription.stripe_subscription_id, fail=fail)


def _subscription_find(reference: str) -> Subscription:
    reference = reference.strip()
    if reference.isdecimal():
        contribution = Contribution.objects.filter(pk=int(reference)).first()
        if contribution is None:
            raise DemoRenewalRefused(f"There is no contribution {reference}.")
    else:
        found = Subscription.objects.filter(stripe_subscription_id=reference).first()
        if found is None:
            raise DemoRenewalRefused(
                f"There is no subscription {reference!r}: give a contribution id (a number) "
                "or a subscription id (sub_demo_...)."
            )
        contribution = found.contribution
    name = f"Contribution {contribution.pk}"
    if not contribution.is_recurring:
        raise DemoRenewalRefused(
            f"{name} is a one-off contribution; only monthly and annual ones renew."
        )
    if contribution.provider != Contribution.Provider.DEMO:
        raise DemoRenewalRefused(f"{name} was made through Stripe, not the demo provider.")
    subscription = Subscription.objects.filter(contribution=contribution).first()
    if subscription is None:
        raise DemoRenewalRefused(
            f"{name} has no subscription yet: its checkout was never paid, so nothing renews."
        )
    if (
        contribution.status == Contribution.Status.CANCELED
        or subscription.status == Subscription.Status.CANCELED
    ):
        raise DemoRenewalRefused(
            f"{name} has been cancelled; a cancelled contribution never renews."
        )
    return subscription


def demo_subscription_renew(*, subscription_id: str, fail: bool) -> DemoRenewal:
    """Try the subscription's open invoice again, or bill its next period; deliver the events.

    The emulator plays Stripe's renewal (`stripe_emulator.flows.invoices.subscription_renew`):
    its events reach the webhook intake after commit.
    """
    emulator = demo_emulator()
    with emulator.step():
        try:
            subscription = emulator.get(subscription_id, "subscription")
        except ResourceMissing as error:
            raise DemoRenewalRefused(
                f"The demo provider has no subscription {subscription_id}."
            ) from error
        if subscription["status"] == "canceled":
            raise DemoRenewalRefused(f"Subscription {subscription_id} has been cancelled.")
        latest = str(subscription.get("latest_invoice") or "")
        retried = bool(latest) and emulator.get(latest, "invoice")["status"] == "open"
        subscription_renew(emulator, subscription_id=subscription_id, fail=fail)
        subscription = emulator.get(subscription_id, "subscription")
        invoice = emulator.get(subscription["latest_invoice"], "invoice")
    metadata = subscription.get("metadata") or {}
    return DemoRenewal(
        contribution_id=int(metadata.get("contribution_id") or 0),
        subscription_id=subscription_id,
        invoice_id=invoice["id"],
        paid=invoice["status"] == "paid",
        retried=retried,
        amount_minor=invoice["amount_due"],
        currency=str(invoice["currency"]).upper(),
        period_end=stripe_time(subscription["items"]["data"][0]["current_period_end"]),
    )
