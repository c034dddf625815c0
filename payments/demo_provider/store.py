"""The demo provider's objects, kept as `DemoObject` rows, and the signed events it delivers."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction

from payments.gateway import GatewayError
from payments.models import DemoObject

# A fee like Stripe's for European cards: 1.5% + 0.25.
DEMO_FEE_PERCENT = 1.5
DEMO_FEE_FIXED_MINOR = 25


def demo_id_new(prefix: str) -> str:
    return f"{prefix}_demo_{secrets.token_hex(8)}"


def unix_now() -> int:
    return int(time.time())


def demo_object_save(data: dict[str, Any]) -> dict[str, Any]:
    DemoObject.objects.update_or_create(
        object_id=data["id"], defaults={"object_type": data["object"], "data": data}
    )
    return data


def demo_object_load(object_id: str, *, lock: bool = False) -> dict[str, Any]:
    rows = DemoObject.objects.select_for_update() if lock else DemoObject.objects
    row = rows.filter(object_id=object_id).first()
    if row is None:
        raise GatewayError(f"No such object: {object_id}")
    data: dict[str, Any] = row.data
    return data


def demo_event_deliver(*, event_type: str, obj: dict[str, Any]) -> None:
    """Sign a Stripe-shaped event and hand it to the webhook intake after commit."""
    event = {
        "id": demo_id_new("evt"),
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": unix_now(),
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


def demo_charge_create(
    *,
    amount: int,
    currency: str,
    metadata: dict[str, str],
    customer: str,
    intent_id: str | None = None,
    failure: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Charge the card once and return the payment intent.

    Succeeded: a charge with its balance transaction (and the demo fee). With `failure` (Stripe's
    failure code and message): a declined charge, and the intent waits for another payment
    method, as Stripe leaves it. `intent_id` makes this another attempt on an existing intent.
    """
    created = unix_now()
    intent_id, charge_id = intent_id or demo_id_new("pi"), demo_id_new("ch")
    txn = None
    if failure is None:
        fee = _demo_fee(amount)
        txn = demo_object_save(
            {
                "id": demo_id_new("txn"),
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
    charge = demo_object_save(
        {
            "id": charge_id,
            "object": "charge",
            "amount": amount,
            "amount_refunded": 0,
            "currency": currency,
            "created": created,
            "balance_transaction": txn["id"] if txn is not None else None,
            "payment_intent": intent_id,
            "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
            "paid": failure is None,
            "refunded": False,
            "status": "succeeded" if failure is None else "failed",
            "metadata": metadata,
            "customer": customer,
            "failure_code": failure[0] if failure is not None else None,
            "failure_message": failure[1] if failure is not None else None,
            "livemode": False,
        }
    )
    return demo_object_save(
        {
            # What Stripe would return with expand=["latest_charge.balance_transaction"].
            "demo_expanded": {"charge": charge, "balance_transaction": txn},
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": amount if failure is None else 0,
            "currency": currency,
            "created": created,
            "customer": customer,
            "latest_charge": charge_id,
            "metadata": metadata,
            "status": "succeeded" if failure is None else "requires_payment_method",
            "livemode": False,
        }
    )


def demo_invoice_payment_intent_id(invoice_id: str) -> str | None:
    """Return the payment intent that pays (or tries to pay) a demo invoice."""
    row = DemoObject.objects.filter(object_type="invoice_payment", data__invoice=invoice_id).first()
    return str(row.data["payment"]["payment_intent"]) if row is not None else None


def demo_period_seconds(interval: str) -> int:
    """Return the length of a demo billing period: 30 days for a month, 365 for a year."""
    return int(timedelta(days=365 if interval == "year" else 30).total_seconds())
