"""Refunds: full or partial, through the API or the Dashboard; SEPA ones pending first; and
refunds that fail later.

Creating one: refund.created, charge.refunded (the charge with its new `amount_refunded`; its
refunds are not in it since 2022-11-15). A card refund is `succeeded` at once; a SEPA one
`pending` until `refund_settle` (charge.refund.updated, refund.updated). A refund that fails
(`refund_fail`, or the "refund fails" test card): the refund turns `failed` with a
`refund_failure` balance transaction giving the money back, the charge's `amount_refunded` goes
down, and Stripe sends charge.refund.updated, refund.updated and refund.failed.
"""

from __future__ import annotations

from stripe_emulator.core import Emulator
from stripe_emulator.flows.cards import REFUND_FAILS
from stripe_emulator.money import balance_transaction_create
from stripe_emulator.objects import Obj

REASONS = ("duplicate", "fraudulent", "requested_by_customer")


class RefundRefused(Exception):
    """Stripe would refuse this refund; the message is Stripe's."""

    def __init__(self, message: str, *, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.param = param


def _money(amount: int, currency: str) -> str:
    symbols = {"eur": "€", "gbp": "£", "usd": "$"}
    return f"{symbols.get(currency, currency.upper() + ' ')}{amount / 100:.2f}"


def refund_create(
    emulator: Emulator,
    *,
    charge_id: str,
    amount: int | None = None,
    reason: str | None = None,
    metadata: dict[str, str] | None = None,
) -> Obj:
    """Refund `amount` (default: what is left) of a charge; return the refund."""
    charge = emulator.get(charge_id, "charge")
    left = charge["amount"] - charge["amount_refunded"]
    if charge["status"] != "succeeded":
        raise RefundRefused(
            f"Charge {charge_id} has not succeeded, so it cannot be refunded.",
            code="charge_not_refundable" if charge["status"] == "failed" else "charge_pending",
        )
    if any(not d["is_charge_refundable"] for d in emulator.find("dispute", charge=charge_id)):
        raise RefundRefused(
            f"Charge {charge_id} has been charged back; cannot issue a refund.",
            code="charge_disputed",
        )
    if left <= 0:
        raise RefundRefused(
            f"Charge {charge_id} has already been refunded.", code="charge_already_refunded"
        )
    amount = left if amount is None else amount
    if amount <= 0:
        raise RefundRefused(
            "Invalid positive integer", code="parameter_invalid_integer", param="amount"
        )
    if amount > left:
        raise RefundRefused(
            f"Refund amount ({_money(amount, charge['currency'])}) is greater than unrefunded "
            f"amount on charge ({_money(left, charge['currency'])})",
            code="amount_too_large",
            param="amount",
        )
    if reason is not None and reason not in REASONS:
        raise RefundRefused(
            f"Invalid reason: must be one of {', '.join(REASONS)}",
            code="parameter_invalid_string",
            param="reason",
        )
    method = charge["payment_method_details"]["type"]
    refund = emulator.create(
        "refund",
        amount=amount,
        charge=charge["id"],
        currency=charge["currency"],
        payment_intent=charge["payment_intent"],
        reason=reason,
        status="pending" if method == "sepa_debit" else "succeeded",
        destination_details=None,
    )
    refund["metadata"] = dict(metadata or {})
    txn = balance_transaction_create(
        emulator,
        amount=-amount,
        currency=charge["currency"],
        txn_type="refund",
        source=refund["id"],
        description="REFUND FOR CHARGE",
    )
    refund["balance_transaction"] = txn["id"]
    method_number = _method_number(emulator, charge)
    refund["_fails_later"] = method_number == REFUND_FAILS
    emulator.save(refund)
    emulator.emit("refund.created", refund)
    previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    emulator.save(charge)
    emulator.emit("charge.refunded", charge, previous=previous)
    return emulator.get(refund["id"])


def _method_number(emulator: Emulator, charge: Obj) -> str:
    if not charge.get("payment_method"):
        return ""
    found = emulator.store.get(charge["payment_method"])
    return str((found or {}).get("_number") or "")


def _refund_changed(emulator: Emulator, refund: Obj, previous: Obj) -> None:
    emulator.save(refund)
    emulator.emit("charge.refund.updated", refund, previous=previous)
    emulator.emit("refund.updated", refund, previous=previous)


def refund_settle(emulator: Emulator, *, refund_id: str) -> list[Obj]:
    """A pending refund (SEPA) succeeds; return the events."""
    mark = emulator.events_mark()
    with emulator.step():
        refund = emulator.get(refund_id, "refund")
        if refund["status"] == "pending":
            refund["status"] = "succeeded"
            _refund_changed(emulator, refund, {"status": "pending"})
    return emulator.events(since=mark)


def refund_fail(
    emulator: Emulator, *, refund_id: str, reason: str = "expired_or_canceled_card"
) -> list[Obj]:
    """A refund fails after it was made: the money goes back to the balance; return the events."""
    mark = emulator.events_mark()
    with emulator.step():
        refund = emulator.get(refund_id, "refund")
        if refund["status"] in ("failed", "canceled"):
            return []
        charge = emulator.get(refund["charge"], "charge")
        txn = balance_transaction_create(
            emulator,
            amount=refund["amount"],
            currency=refund["currency"],
            txn_type="refund_failure",
            source=refund["id"],
            description="REFUND FAILURE",
        )
        # As Stripe's own charge.refund.updated for a failed refund shows them.
        previous = {
            "failure_balance_transaction": None,
            "failure_reason": None,
            "status": refund["status"],
        }
        refund.update(status="failed", failure_reason=reason, failure_balance_transaction=txn["id"])
        charge["amount_refunded"] -= refund["amount"]
        charge["refunded"] = False
        emulator.save(charge)
        _refund_changed(emulator, refund, previous)
        emulator.emit("refund.failed", refund)
    return emulator.events(since=mark)


def refunds_due_to_fail(emulator: Emulator) -> list[str]:
    """Return the refunds made on the "refund fails" test card that have not failed yet."""
    return [
        r["id"]
        for r in emulator.store.scan("refund")
        if r.get("_fails_later") and r["status"] != "failed"
    ]
