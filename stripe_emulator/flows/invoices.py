"""Subscriptions and their invoices: the first period, renewals, failed renewals and retries.

Renewal (`subscription_renew`): invoice.created (draft, `subscription_cycle`),
customer.subscription.updated (the period moved on), invoice.finalized, payment_intent.created,
then charge.succeeded, payment_intent.succeeded, invoice_payment.paid, invoice.paid,
invoice.payment_succeeded, charge.updated; or charge.failed, payment_intent.payment_failed,
invoice.payment_failed and the subscription `past_due`. Each further call retries the open
invoice (same payment intent, as Stripe's retries do); after `MAX_ATTEMPTS` failed attempts the
subscription is canceled (`customer.subscription.deleted`, reason `payment_failed`), Stripe's
default when retries are exhausted.
"""

from __future__ import annotations

import copy
from typing import Any

from stripe_emulator.core import Emulator
from stripe_emulator.flows.cards import GENERIC_DECLINE, MethodSpec, method_lookup
from stripe_emulator.flows.payments import (
    charge_settle,
    debit_settle,
    payment_attempt,
    payment_intent_create,
)
from stripe_emulator.objects import Obj, object_new

DAY = 86400
# Days after the first failed attempt at which Stripe tries again (then gives up).
RETRY_DAYS = (3, 5, 7)
MAX_ATTEMPTS = len(RETRY_DAYS) + 1
PERIOD_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}


def period_end(start: int, price: Obj) -> int:
    recurring = price["recurring"]
    return start + PERIOD_DAYS[recurring["interval"]] * int(recurring["interval_count"]) * DAY


def subscription_item_new(emulator: Emulator, *, price: Obj, quantity: int, start: int) -> Obj:
    return object_new(
        "subscription_item",
        created=emulator.now(),
        current_period_start=start,
        current_period_end=period_end(start, price),
        discounts=[],
        price=copy.deepcopy(price),
        quantity=quantity,
        subscription=None,
        tax_rates=[],
    )


def subscription_start(
    emulator: Emulator,
    *,
    customer: str,
    items: list[Obj],
    metadata: dict[str, str],
    payment_method: Obj,
) -> tuple[Obj, Obj]:
    """Create an incomplete subscription and its finalized first invoice."""
    now = emulator.now()
    subscription_items = [
        subscription_item_new(emulator, price=item["price"], quantity=item["quantity"], start=now)
        for item in items
    ]
    subscription = emulator.create(
        "subscription",
        automatic_tax={"enabled": False, "liability": None, "disabled_reason": None},
        billing_cycle_anchor=now,
        billing_mode={"flexible": None, "type": "classic", "updated_at": None},
        currency=subscription_items[0]["price"]["currency"],
        customer=customer,
        default_payment_method=payment_method["id"],
        invoice_settings={
            "account_tax_ids": None,
            "custom_fields": None,
            "description": None,
            "footer": None,
            "issuer": {"type": "self"},
        },
        items={"object": "list", "data": subscription_items, "has_more": False, "url": ""},
        payment_settings={
            "payment_method_options": None,
            "payment_method_types": None,
            "save_default_payment_method": "off",
        },
        start_date=now,
        status="incomplete",
        trial_settings={"end_behavior": {"missing_payment_method": "create_invoice"}},
    )
    subscription["metadata"] = dict(metadata)
    subscription["items"]["url"] = f"/v1/subscription_items?subscription={subscription['id']}"
    for item in subscription["items"]["data"]:
        item["subscription"] = subscription["id"]
    emulator.save(subscription)
    emulator.emit("customer.subscription.created", subscription)
    invoice = invoice_open(
        emulator, subscription=subscription, billing_reason="subscription_create"
    )
    subscription["latest_invoice"] = invoice["id"]
    emulator.save(subscription)
    return emulator.get(subscription["id"]), invoice


def invoice_open(emulator: Emulator, *, subscription: Obj, billing_reason: str) -> Obj:
    """Create the invoice for the subscription's current period and finalize it."""
    customer = emulator.get(subscription["customer"], "customer")
    item = subscription["items"]["data"][0]
    invoice = emulator.create(
        "invoice",
        amount_due=0,
        amount_remaining=0,
        auto_advance=True,
        automatic_tax={
            "enabled": False,
            "liability": None,
            "status": None,
            "disabled_reason": None,
            "provider": None,
        },
        billing_reason=billing_reason,
        currency=subscription["currency"],
        customer=customer["id"],
        customer_email=customer["email"],
        customer_name=customer["name"],
        customer_tax_ids=[],
        default_payment_method=None,
        parent={
            "quote_details": None,
            "subscription_details": {
                "metadata": dict(subscription["metadata"]),
                "subscription": subscription["id"],
            },
            "type": "subscription_details",
        },
        payment_settings={
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        period_start=item["current_period_start"],
        period_end=item["current_period_start"],
        status="draft",
        total_pretax_credit_amounts=[],
        total_taxes=[],
        effective_at=None,
        due_date=None,
    )
    lines = [
        _invoice_line(emulator, invoice, subscription, sub_item)
        for sub_item in subscription["items"]["data"]
    ]
    total = sum(line["amount"] for line in lines)
    invoice.update(
        amount_due=total,
        amount_remaining=total,
        subtotal=total,
        subtotal_excluding_tax=total,
        total=total,
        total_excluding_tax=total,
        lines={
            "object": "list",
            "data": lines,
            "has_more": False,
            "url": f"/v1/invoices/{invoice['id']}/lines",
        },
    )
    emulator.save(invoice)
    emulator.emit("invoice.created", invoice)
    return invoice_finalize(emulator, invoice=invoice)


def _invoice_line(emulator: Emulator, invoice: Obj, subscription: Obj, item: Obj) -> Obj:
    price = item["price"]
    amount = int(price["unit_amount"]) * int(item["quantity"])
    product = emulator.get(price["product"], "product")
    return object_new(
        "line_item",
        created=emulator.now(),
        amount=amount,
        currency=price["currency"],
        description=f"{item['quantity']} \u00d7 {product['name']}",
        discount_amounts=[],
        discountable=True,
        discounts=[],
        invoice=invoice["id"],
        parent={
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription["id"],
                "subscription_item": item["id"],
            },
            "type": "subscription_item_details",
        },
        period={"end": item["current_period_end"], "start": item["current_period_start"]},
        pretax_credit_amounts=[],
        pricing={
            "price_details": {"price": price["id"], "product": product["id"]},
            "type": "price_details",
            "unit_amount_decimal": str(price["unit_amount"]),
        },
        quantity=item["quantity"],
        subtotal=amount,
        taxes=[],
    )


def invoice_finalize(emulator: Emulator, *, invoice: Obj) -> Obj:
    now = emulator.now()
    sequence = (
        len(emulator.find("invoice", status="open"))
        + len(emulator.find("invoice", status="paid"))
        + 1
    )
    invoice.update(
        status="open",
        number=f"EMU-{sequence:04d}",
        effective_at=now,
        ending_balance=0,
        hosted_invoice_url=f"https://invoice.stripe.com/i/{invoice['id']}",
        invoice_pdf=f"https://pay.stripe.com/invoice/{invoice['id']}/pdf",
    )
    invoice["status_transitions"]["finalized_at"] = now
    emulator.save(invoice)
    emulator.emit("invoice.finalized", invoice)
    return invoice


def _invoice_payment(emulator: Emulator, invoice: Obj) -> Obj:
    """Return the invoice's payment (one per invoice: retries use the same payment intent)."""
    found = emulator.find("invoice_payment", invoice=invoice["id"])
    if found:
        return found[0]
    description = (
        "Subscription creation"
        if invoice["billing_reason"] == "subscription_create"
        else "Subscription update"
    )
    intent = payment_intent_create(
        emulator,
        amount=invoice["amount_due"],
        currency=invoice["currency"],
        customer=invoice["customer"],
        metadata={},
        description=description,
    )
    return emulator.create(
        "invoice_payment",
        amount_paid=None,
        amount_requested=invoice["amount_due"],
        currency=invoice["currency"],
        invoice=invoice["id"],
        is_default=True,
        payment={"payment_intent": intent["id"], "type": "payment_intent"},
        status="open",
        status_transitions={"canceled_at": None, "paid_at": None},
    )


def invoice_collect(
    emulator: Emulator,
    *,
    invoice_id: str,
    payment_method: Obj,
    method: MethodSpec,
    settle: bool = True,
) -> Obj:
    """Try to pay an open invoice with `payment_method`; return the charge."""
    invoice = emulator.get(invoice_id, "invoice")
    invoice_payment = _invoice_payment(emulator, invoice)
    intent = emulator.get(invoice_payment["payment"]["payment_intent"], "payment_intent")
    if intent["payment_method_types"] != [method.kind]:
        intent["payment_method_types"] = [method.kind]
    charge = payment_attempt(
        emulator, intent=intent, payment_method=payment_method, method=method, settle=False
    )
    invoice = emulator.get(invoice_id, "invoice")
    invoice["attempted"] = True
    if charge["status"] == "pending":
        emulator.save(invoice)
        _subscription_status(emulator, invoice, "active")
        return charge
    invoice["attempt_count"] += 1
    if charge["status"] == "failed":
        _invoice_failed(emulator, invoice)
        return charge
    _invoice_paid(emulator, invoice, emulator.get(invoice_payment["id"]))
    if settle:
        charge_settle(emulator, charge_id=charge["id"])
    return emulator.get(charge["id"])


def _invoice_paid(emulator: Emulator, invoice: Obj, invoice_payment: Obj) -> None:
    now = emulator.now()
    invoice_payment.update(status="paid", amount_paid=invoice["amount_due"])
    invoice_payment["status_transitions"]["paid_at"] = now
    emulator.save(invoice_payment)
    emulator.emit("invoice_payment.paid", invoice_payment)
    invoice.update(
        status="paid",
        amount_paid=invoice["amount_due"],
        amount_remaining=0,
        next_payment_attempt=None,
    )
    invoice["status_transitions"]["paid_at"] = now
    emulator.save(invoice)
    emulator.emit("invoice.paid", invoice)
    emulator.emit("invoice.payment_succeeded", invoice)
    _subscription_status(emulator, invoice, "active")


def _invoice_failed(emulator: Emulator, invoice: Obj) -> None:
    attempts = int(invoice["attempt_count"])
    exhausted = attempts >= MAX_ATTEMPTS or invoice["billing_reason"] == "subscription_create"
    invoice["next_payment_attempt"] = (
        None if exhausted else emulator.now() + RETRY_DAYS[attempts - 1] * DAY
    )
    emulator.save(invoice)
    emulator.emit("invoice.payment_failed", invoice)
    if invoice["billing_reason"] == "subscription_create":
        return  # the subscription stays incomplete; the reader was shown the decline
    if exhausted:
        subscription_id = invoice["parent"]["subscription_details"]["subscription"]
        subscription_end(emulator, subscription_id=subscription_id, reason="payment_failed")
    else:
        _subscription_status(emulator, invoice, "past_due")


def _subscription_status(emulator: Emulator, invoice: Obj, status: str) -> None:
    subscription_id = invoice["parent"]["subscription_details"]["subscription"]
    subscription = emulator.get(subscription_id, "subscription")
    if subscription["status"] == status or subscription["status"] == "canceled":
        return
    previous = {"status": subscription["status"]}
    subscription["status"] = status
    emulator.save(subscription)
    emulator.emit("customer.subscription.updated", subscription, previous=previous)


def subscription_end(
    emulator: Emulator,
    *,
    subscription_id: str,
    reason: str,
    comment: str | None = None,
    feedback: str | None = None,
) -> Obj:
    """Cancel a subscription now (`customer.subscription.deleted`), with the reader's reason
    (`feedback`, one of Stripe's choices) when the cancellation came with one."""
    subscription = emulator.get(subscription_id, "subscription")
    if subscription["status"] == "canceled":
        return subscription
    now = emulator.now()
    subscription.update(status="canceled", canceled_at=now, ended_at=now)
    subscription["cancellation_details"] = {
        "comment": comment,
        "feedback": feedback,
        "reason": reason,
    }
    emulator.save(subscription)
    emulator.emit("customer.subscription.deleted", subscription)
    return subscription


def _payment_method_of(emulator: Emulator, subscription: Obj) -> tuple[Obj, MethodSpec]:
    payment_method = emulator.get(subscription["default_payment_method"], "payment_method")
    details = payment_method.get("card") or payment_method.get("sepa_debit") or {}
    number = str(payment_method.get("_number") or "")
    method = method_lookup(number)
    if method is None:  # not made from a test number: behave like a good card
        method = MethodSpec(
            number="424242424242" + str(details.get("last4", "4242")), kind=payment_method["type"]
        )
    return payment_method, method


def subscription_renew(
    emulator: Emulator, *, subscription_id: str, fail: bool = False, settle: bool = True
) -> list[Obj]:
    """Bill the next period now (or retry the open invoice); return the events.

    With `fail`, the saved card is declined (so is a card made from the "charges fail later"
    test number).
    """
    mark = emulator.events_mark()
    with emulator.step():
        subscription = emulator.get(subscription_id, "subscription")
        if subscription["status"] in ("canceled", "incomplete", "incomplete_expired"):
            raise ValueError(f"subscription {subscription_id} is {subscription['status']}")
        latest = subscription.get("latest_invoice")
        invoice = emulator.get(latest, "invoice") if latest else None
        if invoice is None or invoice["status"] != "open":
            invoice = _period_next(emulator, subscription)
        payment_method, method = _payment_method_of(emulator, subscription)
        if fail or method.charge_fails_later:
            method = MethodSpec(number=method.number, kind="card", decline=GENERIC_DECLINE)
        invoice_collect(
            emulator,
            invoice_id=invoice["id"],
            payment_method=payment_method,
            method=method,
            settle=settle,
        )
    return emulator.events(since=mark)


def _period_next(emulator: Emulator, subscription: Obj) -> Obj:
    previous: dict[str, Any] = {
        "items": copy.deepcopy(subscription["items"]),
        "latest_invoice": subscription.get("latest_invoice"),
    }
    for item in subscription["items"]["data"]:
        start = item["current_period_end"]
        item.update(current_period_start=start, current_period_end=period_end(start, item["price"]))
    emulator.save(subscription)
    invoice = invoice_open(emulator, subscription=subscription, billing_reason="subscription_cycle")
    subscription["latest_invoice"] = invoice["id"]
    emulator.save(subscription)
    emulator.emit("customer.subscription.updated", subscription, previous=previous)
    return invoice


def invoice_debit_settle(emulator: Emulator, *, invoice_id: str, fail: bool) -> None:
    """End the processing SEPA Direct Debit of an invoice: paid, or failed."""
    invoice = emulator.get(invoice_id, "invoice")
    invoice_payment = _invoice_payment(emulator, invoice)
    intent = emulator.get(invoice_payment["payment"]["payment_intent"], "payment_intent")
    debit_settle(emulator, charge_id=intent["latest_charge"], fail=fail)
    invoice = emulator.get(invoice_id, "invoice")
    invoice["attempt_count"] += 1
    if fail:
        invoice["next_payment_attempt"] = None
        emulator.save(invoice)
        emulator.emit("invoice.payment_failed", invoice)
        _subscription_status(emulator, invoice, "past_due")
        return
    _invoice_paid(emulator, invoice, emulator.get(invoice_payment["id"]))
