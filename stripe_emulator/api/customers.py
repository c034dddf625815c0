"""Customers, products, prices and the Billing Portal: the catalogue side of the API."""

from __future__ import annotations

import copy
from typing import Any

from stripe_emulator.api.params import as_bool, as_int
from stripe_emulator.api.router import (
    ApiError,
    Params,
    metadata_merge,
    resource,
    route,
)
from stripe_emulator.core import Emulator
from stripe_emulator.objects import Obj


def customer_create(emulator: Emulator, params: Params) -> Obj:
    customer = emulator.create(
        "customer",
        email=params.get("email") or None,
        name=params.get("name") or None,
        invoice_prefix=_invoice_prefix(),
    )
    metadata_merge(customer, params)
    emulator.save(customer)
    emulator.emit("customer.created", customer)
    return customer


def _invoice_prefix() -> str:
    from stripe_emulator.objects import id_new

    return id_new("x")[3:11].upper()


def customer_update(emulator: Emulator, customer: Obj, params: Params) -> Obj:
    previous = copy.deepcopy({k: customer[k] for k in ("email", "name", "metadata")})
    for name in ("email", "name", "description", "phone"):
        if name in params:
            customer[name] = params[name] or None
    metadata_merge(customer, params)
    changed = {k: v for k, v in previous.items() if customer[k] != v}
    emulator.save(customer)
    if changed:
        emulator.emit("customer.updated", customer, previous=changed)
    return customer


resource(
    "customers",
    "customer",
    create=customer_create,
    update=customer_update,
    filters=("email",),
)


def product_create(emulator: Emulator, params: Params, *, active: bool = True) -> Obj:
    if not params.get("name"):
        raise ApiError(400, "Missing required param: name.", param="name")
    product = emulator.create(
        "product",
        name=params["name"],
        active=as_bool(params.get("active", "true")) and active,
        description=params.get("description") or None,
        updated=emulator.now(),
        type="service",
    )
    metadata_merge(product, params)
    emulator.save(product)
    emulator.emit("product.created", product)
    return product


def product_update(emulator: Emulator, product: Obj, params: Params) -> Obj:
    previous = copy.deepcopy({k: product[k] for k in ("name", "active", "metadata")})
    if "name" in params:
        product["name"] = params["name"]
    if "active" in params:
        product["active"] = as_bool(params["active"])
    metadata_merge(product, params)
    product["updated"] = emulator.now()
    emulator.save(product)
    emulator.emit(
        "product.updated", product, previous={k: v for k, v in previous.items() if product[k] != v}
    )
    return product


resource(
    "products",
    "product",
    create=lambda emulator, params: product_create(emulator, params),
    update=product_update,
    filters=("active",),
)


def price_create(emulator: Emulator, params: Params, *, inline: bool = False) -> Obj:
    """Create a price (`inline`: from a Checkout or subscription `price_data`, kept hidden)."""
    currency = str(params.get("currency") or "").lower()
    if not currency:
        raise ApiError(400, "Missing required param: currency.", param="currency")
    product_id = params.get("product")
    if product_id:
        emulator.get(product_id, "product")
    elif params.get("product_data"):
        product_id = product_create(emulator, params["product_data"])["id"]
    else:
        raise ApiError(400, "Missing required param: product.", param="product")
    amount = as_int(params.get("unit_amount"), name="unit_amount")
    recurring = params.get("recurring")
    price = emulator.create(
        "price",
        active=not inline,
        currency=currency,
        product=product_id,
        unit_amount=amount,
        unit_amount_decimal=str(amount),
        type="recurring" if recurring else "one_time",
        recurring={
            "interval": recurring["interval"],
            "interval_count": as_int(recurring.get("interval_count", 1), name="interval_count"),
            "meter": None,
            "usage_type": "licensed",
            "trial_period_days": None,
        }
        if recurring
        else None,
        lookup_key=params.get("lookup_key") or None,
    )
    metadata_merge(price, params)
    emulator.save(price)
    emulator.emit("price.created", price)
    return price


resource(
    "prices",
    "price",
    create=lambda emulator, params: price_create(emulator, params),
    filters=("product", "active", "currency", "type"),
)


@route("GET", "/v1/account")
def account_retrieve(emulator: Emulator, params: Params) -> Obj:
    return emulator.account()


@route("GET", "/v1/balance")
def balance_retrieve(emulator: Emulator, params: Params) -> Obj:
    totals = emulator.balance() or {emulator.default_currency: {"available": 0, "pending": 0}}
    return {
        "object": "balance",
        "livemode": False,
        "available": [
            {
                "amount": row["available"],
                "currency": cur,
                "source_types": {"card": row["available"]},
            }
            for cur, row in sorted(totals.items())
        ],
        "pending": [
            {"amount": row["pending"], "currency": cur, "source_types": {"card": row["pending"]}}
            for cur, row in sorted(totals.items())
        ],
    }


def _booleans(value: Any) -> Any:
    """Form-encoded booleans ("true"/"false") back to booleans, at any depth."""
    if isinstance(value, dict):
        return {key: _booleans(item) for key, item in value.items()}
    if value in ("true", "false"):
        return as_bool(value)
    return value


def portal_configuration_create(emulator: Emulator, params: Params) -> Obj:
    configuration = emulator.create(
        "billing_portal.configuration",
        is_default=not emulator.find("billing_portal.configuration"),
        updated=emulator.now(),
    )
    return portal_configuration_update(emulator, configuration, params, event="created")


def portal_configuration_update(
    emulator: Emulator, configuration: Obj, params: Params, *, event: str = "updated"
) -> Obj:
    before = copy.deepcopy(configuration)
    features = params.get("features") or {}
    for name, value in features.items():
        target = configuration["features"].setdefault(name, {})
        for key, setting in value.items():
            target[key] = _booleans(setting)
    if "business_profile" in params:
        configuration["business_profile"].update(params["business_profile"])
    if "default_return_url" in params:
        configuration["default_return_url"] = params["default_return_url"] or None
    if configuration.get("metadata") is None:
        configuration["metadata"] = {}
    metadata_merge(configuration, params)
    configuration["updated"] = emulator.now()
    emulator.save(configuration)
    previous = {k: v for k, v in before.items() if configuration.get(k) != v}
    if event == "created":
        emulator.emit("billing_portal.configuration.created", configuration)
    elif previous:
        emulator.emit("billing_portal.configuration.updated", configuration, previous=previous)
    return configuration


resource(
    "billing_portal/configurations",
    "billing_portal.configuration",
    create=portal_configuration_create,
    update=portal_configuration_update,
    filters=("is_default",),
)


@route("POST", "/v1/billing_portal/sessions")
def portal_session_create(emulator: Emulator, params: Params) -> Obj:
    customer = emulator.get(str(params.get("customer") or ""), "customer")
    configuration = params.get("configuration")
    if configuration:
        emulator.get(configuration, "billing_portal.configuration")
    else:
        defaults = emulator.find("billing_portal.configuration", is_default=True)
        if not defaults:
            raise ApiError(
                400,
                "No configuration provided and your test mode default configuration has not been "
                "created. Provide a configuration or create your default by saving your customer "
                "portal settings in test mode at "
                "https://dashboard.stripe.com/test/settings/billing/portal.",
            )
        configuration = defaults[0]["id"]
    session = emulator.create(
        "billing_portal.session",
        customer=customer["id"],
        configuration=configuration,
        return_url=params.get("return_url") or None,
    )
    session["url"] = f"https://billing.stripe.com/p/session/test_{session['id'][4:]}"
    return emulator.save(session)
