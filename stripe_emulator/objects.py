"""Stripe objects in the pinned API version's shapes, built from Stripe's own example objects.

`fixtures.json` is a copy of the resources we need from Stripe's published `fixtures3.json`
(MIT licence, `FIXTURES_LICENSE`). Those examples carry every field, including ones Stripe only
sends when asked (`INCLUDABLE`) and filler values no real object has (`NEUTRAL`); `object_new`
starts from the example, drops the first, neutralises the second, and applies the caller's
fields. Fields the pinned version no longer has are dropped by `REMOVED` (the shape check in the
tests compares every produced object with the stripe library's classes, so a stale field fails).
"""

from __future__ import annotations

import copy
import json
import secrets
import string
from pathlib import Path
from typing import Any

API_VERSION = "2026-10-28.endive"

Obj = dict[str, Any]

FIXTURES: dict[str, Obj] = json.loads((Path(__file__).parent / "fixtures.json").read_text())

# Fields Stripe leaves out unless the request expands them ("includable" in the API reference).
# charge.refunds: not sent since 2022-11-15 (changelog "deprecates-charges-auto-expand").
INCLUDABLE: dict[str, set[str]] = {
    "charge": {"refunds"},
    "checkout.session": {"line_items"},
    "invoice": {"payments"},
}

# Fields of the examples that the pinned version's objects no longer have (the stripe library's
# classes lack them): e.g. the invoice's `subscription` moved to `parent` in 2025-03-31.
REMOVED: dict[str, set[str]] = {
    "invoice": {"subscription"},
    "line_item": {"subscription"},
    "subscription_item": {"plan"},
}

_ADDRESS = {
    "city": None,
    "country": None,
    "line1": None,
    "line2": None,
    "postal_code": None,
    "state": None,
}

# Filler in the examples ("type": "type", random large numbers, sample URLs) replaced with what
# a plain object of ours has. Nested dicts replace the example's value whole.
NEUTRAL: dict[str, Obj] = {
    "account": {"default_currency": "eur", "country": "IE", "email": None},
    "balance_transaction": {"description": None, "exchange_rate": None, "fee_details": []},
    "billing_portal.configuration": {"livemode": False},
    "billing_portal.session": {
        "flow": None,
        "livemode": False,
        "configuration": None,
        "return_url": None,
    },
    "charge": {
        "amount_captured": 0,
        "billing_details": {
            "address": dict(_ADDRESS),
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "captured": True,
        "description": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "payment_method": None,
        "receipt_url": None,
        "shipping": None,
        "source": None,
        "transfer_data": None,
    },
    "checkout.session": {
        "after_expiration": None,
        "automatic_tax": {"enabled": False, "liability": None, "status": None, "provider": None},
        "cancel_url": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "currency_conversion": None,
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer_details": None,
        "invoice_creation": None,
        "payment_intent": None,
        "payment_method_configuration_details": None,
        "saved_payment_method_options": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "success_url": None,
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "managed_payments": {"enabled": False},
        "adaptive_pricing": {"enabled": False},
    },
    "customer": {
        "address": None,
        "currency": None,
        "discount": None,
        "invoice_prefix": None,
        "shipping": None,
    },
    "dispute": {
        "payment_method_details": {
            "card": {
                "brand": "visa",
                "case_type": "chargeback",
                "network": "visa",
                "network_reason_code": "10.4",
            },
            "type": "card",
        },
        "enhanced_eligibility_types": [],
    },
    "event": {},
    "invoice": {
        "account_country": "IE",
        "amount_overpaid": 0,
        "customer_address": None,
        "customer_shipping": None,
        "due_date": None,
        "from_invoice": None,
        "last_finalization_error": None,
        "lines": {"object": "list", "data": [], "has_more": False, "url": ""},
        "next_payment_attempt": None,
        "parent": None,
        "shipping_cost": None,
        "shipping_details": None,
        "webhooks_delivered_at": None,
        "effective_at": None,
    },
    "invoice_payment": {"amount_paid": None, "livemode": False},
    "item": {"adjustable_quantity": None, "metadata": {}},
    "line_item": {"description": None, "parent": None, "subtotal": 0},
    "mandate": {},
    "payment_intent": {
        "amount_details": {"tip": {}},
        "canceled_at": None,
        "last_payment_error": None,
        "next_action": None,
        "payment_method_configuration_details": None,
        "processing": None,
        "shipping": None,
        "transfer_data": None,
        "managed_payments": {"enabled": False},
    },
    "payment_method": {
        "billing_details": {
            "address": dict(_ADDRESS),
            "email": None,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "metadata": {},
    },
    "payout": {"destination": "ba_1Pgc79B7WZ01zgkWoU5vBiXt", "trace_id": None},
    "price": {"custom_unit_amount": None, "transform_quantity": None},
    "product": {"description": None, "package_dimensions": None, "default_price": None},
    "refund": {"destination_details": None},
    "subscription": {
        "billing_cycle_anchor_config": None,
        "cancel_at": None,
        "canceled_at": None,
        "ended_at": None,
        "next_pending_invoice_item_invoice": None,
        "pause_collection": None,
        "pending_invoice_item_interval": None,
        "pending_update": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_start": None,
        "cancel_at_period_end": False,
        "billing_thresholds": None,
        "managed_payments": {"enabled": False},
        "billing_schedules": [],
    },
    "subscription_item": {"billing_thresholds": None},
    "webhook_endpoint": {"description": None},
}

# How Stripe starts each kind of id. Test-mode Checkout Sessions start with cs_test_.
PREFIXES = {
    "account": "acct",
    "balance_transaction": "txn",
    "billing_portal.configuration": "bpc",
    "billing_portal.session": "bps",
    "charge": "ch",
    "checkout.session": "cs_test",
    "customer": "cus",
    "dispute": "dp",
    "event": "evt",
    "invoice": "in",
    "invoice_payment": "inpay",
    "item": "li",
    "line_item": "il",
    "mandate": "mandate",
    "payment_intent": "pi",
    "payment_method": "pm",
    "payout": "po",
    "price": "price",
    "product": "prod",
    "refund": "re",
    "subscription": "sub",
    "subscription_item": "si",
    "webhook_endpoint": "we",
}

_ALPHABET = string.ascii_letters + string.digits


def id_new(kind: str, *, tag: str = "") -> str:
    """Return a fresh id in Stripe's form for an object of `kind` (e.g. `pi_1Q...`).

    A `tag` marks the id (`pi_demo_...`, `cs_demo_...`): the demo's objects say what they are.
    """
    prefix = PREFIXES.get(kind, kind.replace(".", "_"))
    length = 58 if kind == "checkout.session" else 24
    if tag:
        return f"{prefix.removesuffix('_test')}_{tag}_" + "".join(
            secrets.choice(_ALPHABET) for _ in range(length - len(tag) - 1)
        )
    return f"{prefix}_1" + "".join(secrets.choice(_ALPHABET) for _ in range(length - 1))


def template(kind: str) -> Obj:
    """Return a fresh copy of Stripe's example `kind`, without includable and removed fields."""
    data: Obj = copy.deepcopy(FIXTURES[kind])
    for field in INCLUDABLE.get(kind, set()) | REMOVED.get(kind, set()):
        data.pop(field, None)
    for field, value in NEUTRAL.get(kind, {}).items():
        data[field] = copy.deepcopy(value)
    if "metadata" in data:
        data["metadata"] = {}
    if "livemode" in data:
        data["livemode"] = False
    return data


def object_new(kind: str, *, created: int, tag: str = "", **fields: Any) -> Obj:
    """Return a new object of `kind` with a fresh id, `created`, and `fields` over the example."""
    data = template(kind)
    data["id"] = id_new(kind, tag=tag)
    if "created" in data:
        data["created"] = created
    # Fields the example lacks are allowed: the shape check holds them to the library's classes.
    data.update(fields)
    return data


def list_object(items: list[Obj], *, url: str, has_more: bool = False) -> Obj:
    """Return Stripe's list envelope around `items`."""
    return {"object": "list", "data": items, "has_more": has_more, "url": url}


def is_internal(key: str) -> bool:
    """Keys starting with an underscore are the emulator's own bookkeeping, never rendered."""
    return key.startswith("_")


def public(data: Any) -> Any:
    """Return a deep copy of `data` without the emulator's internal keys."""
    if isinstance(data, dict):
        return {k: public(v) for k, v in data.items() if not is_internal(k)}
    if isinstance(data, list):
        return [public(v) for v in data]
    return data
