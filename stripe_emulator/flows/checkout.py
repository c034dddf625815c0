"""The reader pays a Checkout Session: one-off (`mode=payment`) or the first period of a
subscription (`mode=subscription`), by card or SEPA Direct Debit.

Events, in Stripe's order. One-off card: customer.created (when the session creates one),
payment_intent.created, charge.succeeded, payment_intent.succeeded, payment_method.attached,
checkout.session.completed, charge.updated (balance transaction attached). Subscription:
customer.created, payment_method.attached, customer.subscription.created (incomplete),
invoice.created, invoice.finalized, payment_intent.created, charge.succeeded,
payment_intent.succeeded, invoice_payment.paid, invoice.paid, invoice.payment_succeeded,
customer.subscription.updated (active), checkout.session.completed, charge.updated. SEPA: the
session completes `unpaid` with the payment processing; `sepa_settle` ends it with
`checkout.session.async_payment_succeeded` or `..._failed`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stripe_emulator.core import Emulator
from stripe_emulator.flows.cards import AUTHENTICATE, MethodSpec, method_lookup
from stripe_emulator.flows.invoices import invoice_collect, subscription_start
from stripe_emulator.flows.payments import (
    debit_settle,
    payment_attempt,
    payment_intent_create,
    payment_method_attach,
    payment_method_create,
)
from stripe_emulator.objects import Obj


@dataclass
class Outcome:
    """What paying a session did: `paid`, or the decline shown to the reader, and the events."""

    events: list[Obj] = field(default_factory=list)
    paid: bool = False
    needs_authentication: bool = False
    error: str = ""


def session_pay(
    emulator: Emulator,
    *,
    session_id: str,
    number: str,
    email: str | None = None,
    settle: bool = True,
    authenticated: bool = False,
    local_currency: str | None = None,
    name: str = "Ada Reader",
) -> Outcome:
    """Pay an open session with a test card number or IBAN (see `flows.cards`).

    A declined card leaves the session open (the reader may try another card). The 3-D Secure
    card returns `needs_authentication` until called again with `authenticated=True`. A reader
    whose own currency is `local_currency` is shown and pays the price in it when the session
    has Adaptive Pricing on: the payment then carries `presentment_details`, and the amount and
    currency stay the session's (a one-off payment). `name` is the name the reader types on
    Checkout (the session's `customer_details.name`).
    """
    mark = emulator.events_mark()
    outcome = Outcome()
    with emulator.step():
        session = emulator.get(session_id, "checkout.session")
        method = method_lookup(number)
        session["_payer_name"] = name
        if session["status"] != "open":
            outcome.error = "This checkout is no longer open."
        elif method is None:
            outcome.error = "Use one of Stripe's test cards, e.g. 4242 4242 4242 4242."
        elif method.number == AUTHENTICATE and not authenticated:
            outcome.needs_authentication = True
        elif session["mode"] == "payment":
            _pay_once(
                emulator,
                session,
                method,
                email=email,
                settle=settle,
                outcome=outcome,
                local_currency=local_currency,
            )
        else:
            _pay_subscription(
                emulator, session, method, email=email, settle=settle, outcome=outcome
            )
    outcome.events = emulator.events(since=mark)
    return outcome


def _email(session: Obj, email: str | None) -> str | None:
    return email or session.get("customer_email")


def _customer_for(
    emulator: Emulator, session: Obj, email: str | None, *, always: bool
) -> str | None:
    if session.get("customer"):
        return str(session["customer"])
    if not always:
        return None
    from stripe_emulator.api.customers import customer_create

    return str(customer_create(emulator, {"email": email})["id"])


def _complete(emulator: Emulator, session: Obj, *, email: str | None, paid: bool) -> None:
    details: Obj = {
        "address": {
            "city": None,
            "country": "IE",
            "line1": None,
            "line2": None,
            "postal_code": None,
            "state": None,
        },
        "email": email,
        "name": session.get("_payer_name", "Ada Reader"),
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
        "business_name": None,
        "individual_name": None,
    }
    session.update(
        status="complete",
        payment_status="paid" if paid else "unpaid",
        customer_details=details,
        client_secret=None if session["ui_mode"] == "hosted_page" else session["client_secret"],
    )
    emulator.save(session)
    emulator.emit("checkout.session.completed", session)


def _pay_once(
    emulator: Emulator,
    session: Obj,
    method: MethodSpec,
    *,
    email: str | None,
    settle: bool,
    outcome: Outcome,
    local_currency: str | None = None,
) -> None:
    email = _email(session, email)
    intent_id = session.get("payment_intent")
    if intent_id:
        intent = emulator.get(intent_id, "payment_intent")
    else:
        always = session.get("customer_creation") == "always"
        customer = _customer_for(emulator, session, email, always=always)
        session["customer"] = customer
        intent = payment_intent_create(
            emulator,
            amount=session["amount_total"],
            currency=session["currency"],
            customer=customer,
            metadata=(session.get("_payment_intent_data") or {}).get("metadata") or {},
            methods=[method.kind],
        )
        session["payment_intent"] = intent["id"]
        emulator.save(session)
    adaptive = (session.get("adaptive_pricing") or {}).get("enabled")
    if adaptive and local_currency and local_currency != intent["currency"]:
        rate = emulator.fx_rate(intent["currency"], local_currency)
        intent["presentment_details"] = {
            "presentment_amount": round(intent["amount"] * rate),
            "presentment_currency": local_currency,
        }
        emulator.save(intent)
    payment_method = payment_method_create(emulator, method=method, email=email)
    charge = payment_attempt(
        emulator, intent=intent, payment_method=payment_method, method=method, settle=False
    )
    if charge["status"] == "failed":
        outcome.error = str(charge["failure_message"])
        return
    if intent["customer"]:
        payment_method_attach(emulator, payment_method=payment_method, customer=intent["customer"])
    outcome.paid = charge["status"] == "succeeded"
    _complete(emulator, session, email=email, paid=outcome.paid)
    if settle and outcome.paid:
        from stripe_emulator.flows.payments import charge_settle

        charge_settle(emulator, charge_id=charge["id"])
    _dispute_if_the_card_says_so(emulator, method, charge)


def _dispute_if_the_card_says_so(emulator: Emulator, method: MethodSpec, charge: Obj) -> None:
    """Stripe's disputed test cards are disputed soon after the payment succeeds."""
    if method.dispute is not None and charge["status"] == "succeeded":
        from stripe_emulator.flows.disputes import dispute_open

        dispute_open(
            emulator, charge_id=charge["id"], reason=method.dispute, inquiry=method.inquiry
        )


def _pay_subscription(
    emulator: Emulator,
    session: Obj,
    method: MethodSpec,
    *,
    email: str | None,
    settle: bool,
    outcome: Outcome,
) -> None:
    email = _email(session, email)
    if method.decline is not None and method.kind == "card":
        # Checkout confirms the card before it creates anything: the reader sees the decline.
        outcome.error = method.decline.message
        return
    customer = _customer_for(emulator, session, email, always=True)
    assert customer is not None
    session["customer"] = customer
    payment_method = payment_method_create(emulator, method=method, email=email)
    payment_method_attach(emulator, payment_method=payment_method, customer=customer)
    subscription, invoice = subscription_start(
        emulator,
        customer=customer,
        items=session["_line_items"],
        metadata=(session.get("_subscription_data") or {}).get("metadata") or {},
        payment_method=payment_method,
    )
    session.update(subscription=subscription["id"], invoice=invoice["id"])
    emulator.save(session)
    charge = invoice_collect(
        emulator,
        invoice_id=invoice["id"],
        payment_method=payment_method,
        method=method,
        settle=False,
    )
    outcome.paid = charge["status"] == "succeeded"
    _complete(emulator, session, email=email, paid=outcome.paid)
    if settle and outcome.paid:
        from stripe_emulator.flows.payments import charge_settle

        charge_settle(emulator, charge_id=charge["id"])
    _dispute_if_the_card_says_so(emulator, method, charge)


def sepa_settle(emulator: Emulator, *, session_id: str, fail: bool) -> list[Obj]:
    """End the SEPA Direct Debit of a completed, unpaid session; return the events."""
    mark = emulator.events_mark()
    with emulator.step():
        session = emulator.get(session_id, "checkout.session")
        if session["mode"] == "payment":
            intent = emulator.get(session["payment_intent"], "payment_intent")
            debit_settle(emulator, charge_id=intent["latest_charge"], fail=fail)
        else:
            from stripe_emulator.flows.invoices import invoice_debit_settle

            invoice_debit_settle(emulator, invoice_id=session["invoice"], fail=fail)
        session = emulator.get(session_id, "checkout.session")
        session["payment_status"] = "unpaid" if fail else "paid"
        emulator.save(session)
        suffix = "failed" if fail else "succeeded"
        emulator.emit(f"checkout.session.async_payment_{suffix}", session)
    return emulator.events(since=mark)
