"""Checkout Sessions: create, retrieve, list, expire, and their line items.

Paying a session is not an API call (the reader does it on Stripe's page): see
`stripe_emulator.flows.checkout`.
"""

from __future__ import annotations

from stripe_emulator.api.customers import price_create
from stripe_emulator.api.params import as_bool, as_int
from stripe_emulator.api.router import (
    ApiError,
    Params,
    includer,
    metadata_merge,
    resource,
    route,
)
from stripe_emulator.core import Emulator
from stripe_emulator.objects import Obj, list_object, object_new

SESSION_LIFETIME_SECONDS = 24 * 3600
UI_MODES = ("hosted_page", "embedded_page")


def session_create(emulator: Emulator, params: Params) -> Obj:
    mode = params.get("mode")
    if mode not in ("payment", "subscription", "setup"):
        raise ApiError(400, "Missing required param: mode.", param="mode")
    ui_mode = params.get("ui_mode", "hosted_page")
    if ui_mode not in UI_MODES:
        raise ApiError(400, f"Invalid ui_mode: {ui_mode}", param="ui_mode")
    if ui_mode == "embedded_page" and ("success_url" in params or "cancel_url" in params):
        raise ApiError(
            400,
            "You cannot use `success_url` or `cancel_url` with `ui_mode=embedded_page`.",
            param="success_url",
        )
    if ui_mode == "embedded_page" and not params.get("return_url"):
        raise ApiError(400, "Missing required param: return_url.", param="return_url")
    if "customer" in params:
        emulator.get(params["customer"], "customer")
        if "customer_email" in params:
            raise ApiError(
                400, "You may only specify one of these parameters: customer, customer_email."
            )
    if mode == "subscription" and "customer_creation" in params:
        raise ApiError(
            400,
            "`customer_creation` can only be used in `payment` mode.",
            param="customer_creation",
        )
    items = [_line_item(emulator, item, mode) for item in params.get("line_items") or []]
    if not items:
        raise ApiError(400, "Missing required param: line_items.", param="line_items")
    currencies = {item["currency"] for item in items}
    if len(currencies) > 1:
        raise ApiError(400, "All line items must share one currency.", param="line_items")
    total = sum(item["amount_total"] for item in items)
    adaptive = params.get("adaptive_pricing") or {}
    session = emulator.create(
        "checkout.session",
        adaptive_pricing={"enabled": as_bool(adaptive.get("enabled", "false"))},
        amount_subtotal=total,
        amount_total=total,
        cancel_url=params.get("cancel_url"),
        client_reference_id=params.get("client_reference_id"),
        currency=currencies.pop(),
        customer=params.get("customer"),
        customer_creation=(
            params.get("customer_creation", "if_required") if mode == "payment" else None
        ),
        customer_email=params.get("customer_email"),
        expires_at=emulator.now() + SESSION_LIFETIME_SECONDS,
        locale=params.get("locale"),
        mode=mode,
        payment_method_types=params.get("payment_method_types") or ["card"],
        return_url=params.get("return_url"),
        submit_type=params.get("submit_type"),
        success_url=params.get("success_url"),
        ui_mode=ui_mode,
        redirect_on_completion="always" if ui_mode == "embedded_page" else None,
    )
    if ui_mode == "embedded_page":
        session["client_secret"] = f"{session['id']}_secret_{session['id'][-24:]}"
        session["url"] = None
    else:
        base = emulator.checkout_page_base or "https://checkout.stripe.com/c"
        session["url"] = f"{base}/pay/{session['id']}"
    metadata_merge(session, params)
    session["_line_items"] = items
    session["_payment_intent_data"] = params.get("payment_intent_data") or {}
    session["_subscription_data"] = params.get("subscription_data") or {}
    return emulator.save(session)


def _line_item(emulator: Emulator, item: Params, mode: str) -> Obj:
    quantity = as_int(item.get("quantity", 1), name="line_items[quantity]")
    if "price" in item:
        price = emulator.get(item["price"], "price")
    elif "price_data" in item:
        price = price_create(emulator, item["price_data"], inline=True)
    else:
        raise ApiError(400, "Each line item needs a price or price_data.", param="line_items")
    if mode == "subscription" and price["type"] != "recurring":
        raise ApiError(
            400,
            "You must provide at least one recurring price in `subscription` mode when using "
            "prices.",
            param="line_items",
        )
    product = emulator.get(price["product"], "product")
    amount = int(price["unit_amount"]) * quantity
    line = object_new(
        "item",
        created=emulator.now(),
        amount_subtotal=amount,
        amount_total=amount,
        currency=price["currency"],
        description=product["name"],
        price=price,
        quantity=quantity,
    )
    return line


def session_redirect_url(session: Obj) -> str:
    """Return where Checkout sends the reader after paying (the template filled in, as Stripe
    does at redirect time; the session keeps the template)."""
    url = session.get("return_url") or session.get("success_url") or ""
    return str(url).replace("{CHECKOUT_SESSION_ID}", session["id"])


def session_line_items(emulator: Emulator, session: Obj) -> Obj:
    return list_object(
        session.get("_line_items", []), url=f"/v1/checkout/sessions/{session['id']}/line_items"
    )


includer("checkout.session", "line_items")(session_line_items)

resource(
    "checkout/sessions",
    "checkout.session",
    filters=("customer", "payment_intent", "subscription", "status"),
)
route("POST", "/v1/checkout/sessions")(session_create)


@route("GET", "/v1/checkout/sessions/{id}/line_items")
def session_line_items_list(emulator: Emulator, params: Params, session_id: str) -> Obj:
    return session_line_items(emulator, emulator.get(session_id, "checkout.session"))


@route("POST", "/v1/checkout/sessions/{id}/expire")
def session_expire(emulator: Emulator, params: Params, session_id: str) -> Obj:
    return checkout_session_expire(emulator, session_id=session_id)


def checkout_session_expire(emulator: Emulator, *, session_id: str) -> Obj:
    """Expire an open session (`checkout.session.expired`); refuse one that is not open."""
    session = emulator.get(session_id, "checkout.session")
    if session["status"] != "open":
        raise ApiError(
            400,
            f'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
            f'Session has a status of "{session["status"]}".',
        )
    session.update(status="expired", client_secret=None, url=None)
    emulator.save(session)
    emulator.emit("checkout.session.expired", session)
    return session
