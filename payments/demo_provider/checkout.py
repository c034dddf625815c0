"""The demo checkout page's logic: pay a session with one of Stripe's test cards.

A paid session becomes a payment intent (one-off) or a subscription with its first invoice
(monthly, annual), and the events Stripe would send are delivered to the webhook intake.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from payments.demo_provider.store import (
    demo_charge_create,
    demo_event_deliver,
    demo_id_new,
    demo_object_load,
    demo_object_save,
    demo_period_seconds,
    unix_now,
)
from payments.models import DemoObject

# Stripe's documented test cards and what each does here.
SUCCESS_CARD = "4242424242424242"
DECLINE_CARD = "4000000000000002"
INSUFFICIENT_FUNDS_CARD = "4000000000009995"
AUTHENTICATION_CARD = "4000002500003155"
CARD_ERRORS = {
    DECLINE_CARD: ("card_declined", "Your card was declined. Try another card."),
    INSUFFICIENT_FUNDS_CARD: (
        "insufficient_funds",
        "Your card has insufficient funds. Try another card.",
    ),
}


@dataclass(frozen=True)
class DemoOutcome:
    """What the demo checkout page does next: go on, ask for authentication, or show an error."""

    redirect_url: str = ""
    error: str = ""
    needs_authentication: bool = False


def demo_checkout_session(*, session_id: str) -> dict[str, Any] | None:
    row = DemoObject.objects.filter(object_id=session_id, object_type="checkout.session").first()
    return row.data if row is not None else None


@transaction.atomic
def demo_checkout_pay(*, session_id: str, card_number: str) -> DemoOutcome:
    """Pay a demo checkout session with one of Stripe's test card numbers."""
    session = demo_object_load(session_id, lock=True)
    if session["status"] == "complete":
        return DemoOutcome(redirect_url=session["return_url"])
    digits = "".join(ch for ch in card_number if ch.isdigit())
    if digits in CARD_ERRORS:
        return DemoOutcome(error=CARD_ERRORS[digits][1])
    if digits == AUTHENTICATION_CARD:
        session["awaiting_authentication"] = True
        demo_object_save(session)
        return DemoOutcome(needs_authentication=True)
    if digits != SUCCESS_CARD:
        return DemoOutcome(
            error=(
                "This demo accepts only Stripe's test cards, e.g. 4242 4242 4242 4242 "
                "(succeeds) or 4000 0000 0000 0002 (declined)."
            )
        )
    return _complete(session)


@transaction.atomic
def demo_checkout_authenticate(*, session_id: str, approve: bool) -> DemoOutcome:
    """Finish (or fail) the 3-D Secure step of a demo checkout."""
    session = demo_object_load(session_id, lock=True)
    if session["status"] == "complete":
        return DemoOutcome(redirect_url=session["return_url"])
    if not session.get("awaiting_authentication"):
        return DemoOutcome(error="This payment does not need authentication.")
    session["awaiting_authentication"] = False
    demo_object_save(session)
    if not approve:
        return DemoOutcome(error="Authentication failed, so nothing was charged. Try again.")
    return _complete(session)


def _complete(session: dict[str, Any]) -> DemoOutcome:
    metadata = session["metadata"]
    amount, currency = session["amount_total"], session["currency"]
    customer = session.get("customer") or demo_id_new("cus")
    session.update(status="complete", payment_status="paid", customer=customer)
    if session["mode"] == "payment":
        intent = demo_charge_create(
            amount=amount, currency=currency, metadata=metadata, customer=customer
        )
        session["payment_intent"] = intent["id"]
        demo_object_save(session)
        demo_event_deliver(event_type="checkout.session.completed", obj=session)
        return DemoOutcome(redirect_url=session["return_url"])
    now = unix_now()
    interval = session["recurring_interval"]
    subscription_id, invoice_id = demo_id_new("sub"), demo_id_new("in")
    subscription = demo_object_save(
        {
            "id": subscription_id,
            "object": "subscription",
            "status": "active",
            "customer": customer,
            "currency": currency,
            "metadata": metadata,
            "created": now,
            "cancel_at_period_end": False,
            "canceled_at": None,
            "ended_at": None,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": demo_id_new("si"),
                        "object": "subscription_item",
                        "quantity": 1,
                        "current_period_start": now,
                        "current_period_end": now + demo_period_seconds(interval),
                        "price": {
                            "id": demo_id_new("price"),
                            "object": "price",
                            "currency": currency,
                            "unit_amount": amount,
                            "product": "prod_demo_contribution",
                            "recurring": {"interval": interval, "interval_count": 1},
                        },
                    }
                ],
            },
            "livemode": False,
        }
    )
    intent = demo_charge_create(amount=amount, currency=currency, metadata={}, customer=customer)
    demo_object_save(
        {
            "id": demo_id_new("inpay"),
            "object": "invoice_payment",
            "invoice": invoice_id,
            "is_default": True,
            "payment": {"type": "payment_intent", "payment_intent": intent["id"]},
            "status": "paid",
        }
    )
    invoice = demo_object_save(
        {
            "id": invoice_id,
            "object": "invoice",
            "amount_due": amount,
            "amount_paid": amount,
            "amount_remaining": 0,
            "billing_reason": "subscription_create",
            "currency": currency,
            "customer": customer,
            "created": now,
            "status": "paid",
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": subscription_id, "metadata": metadata},
            },
            "livemode": False,
        }
    )
    session["subscription"] = subscription_id
    session["invoice"] = invoice_id
    demo_object_save(session)
    demo_event_deliver(event_type="checkout.session.completed", obj=session)
    demo_event_deliver(event_type="customer.subscription.created", obj=subscription)
    demo_event_deliver(event_type="invoice.paid", obj=invoice)
    return DemoOutcome(redirect_url=session["return_url"])
