"""One payment attempt as Stripe makes it: payment method, payment intent, charge, balance.

Used by every flow that takes money (Checkout, invoices). A card attempt succeeds or fails at
once; a SEPA Direct Debit attempt is `processing` until `debit_settle` (days later at Stripe).
The balance transaction reaches the charge in a second step (`charge_settle`, `charge.updated`),
as it does at Stripe, where the charge is often sent before its balance transaction exists.
"""

from __future__ import annotations

import copy

from stripe_emulator.core import Emulator
from stripe_emulator.flows.cards import MethodSpec
from stripe_emulator.money import AVAILABLE_AFTER_DAYS, balance_transaction_create, processing_fee
from stripe_emulator.objects import Obj, id_new, template


def payment_method_create(emulator: Emulator, *, method: MethodSpec, email: str | None) -> Obj:
    """Create the payment method the reader entered (not attached to anyone yet)."""
    base = template("payment_method")
    billing = dict(base["billing_details"], email=email)
    fields: Obj = {"billing_details": billing, "type": method.kind, "allow_redisplay": "limited"}
    if method.kind == "card":
        card = base["card"]
        card.update(
            brand=method.brand,
            display_brand=method.brand,
            country=method.country,
            last4=method.last4,
            fingerprint=id_new("fp")[3:19],
            wallet=None,
            generated_from=None,
        )
        fields["card"] = card
    else:
        fields["card"] = None
        fields["sepa_debit"] = {
            "bank_code": method.number[4:12],
            "branch_code": "",
            "country": method.country,
            "fingerprint": id_new("fp")[3:19],
            "generated_from": {"charge": None, "setup_attempt": None},
            "last4": method.last4,
        }
    payment_method = emulator.create("payment_method", **fields)
    payment_method["_number"] = method.number  # which test number it was (renewals use it)
    if method.kind == "sepa_debit":
        mandate = emulator.create(
            "mandate",
            customer_acceptance={
                "accepted_at": emulator.now(),
                "online": {"ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0"},
                "type": "online",
            },
            payment_method=payment_method["id"],
            payment_method_details={
                "sepa_debit": {"reference": id_new("x")[3:19].upper(), "url": ""},
                "type": "sepa_debit",
            },
            status="active",
            type="multi_use",
        )
        payment_method["_mandate"] = mandate["id"]
    return emulator.save(payment_method)


def payment_method_attach(emulator: Emulator, *, payment_method: Obj, customer: str) -> None:
    payment_method["customer"] = customer
    emulator.save(payment_method)
    emulator.emit("payment_method.attached", payment_method)


def payment_intent_create(
    emulator: Emulator,
    *,
    amount: int,
    currency: str,
    customer: str | None,
    metadata: dict[str, str],
    description: str | None = None,
    methods: list[str] | None = None,
) -> Obj:
    intent = emulator.create(
        "payment_intent",
        amount=amount,
        currency=currency,
        customer=customer,
        description=description,
        payment_method_types=methods or ["card"],
        status="requires_payment_method",
        automatic_payment_methods=None,
    )
    intent["client_secret"] = f"{intent['id']}_secret_{id_new('x')[3:27]}"
    intent["metadata"] = dict(metadata)
    emulator.save(intent)
    emulator.emit("payment_intent.created", intent)
    return intent


def _method_details(method: MethodSpec, payment_method: Obj) -> Obj:
    if method.kind == "card":
        card = copy.deepcopy(template("charge")["payment_method_details"]["card"])
        card.update(
            brand=method.brand,
            country=method.country,
            last4=method.last4,
            fingerprint=payment_method["card"]["fingerprint"],
            network=method.brand,
            wallet=None,
            installments=None,
            amount_authorized=None,
            authorization_code="123456" if method.decline is None else None,
            network_transaction_id=None,
        )
        card["checks"] = {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "pass",
        }
        return {"card": card, "type": "card"}
    sepa = dict(payment_method["sepa_debit"])
    sepa.pop("generated_from", None)
    sepa["mandate"] = payment_method.get("_mandate")
    return {"sepa_debit": sepa, "type": "sepa_debit"}


def payment_attempt(
    emulator: Emulator,
    *,
    intent: Obj,
    payment_method: Obj,
    method: MethodSpec,
    settle: bool = True,
) -> Obj:
    """Charge `payment_method` for `intent` and return the charge (events as Stripe sends them).

    Card: `charge.succeeded` and `payment_intent.succeeded`, or `charge.failed` and
    `payment_intent.payment_failed`. SEPA: `charge.pending` and `payment_intent.processing`
    (see `debit_settle`). With `settle`, a succeeded charge gets its balance transaction now.
    """
    failing = method.decline is not None and method.kind == "card"
    pending = method.kind == "sepa_debit"
    outcome = template("charge")["outcome"]
    if failing:
        assert method.decline is not None
        outcome.update(
            network_status="declined_by_network",
            reason=method.decline.decline_code,
            risk_level="normal",
            seller_message="The bank did not return any further details with this decline.",
            type="issuer_declined",
        )
    charge = emulator.create(
        "charge",
        amount=intent["amount"],
        amount_captured=0 if failing or pending else intent["amount"],
        balance_transaction=None,
        calculated_statement_descriptor="READER SUPPORT",
        captured=not failing,
        currency=intent["currency"],
        customer=intent["customer"],
        description=intent["description"],
        failure_code=method.decline.code if failing and method.decline else None,
        failure_message=method.decline.message if failing and method.decline else None,
        outcome=outcome,
        paid=not failing and not pending,
        payment_intent=intent["id"],
        payment_method=payment_method["id"],
        payment_method_details=_method_details(method, payment_method),
        receipt_email=None,
        status="failed" if failing else "pending" if pending else "succeeded",
    )
    charge["metadata"] = dict(intent["metadata"])
    if intent.get("presentment_details"):  # Adaptive Pricing: what the reader saw and paid
        charge["presentment_details"] = dict(intent["presentment_details"])
    charge["billing_details"]["email"] = payment_method["billing_details"]["email"]
    charge["receipt_url"] = f"https://pay.stripe.com/receipts/payment/{charge['id'][3:]}"
    emulator.save(charge)
    intent.update(latest_charge=charge["id"], payment_method=payment_method["id"])
    if failing:
        assert method.decline is not None
        emulator.emit("charge.failed", charge)
        intent.update(
            status="requires_payment_method",
            last_payment_error={
                "charge": charge["id"],
                "code": method.decline.code,
                "decline_code": method.decline.decline_code,
                "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                "message": method.decline.message,
                "payment_method": copy.deepcopy(payment_method),
                "type": "card_error",
            },
        )
        emulator.save(intent)
        emulator.emit("payment_intent.payment_failed", intent)
        return charge
    if pending:
        emulator.emit("charge.pending", charge)
        intent.update(status="processing", processing=None, last_payment_error=None)
        emulator.save(intent)
        emulator.emit("payment_intent.processing", intent)
        return charge
    emulator.emit("charge.succeeded", charge)
    intent.update(status="succeeded", amount_received=intent["amount"], last_payment_error=None)
    emulator.save(intent)
    emulator.emit("payment_intent.succeeded", intent)
    if settle:
        charge_settle(emulator, charge_id=charge["id"])
    return emulator.get(charge["id"])


def charge_settle(emulator: Emulator, *, charge_id: str) -> Obj:
    """Give a succeeded charge its balance transaction (`charge.updated`); return the charge."""
    charge = emulator.get(charge_id, "charge")
    if charge["balance_transaction"] is not None:
        return charge
    method = charge["payment_method_details"]["type"]
    txn = balance_transaction_create(
        emulator,
        amount=charge["amount"],
        currency=charge["currency"],
        txn_type="charge" if method == "card" else "payment",
        source=charge["id"],
        fee=processing_fee(amount=charge["amount"], method=method),
        available_after_days=AVAILABLE_AFTER_DAYS.get(method, 2),
        description=charge["description"],
    )
    charge["balance_transaction"] = txn["id"]
    emulator.save(charge)
    emulator.emit("charge.updated", charge, previous={"balance_transaction": None})
    return charge


def debit_settle(emulator: Emulator, *, charge_id: str, fail: bool, settle: bool = True) -> Obj:
    """End a processing SEPA Direct Debit: succeeded (money in) or failed (returned unpaid)."""
    charge = emulator.get(charge_id, "charge")
    intent = emulator.get(charge["payment_intent"], "payment_intent")
    if fail:
        charge.update(
            status="failed",
            paid=False,
            failure_code="insufficient_funds",
            failure_message="The customer's account has insufficient funds to cover this payment.",
        )
        charge["outcome"].update(type="issuer_declined", network_status="declined_by_network")
        emulator.save(charge)
        emulator.emit("charge.failed", charge)
        intent.update(
            status="requires_payment_method",
            last_payment_error={
                "charge": charge["id"],
                "code": "insufficient_funds",
                "message": charge["failure_message"],
                "type": "card_error",
            },
        )
        emulator.save(intent)
        emulator.emit("payment_intent.payment_failed", intent)
        return charge
    charge.update(status="succeeded", paid=True, amount_captured=charge["amount"])
    emulator.save(charge)
    emulator.emit("charge.succeeded", charge)
    intent.update(status="succeeded", amount_received=intent["amount"])
    emulator.save(intent)
    emulator.emit("payment_intent.succeeded", intent)
    if settle:
        charge_settle(emulator, charge_id=charge_id)
    return emulator.get(charge_id)
