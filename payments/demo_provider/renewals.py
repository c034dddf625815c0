"""Renewals in the demo: bill a subscription's next period, as Stripe does when one renews.

Stripe opens an invoice for the new period, moves the subscription's period on and charges the
saved card: `invoice.paid` follows, or `invoice.payment_failed` with the subscription past due
and the invoice left open for another attempt. The demo does the same on demand
(`manage.py demo_renew`), and the webhook handlers record it like any Stripe renewal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from payments.demo_provider.store import (
    demo_charge_create,
    demo_event_deliver,
    demo_id_new,
    demo_invoice_payment_intent_id,
    demo_object_load,
    demo_object_save,
    demo_period_seconds,
    unix_now,
)
from payments.gateway import GatewayError, stripe_time
from payments.models import Contribution, Subscription

# What Stripe reports for a saved card the bank now declines.
RENEWAL_DECLINE = ("card_declined", "Your card was declined.")
# Stripe's first retry of a failed renewal, by default (Smart Retries vary it).
RETRY_AFTER_SECONDS = 3 * 24 * 3600


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


@transaction.atomic
def demo_subscription_renew(*, subscription_id: str, fail: bool) -> DemoRenewal:
    """Try the subscription's open invoice again, or bill its next period; deliver the events.

    The events (`invoice.paid` or `invoice.payment_failed`, then
    `customer.subscription.updated`) reach the webhook intake after commit.
    """
    try:
        subscription = demo_object_load(subscription_id, lock=True)
    except GatewayError as error:
        raise DemoRenewalRefused(
            f"The demo provider has no subscription {subscription_id}."
        ) from error
    if subscription["status"] == "canceled":
        raise DemoRenewalRefused(f"Subscription {subscription_id} has been cancelled.")
    invoice = _open_invoice(subscription)
    retried = invoice is not None
    if invoice is None:
        invoice = _next_period_invoice(subscription)
    intent_id = demo_invoice_payment_intent_id(invoice["id"])
    intent = demo_charge_create(
        amount=invoice["amount_due"],
        currency=invoice["currency"],
        metadata={},
        customer=invoice["customer"],
        intent_id=intent_id,
        failure=RENEWAL_DECLINE if fail else None,
    )
    demo_object_save(
        {
            # One per invoice: every attempt goes through the same payment intent.
            "id": "inpay_" + invoice["id"].removeprefix("in_"),
            "object": "invoice_payment",
            "invoice": invoice["id"],
            "is_default": True,
            "payment": {"type": "payment_intent", "payment_intent": intent["id"]},
            "status": "open" if fail else "paid",
        }
    )
    invoice["attempted"] = True
    invoice["attempt_count"] = invoice.get("attempt_count", 0) + 1
    if fail:
        invoice["next_payment_attempt"] = unix_now() + RETRY_AFTER_SECONDS
        subscription["status"] = "past_due"
    else:
        invoice.update(
            status="paid",
            amount_paid=invoice["amount_due"],
            amount_remaining=0,
            next_payment_attempt=None,
        )
        subscription["status"] = "active"
    demo_object_save(invoice)
    demo_object_save(subscription)
    demo_event_deliver(event_type="invoice.payment_failed" if fail else "invoice.paid", obj=invoice)
    demo_event_deliver(event_type="customer.subscription.updated", obj=subscription)
    metadata = subscription.get("metadata") or {}
    return DemoRenewal(
        contribution_id=int(metadata.get("contribution_id") or 0),
        subscription_id=subscription_id,
        invoice_id=invoice["id"],
        paid=not fail,
        retried=retried,
        amount_minor=invoice["amount_due"],
        currency=str(invoice["currency"]).upper(),
        period_end=stripe_time(subscription["items"]["data"][0]["current_period_end"]),
    )


def _open_invoice(subscription: dict[str, Any]) -> dict[str, Any] | None:
    """Return the invoice a failed attempt left open, if any (Stripe retries it, not a new one)."""
    latest = subscription.get("latest_invoice")
    if not latest:
        return None
    invoice = demo_object_load(latest)
    return invoice if invoice["status"] == "open" else None


def _next_period_invoice(subscription: dict[str, Any]) -> dict[str, Any]:
    """Move the subscription on by one period and open the invoice for it."""
    item = subscription["items"]["data"][0]
    start = item["current_period_end"]
    item["current_period_start"] = start
    item["current_period_end"] = start + demo_period_seconds(item["price"]["recurring"]["interval"])
    amount = int(item["price"]["unit_amount"]) * int(item.get("quantity") or 1)
    invoice = demo_object_save(
        {
            "id": demo_id_new("in"),
            "object": "invoice",
            "amount_due": amount,
            "amount_paid": 0,
            "amount_remaining": amount,
            "attempt_count": 0,
            "attempted": False,
            "billing_reason": "subscription_cycle",
            "currency": subscription["currency"],
            "customer": subscription["customer"],
            "created": unix_now(),
            "status": "open",
            "parent": {
                "type": "subscription_details",
                "subscription_details": {
                    "subscription": subscription["id"],
                    "metadata": subscription.get("metadata") or {},
                },
            },
            "livemode": False,
        }
    )
    subscription["latest_invoice"] = invoice["id"]
    return invoice
