"""The demo provider: a stand-in for Stripe when no Stripe key is set.

It keeps Stripe-shaped objects (checkout sessions, payment intents, charges, balance transactions,
subscriptions, invoices) in `DemoObject` rows, answers the same gateway calls Stripe would, and
delivers Stripe-shaped events signed with the demo webhook secret to the webhook intake, so the
ledger is written by exactly the code that handles real Stripe events. Settings refuse to turn it
on while a Stripe key is set.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from payments.gateway import (
    BalanceEntry,
    ChargeDetails,
    CheckoutRequest,
    CheckoutSession,
    GatewayError,
    RefundResult,
    SubscriptionState,
    stripe_time,
    subscription_state_from,
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
# A fee like Stripe's for European cards: 1.5% + 0.25.
DEMO_FEE_PERCENT = 1.5
DEMO_FEE_FIXED_MINOR = 25
INTERVALS = {"monthly": "month", "annual": "year"}


def _new_id(prefix: str) -> str:
    return f"{prefix}_demo_{secrets.token_hex(8)}"


def _now() -> int:
    return int(time.time())


def _save(data: dict[str, Any]) -> dict[str, Any]:
    DemoObject.objects.update_or_create(
        object_id=data["id"], defaults={"object_type": data["object"], "data": data}
    )
    return data


def _load(object_id: str, *, lock: bool = False) -> dict[str, Any]:
    rows = DemoObject.objects.select_for_update() if lock else DemoObject.objects
    row = rows.filter(object_id=object_id).first()
    if row is None:
        raise GatewayError(f"No such object: {object_id}")
    data: dict[str, Any] = row.data
    return data


def demo_event_deliver(*, event_type: str, obj: dict[str, Any]) -> None:
    """Sign a Stripe-shaped event and hand it to the webhook intake after commit."""
    event = {
        "id": _new_id("evt"),
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": _now(),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }

    def deliver() -> None:
        from payments.stripe_gateway import event_json, webhook_signature_header
        from payments.webhooks import webhook_event_receive

        payload = event_json(event)
        signature = webhook_signature_header(
            payload=payload, secret=settings.PAYMENTS_DEMO_WEBHOOK_SECRET
        )
        webhook_event_receive(payload=payload, signature=signature)

    transaction.on_commit(deliver)


def _demo_fee(amount_minor: int) -> int:
    return round(amount_minor * DEMO_FEE_PERCENT / 100) + DEMO_FEE_FIXED_MINOR


def _charge_create(
    *, amount: int, currency: str, metadata: dict[str, str], customer: str
) -> dict[str, Any]:
    """Create a succeeded payment intent with its charge and balance transaction."""
    created = _now()
    intent_id, charge_id, txn_id = _new_id("pi"), _new_id("ch"), _new_id("txn")
    fee = _demo_fee(amount)
    txn = _save(
        {
            "id": txn_id,
            "object": "balance_transaction",
            "amount": amount,
            "currency": currency,
            "fee": fee,
            "net": amount - fee,
            "created": created,
            "source": charge_id,
            "type": "charge",
            "status": "pending",
        }
    )
    charge = _save(
        {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_refunded": 0,
            "currency": currency,
            "created": created,
            "balance_transaction": txn_id,
            "payment_intent": intent_id,
            "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
            "paid": True,
            "refunded": False,
            "refunds": {"object": "list", "data": [], "has_more": False},
            "status": "succeeded",
            "metadata": metadata,
            "customer": customer,
            "failure_code": None,
            "failure_message": None,
            "livemode": False,
        }
    )
    return _save(
        {
            # What Stripe would return with expand=["latest_charge.balance_transaction"].
            "demo_expanded": {"charge": charge, "balance_transaction": txn},
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": amount,
            "currency": currency,
            "created": created,
            "customer": customer,
            "latest_charge": charge_id,
            "metadata": metadata,
            "status": "succeeded",
            "livemode": False,
        }
    )


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
    session = _load(session_id, lock=True)
    if session["status"] == "complete":
        return DemoOutcome(redirect_url=session["return_url"])
    digits = "".join(ch for ch in card_number if ch.isdigit())
    if digits in CARD_ERRORS:
        return DemoOutcome(error=CARD_ERRORS[digits][1])
    if digits == AUTHENTICATION_CARD:
        session["awaiting_authentication"] = True
        _save(session)
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
    session = _load(session_id, lock=True)
    if session["status"] == "complete":
        return DemoOutcome(redirect_url=session["return_url"])
    if not session.get("awaiting_authentication"):
        return DemoOutcome(error="This payment does not need authentication.")
    session["awaiting_authentication"] = False
    _save(session)
    if not approve:
        return DemoOutcome(error="Authentication failed, so nothing was charged. Try again.")
    return _complete(session)


def _complete(session: dict[str, Any]) -> DemoOutcome:
    metadata = session["metadata"]
    amount, currency = session["amount_total"], session["currency"]
    customer = session.get("customer") or _new_id("cus")
    session.update(status="complete", payment_status="paid", customer=customer)
    if session["mode"] == "payment":
        intent = _charge_create(
            amount=amount, currency=currency, metadata=metadata, customer=customer
        )
        session["payment_intent"] = intent["id"]
        _save(session)
        demo_event_deliver(event_type="checkout.session.completed", obj=session)
        return DemoOutcome(redirect_url=session["return_url"])
    now = _now()
    interval = session["recurring_interval"]
    period = timedelta(days=365 if interval == "year" else 30)
    subscription_id, invoice_id = _new_id("sub"), _new_id("in")
    subscription = _save(
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
                        "id": _new_id("si"),
                        "object": "subscription_item",
                        "quantity": 1,
                        "current_period_start": now,
                        "current_period_end": now + int(period.total_seconds()),
                        "price": {
                            "id": _new_id("price"),
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
    intent = _charge_create(amount=amount, currency=currency, metadata={}, customer=customer)
    _save(
        {
            "id": _new_id("inpay"),
            "object": "invoice_payment",
            "invoice": invoice_id,
            "is_default": True,
            "payment": {"type": "payment_intent", "payment_intent": intent["id"]},
            "status": "paid",
        }
    )
    invoice = _save(
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
    _save(session)
    demo_event_deliver(event_type="checkout.session.completed", obj=session)
    demo_event_deliver(event_type="customer.subscription.created", obj=subscription)
    demo_event_deliver(event_type="invoice.paid", obj=invoice)
    return DemoOutcome(redirect_url=session["return_url"])


class DemoGateway:
    """The gateway interface answered from `DemoObject` rows instead of Stripe's API."""

    name = "demo"

    def checkout_session_create(self, *, request: CheckoutRequest) -> CheckoutSession:
        # Derived from our row (idempotent) but keyed, so nobody can guess another reader's.
        key = f"contribution-{request.contribution_id}-checkout".encode()
        secret = settings.PAYMENTS_DEMO_WEBHOOK_SECRET.encode()
        session_id = "cs_demo_" + hmac.new(secret, key, hashlib.sha256).hexdigest()[:32]
        existing = demo_checkout_session(session_id=session_id)
        url = reverse("payments:demo-checkout", args=[session_id])
        if existing is None:
            _save(
                {
                    "id": session_id,
                    "object": "checkout.session",
                    "mode": "payment" if request.frequency == "one_off" else "subscription",
                    "submit_type": "donate" if request.frequency == "one_off" else None,
                    "amount_total": request.amount_minor,
                    "currency": request.currency.lower(),
                    "customer": request.customer_id,
                    "customer_email": request.customer_email,
                    "client_reference_id": str(request.contribution_id),
                    "metadata": {"contribution_id": str(request.contribution_id)},
                    "recurring_interval": INTERVALS.get(request.frequency),
                    "product_name": request.product_name,
                    "status": "open",
                    "payment_status": "unpaid",
                    "payment_intent": None,
                    "subscription": None,
                    "created": _now(),
                    "return_url": request.return_url.replace("{CHECKOUT_SESSION_ID}", session_id),
                    "cancel_url": request.cancel_url,
                    "url": url,
                    "ui_mode": "hosted_page",
                    "livemode": False,
                }
            )
        return CheckoutSession(id=session_id, ui_mode="hosted_page", client_secret=None, url=url)

    def payment_intent_details(self, *, payment_intent_id: str) -> ChargeDetails:
        intent = _load(payment_intent_id)
        charge = intent["demo_expanded"]["charge"]
        txn = intent["demo_expanded"]["balance_transaction"]
        return ChargeDetails(
            payment_intent_id=intent["id"],
            status="succeeded" if intent["status"] == "succeeded" else "pending",
            amount_minor=intent["amount"],
            currency=intent["currency"].upper(),
            charge_id=charge["id"],
            balance_transaction_id=txn["id"],
            fee_minor=txn["fee"],
            net_minor=txn["net"],
            payment_method_type="card",
            paid_at=stripe_time(charge["created"]),
            failure_code="",
            failure_message="",
            customer_id=intent.get("customer"),
        )

    def invoice_payment_intent_id(self, *, invoice_id: str) -> str | None:
        for row in DemoObject.objects.filter(object_type="invoice_payment"):
            if row.data["invoice"] == invoice_id:
                return str(row.data["payment"]["payment_intent"])
        return None

    def refund_create(
        self, *, payment_intent_id: str, amount_minor: int | None, idempotency_key: str
    ) -> RefundResult:
        refund_id = "re_demo_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        intent = _load(payment_intent_id)
        charge = _load(intent["latest_charge"], lock=True)
        existing = next((r for r in charge["refunds"]["data"] if r["id"] == refund_id), None)
        if existing is None:
            amount = amount_minor or charge["amount"] - charge["amount_refunded"]
            if amount <= 0 or charge["amount_refunded"] + amount > charge["amount"]:
                raise GatewayError("The refund is larger than what is left of the payment.")
            existing = {
                "id": refund_id,
                "object": "refund",
                "amount": amount,
                "charge": charge["id"],
                "created": _now(),
                "currency": charge["currency"],
                "payment_intent": intent["id"],
                "reason": "requested_by_customer",
                "status": "succeeded",
                "balance_transaction": None,
            }
            charge["refunds"]["data"].append(existing)
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            _save(charge)
            demo_event_deliver(event_type="charge.refunded", obj=charge)
        return RefundResult(
            id=existing["id"],
            status=existing["status"],
            amount_minor=existing["amount"],
            currency=existing["currency"].upper(),
            created=datetime.fromtimestamp(existing["created"], tz=UTC),
        )

    def billing_portal_url(self, *, customer_id: str, return_url: str) -> str:
        return reverse("payments:demo-portal") + "?return=" + return_url

    def subscription_retrieve(self, *, subscription_id: str) -> SubscriptionState:
        return subscription_state_from(_load(subscription_id))

    def subscription_amount_update(
        self, *, subscription_id: str, amount_minor: int, idempotency_key: str
    ) -> SubscriptionState:
        subscription = _load(subscription_id, lock=True)
        subscription["items"]["data"][0]["price"]["unit_amount"] = amount_minor
        _save(subscription)
        demo_event_deliver(event_type="customer.subscription.updated", obj=subscription)
        return subscription_state_from(subscription)

    def subscription_cancel(
        self, *, subscription_id: str, comment: str, idempotency_key: str
    ) -> SubscriptionState:
        subscription = _load(subscription_id, lock=True)
        if subscription["status"] != "canceled":
            now = _now()
            subscription.update(status="canceled", canceled_at=now, ended_at=now)
            subscription["cancellation_details"] = {
                "comment": comment or None,
                "feedback": None,
                "reason": "cancellation_requested",
            }
            _save(subscription)
            demo_event_deliver(event_type="customer.subscription.deleted", obj=subscription)
        return subscription_state_from(subscription)

    def payout_balance_entries(self, *, payout_id: str) -> list[BalanceEntry]:
        return []
