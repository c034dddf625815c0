"""Subscriptions, invoices and invoice payments."""

from __future__ import annotations

import copy

from stripe_emulator.api.customers import price_create
from stripe_emulator.api.params import as_bool, as_int
from stripe_emulator.api.router import (
    ApiError,
    Params,
    includer,
    metadata_merge,
    ref,
    resource,
    route,
)
from stripe_emulator.core import Emulator
from stripe_emulator.flows.invoices import subscription_end
from stripe_emulator.objects import Obj, list_object


def _subscription_of(invoice: Obj) -> str | None:
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return details.get("subscription")


def invoices_list(emulator: Emulator, params: Params) -> list[Obj]:
    found = emulator.store.scan("invoice")
    if "customer" in params:
        found = [i for i in found if i["customer"] == params["customer"]]
    if "status" in params:
        found = [i for i in found if i["status"] == params["status"]]
    if "subscription" in params:
        found = [i for i in found if _subscription_of(i) == params["subscription"]]
    return found


resource("invoices", "invoice", lister=invoices_list)


@includer("invoice", "payments")
def invoice_payments_included(emulator: Emulator, invoice: Obj) -> Obj:
    payments = emulator.find("invoice_payment", invoice=invoice["id"])
    return list_object(payments, url=f"/v1/invoice_payments?invoice={invoice['id']}")


def invoice_payments_list(emulator: Emulator, params: Params) -> list[Obj]:
    found = emulator.store.scan("invoice_payment")
    if "invoice" in params:
        found = [p for p in found if p["invoice"] == params["invoice"]]
    payment = params.get("payment") or {}
    if "payment_intent" in payment:
        found = [
            p for p in found if p["payment"].get("payment_intent") == payment["payment_intent"]
        ]
    if "status" in params:
        found = [p for p in found if p["status"] == params["status"]]
    return found


resource("invoice_payments", "invoice_payment", lister=invoice_payments_list)


def subscriptions_list(emulator: Emulator, params: Params) -> list[Obj]:
    status = params.get("status")
    found = [
        s
        for s in emulator.store.scan("subscription")
        if (
            status == "all"
            or (status is None and s["status"] != "canceled")
            or s["status"] == status
        )
    ]
    if "customer" in params:
        found = [s for s in found if ref(s["customer"]) == params["customer"]]
    return found


def subscription_update(emulator: Emulator, subscription: Obj, params: Params) -> Obj:
    """Change items (new price), a scheduled cancellation or metadata (an `updated` event)."""
    if subscription["status"] in ("canceled", "incomplete_expired"):
        raise ApiError(
            400,
            "A canceled subscription can only update its cancellation_details and metadata.",
        )
    before = copy.deepcopy(subscription)
    for change in params.get("items") or []:
        item = next((i for i in subscription["items"]["data"] if i["id"] == change.get("id")), None)
        if item is None:
            raise ApiError(404, f"No such subscription item: '{change.get('id')}'", param="items")
        if "price_data" in change:
            item["price"] = price_create(emulator, change["price_data"], inline=True)
        elif "price" in change:
            item["price"] = emulator.get(change["price"], "price")
        if "quantity" in change:
            item["quantity"] = as_int(change["quantity"], name="quantity")
    if "cancel_at_period_end" in params:
        subscription["cancel_at_period_end"] = as_bool(params["cancel_at_period_end"])
        end = subscription["items"]["data"][0]["current_period_end"]
        subscription["cancel_at"] = end if subscription["cancel_at_period_end"] else None
        subscription["canceled_at"] = (
            emulator.now() if subscription["cancel_at_period_end"] else None
        )
    if "cancel_at" in params:
        value = params["cancel_at"]
        subscription["cancel_at"] = as_int(value, name="cancel_at") if value else None
        subscription["canceled_at"] = emulator.now() if value else None
    if "cancellation_details" in params:
        subscription["cancellation_details"].update(
            {k: v or None for k, v in params["cancellation_details"].items()}
        )
    metadata_merge(subscription, params)
    previous = {k: before[k] for k in subscription if before.get(k) != subscription[k]}
    emulator.save(subscription)
    if previous:
        emulator.emit("customer.subscription.updated", subscription, previous=previous)
    return subscription


resource(
    "subscriptions",
    "subscription",
    update=subscription_update,
    lister=subscriptions_list,
)


@route("DELETE", "/v1/subscriptions/{id}")
def subscription_cancel(emulator: Emulator, params: Params, subscription_id: str) -> Obj:
    subscription = emulator.get(subscription_id, "subscription")
    if subscription["status"] == "canceled":
        raise ApiError(
            400,
            "A canceled subscription can only update its cancellation_details and metadata. "
            f"({subscription_id} is canceled.)",
        )
    details = params.get("cancellation_details") or {}
    return subscription_end(
        emulator,
        subscription_id=subscription_id,
        reason="cancellation_requested",
        comment=details.get("comment") or None,
        feedback=details.get("feedback") or None,
    )
