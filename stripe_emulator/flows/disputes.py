"""Disputes: an inquiry (nothing withdrawn), or a chargeback (the amount and Stripe's dispute fee
withdrawn), then won (the amount reinstated) or lost.

Chargeback: charge.dispute.created (`needs_response`, its withdrawal balance transaction, type
`adjustment`, already listed), charge.dispute.funds_withdrawn. Evidence: charge.dispute.updated
(`under_review`). Won: charge.dispute.closed (`won`), charge.dispute.funds_reinstated (a second
`adjustment`, `dispute_reversal`). Lost: charge.dispute.closed (`lost`). Inquiry:
charge.dispute.created (`warning_needs_response`), charge.dispute.updated
(`warning_under_review`), charge.dispute.closed (`warning_closed`); or escalated into a
chargeback (charge.dispute.updated to `needs_response`, charge.dispute.funds_withdrawn).
Prevented (blocked by Stripe's dispute prevention): charge.dispute.created (`prevented`), no money.
"""

from __future__ import annotations

import copy

from stripe_emulator.core import Emulator
from stripe_emulator.money import balance_transaction_create
from stripe_emulator.objects import Obj

DAY = 86400
DISPUTE_FEE_MINOR = 1500  # Stripe's dispute fee, in the charge's currency
RESPONSE_DAYS = 7


def _with_transactions(emulator: Emulator, dispute: Obj) -> Obj:
    """Refresh the dispute's `balance_transactions` (full objects, as Stripe sends them)."""
    dispute["balance_transactions"] = [emulator.get(t) for t in dispute.get("_txns", [])]
    return emulator.save(dispute)


def _withdraw(emulator: Emulator, dispute: Obj, *, announce: bool = True) -> None:
    txn = balance_transaction_create(
        emulator,
        amount=-dispute["amount"],
        currency=dispute["currency"],
        txn_type="adjustment",
        source=dispute["id"],
        fee=DISPUTE_FEE_MINOR,
        description=f"Chargeback withdrawal for {dispute['charge']}",
        reporting_category="dispute",
    )
    txn["fee_details"][0]["description"] = "Dispute fee"
    emulator.save(txn)
    dispute["_txns"] = [*dispute.get("_txns", []), txn["id"]]
    dispute["is_charge_refundable"] = False
    _with_transactions(emulator, dispute)
    if announce:
        emulator.emit("charge.dispute.funds_withdrawn", dispute)


def dispute_open(
    emulator: Emulator,
    *,
    charge_id: str,
    reason: str = "fraudulent",
    inquiry: bool = False,
    prevented: bool = False,
) -> list[Obj]:
    """The cardholder's bank disputes a charge; return the events.

    `prevented`: Stripe's dispute prevention blocked it before it became a chargeback (API
    2025-08-27 on: status `prevented`, case type `block`); nothing is withdrawn.
    """
    mark = emulator.events_mark()
    with emulator.step():
        charge = emulator.get(charge_id, "charge")
        case_type = "block" if prevented else "inquiry" if inquiry else "chargeback"
        details = copy.deepcopy(
            {
                "card": {
                    "brand": charge["payment_method_details"].get("card", {}).get("brand", "visa"),
                    "case_type": case_type,
                    "network": "visa",
                    "network_reason_code": "10.4" if reason == "fraudulent" else "13.1",
                },
                "type": "card",
            }
        )
        dispute = emulator.create(
            "dispute",
            amount=charge["amount"],
            balance_transactions=[],
            charge=charge["id"],
            currency=charge["currency"],
            is_charge_refundable=inquiry or prevented,
            payment_intent=charge["payment_intent"],
            payment_method_details=details,
            reason=reason,
            status=(
                "prevented"
                if prevented
                else "warning_needs_response"
                if inquiry
                else "needs_response"
            ),
        )
        dispute["evidence_details"].update(
            due_by=emulator.now() + RESPONSE_DAYS * DAY,
            has_evidence=False,
            past_due=False,
            submission_count=0,
        )
        emulator.save(dispute)
        charge["disputed"] = True
        emulator.save(charge)
        withdrawn = not inquiry and not prevented
        if withdrawn:  # withdrawn as the dispute opens: its first event already shows it
            _withdraw(emulator, dispute, announce=False)
        emulator.emit("charge.dispute.created", dispute)
        if withdrawn:
            emulator.emit("charge.dispute.funds_withdrawn", dispute)
    return emulator.events(since=mark)


def dispute_evidence_submit(emulator: Emulator, *, dispute_id: str) -> list[Obj]:
    """We answer the dispute with evidence: it goes under review."""
    mark = emulator.events_mark()
    with emulator.step():
        dispute = emulator.get(dispute_id, "dispute")
        previous = {
            "status": dispute["status"],
            "evidence_details": copy.deepcopy(dispute["evidence_details"]),
        }
        dispute["status"] = (
            "warning_under_review" if dispute["status"].startswith("warning") else "under_review"
        )
        dispute["evidence"]["uncategorized_text"] = "The reader gave this contribution."
        dispute["evidence_details"].update(has_evidence=True, submission_count=1)
        _with_transactions(emulator, dispute)
        emulator.emit("charge.dispute.updated", dispute, previous=previous)
    return emulator.events(since=mark)


def dispute_escalate(emulator: Emulator, *, dispute_id: str) -> list[Obj]:
    """An inquiry becomes a chargeback: the money is withdrawn."""
    mark = emulator.events_mark()
    with emulator.step():
        dispute = emulator.get(dispute_id, "dispute")
        previous = {"status": dispute["status"]}
        dispute["status"] = "needs_response"
        dispute["payment_method_details"]["card"]["case_type"] = "chargeback"
        _with_transactions(emulator, dispute)
        emulator.emit("charge.dispute.updated", dispute, previous=previous)
        _withdraw(emulator, dispute)
    return emulator.events(since=mark)


def dispute_close(
    emulator: Emulator, *, dispute_id: str, won: bool, fee_returned: bool = True
) -> list[Obj]:
    """The bank decides: won (the amount back, and the dispute fee unless `fee_returned` is
    False, as in regions where Stripe keeps it) or lost; an inquiry just closes."""
    mark = emulator.events_mark()
    with emulator.step():
        dispute = emulator.get(dispute_id, "dispute")
        inquiry = dispute["status"].startswith("warning")
        dispute["status"] = "warning_closed" if inquiry else "won" if won else "lost"
        _with_transactions(emulator, dispute)
        emulator.emit("charge.dispute.closed", dispute)
        if won and not inquiry:
            txn = balance_transaction_create(
                emulator,
                amount=dispute["amount"],
                currency=dispute["currency"],
                txn_type="adjustment",
                source=dispute["id"],
                fee=-DISPUTE_FEE_MINOR if fee_returned else 0,
                description=f"Chargeback reversal for {dispute['charge']}",
                reporting_category="dispute_reversal",
            )
            for detail in txn["fee_details"]:
                detail["description"] = "Dispute fee"
            emulator.save(txn)
            dispute["_txns"] = [*dispute["_txns"], txn["id"]]
            _with_transactions(emulator, dispute)
            emulator.emit("charge.dispute.funds_reinstated", dispute)
    return emulator.events(since=mark)
