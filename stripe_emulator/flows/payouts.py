"""Payouts: Stripe's automatic payout of the available balance, one per currency, and the fees
Stripe takes from the balance outside any payment (Billing's usage fee).

A payout takes every available balance transaction not paid out yet (charges, refunds, dispute
movements, fees...) and adds its own `payout` transaction. Events: payout.created (`pending`,
reconciliation `in_progress`), payout.updated (`in_transit`), payout.paid, then
payout.reconciliation_completed, after which `GET /v1/balance_transactions?payout=` lists them.
A payout that fails after it was paid (`payout_fail`): payout.failed, and a `payout_failure`
transaction gives the money back to the balance (the next payout carries it). A manual payout
(`payout_manual`) is not automatic and never reconciled. `fx_fee_charge` and `billing_fee_charge`
take Stripe's fees that belong to no payment.
"""

from __future__ import annotations

from stripe_emulator.core import Emulator
from stripe_emulator.money import balance_transaction_create
from stripe_emulator.objects import Obj

DAY = 86400


def billing_fee_charge(
    emulator: Emulator, *, amount: int, currency: str | None = None, period: str = ""
) -> Obj:
    """Take Stripe's Billing usage fee from the balance (`stripe_fee`); return it."""
    with emulator.step():
        return balance_transaction_create(
            emulator,
            amount=-amount,
            currency=currency or emulator.default_currency,
            txn_type="stripe_fee",
            source=None,
            description=f"Billing - Usage Fee {period}".strip(),
        )


def fx_fee_charge(emulator: Emulator, *, amount: int, currency: str | None = None) -> Obj:
    """Take a currency conversion fee from the balance on its own (`stripe_fx_fee`, as Stripe
    does for conversions outside a charge); return its balance transaction."""
    with emulator.step():
        return balance_transaction_create(
            emulator,
            amount=-amount,
            currency=currency or emulator.default_currency,
            txn_type="stripe_fx_fee",
            source=None,
            description="Currency conversion fee",
        )


def payout_manual(emulator: Emulator, *, amount: int, currency: str | None = None) -> list[Obj]:
    """Someone pays `amount` out by hand (Dashboard or `POST /v1/payouts`): not automatic, so
    Stripe keeps no record of what it carried (reconciliation `not_applicable`); return the
    events (payout.created). `payout_paid` then takes it to the bank."""
    mark = emulator.events_mark()
    with emulator.step():
        _payout_create(
            emulator, amount=amount, currency=currency or emulator.default_currency, carried=None
        )
    return emulator.events(since=mark)


def payout_run(emulator: Emulator, *, currency: str | None = None) -> list[Obj]:
    """Pay the available balance of `currency` out to the bank account; return the events
    (none when nothing positive is available)."""
    mark = emulator.events_mark()
    with emulator.step():
        currency = currency or emulator.default_currency
        included = [
            t
            for t in emulator.store.scan("balance_transaction")
            if t["currency"] == currency
            and t["status"] == "available"
            and not t.get("_payout")
            and t["type"] != "payout"
        ]
        amount = sum(t["net"] for t in included)
        if amount <= 0:
            return []
        _payout_create(emulator, amount=amount, currency=currency, carried=included)
    return emulator.events(since=mark)


def _payout_create(
    emulator: Emulator, *, amount: int, currency: str, carried: list[Obj] | None
) -> Obj:
    """Make a pending payout and its balance transaction, and emit payout.created. `carried`:
    the balance transactions an automatic payout takes to the bank; None for a manual payout,
    which Stripe does not reconcile."""
    automatic = carried is not None
    description = "STRIPE PAYOUT" if automatic else "Manual payout"
    payout = emulator.create(
        "payout",
        amount=amount,
        arrival_date=emulator.now() + DAY,
        automatic=automatic,
        balance_transaction=None,
        currency=currency,
        description=description,
        method="standard",
        reconciliation_status="in_progress" if automatic else "not_applicable",
        source_type="card",
        status="pending",
        type="bank_account",
    )
    txn = balance_transaction_create(
        emulator,
        amount=-amount,
        currency=currency,
        txn_type="payout",
        source=payout["id"],
        description=description,
    )
    for item in [*(carried or []), txn]:
        item["_payout"] = payout["id"]
        emulator.save(item)
    payout["balance_transaction"] = txn["id"]
    emulator.save(payout)
    emulator.emit("payout.created", payout)
    return payout


def payout_paid(emulator: Emulator, *, payout_id: str) -> list[Obj]:
    """The payout travels and arrives; Stripe then completes its reconciliation (automatic
    payouts only: a manual one has none)."""
    mark = emulator.events_mark()
    with emulator.step():
        payout = emulator.get(payout_id, "payout")
        for status, event in (("in_transit", "payout.updated"), ("paid", "payout.paid")):
            previous = {"status": payout["status"]}
            payout["status"] = status
            emulator.save(payout)
            if event == "payout.updated":
                emulator.emit(event, payout, previous=previous)
            else:
                emulator.emit(event, payout)
        if payout["automatic"]:
            payout["reconciliation_status"] = "completed"
            emulator.save(payout)
            emulator.emit("payout.reconciliation_completed", payout)
    return emulator.events(since=mark)


def payout_fail(emulator: Emulator, *, payout_id: str, code: str = "account_closed") -> list[Obj]:
    """The bank returns a payout (even after `paid`): the money goes back to the balance."""
    mark = emulator.events_mark()
    with emulator.step():
        payout = emulator.get(payout_id, "payout")
        txn = balance_transaction_create(
            emulator,
            amount=payout["amount"],
            currency=payout["currency"],
            txn_type="payout_failure",
            source=payout["id"],
            description="STRIPE PAYOUT FAILURE",
        )
        payout.update(
            status="failed",
            failure_code=code,
            failure_message="The bank account has been closed.",
            failure_balance_transaction=txn["id"],
        )
        emulator.save(payout)
        emulator.emit("payout.failed", payout)
    return emulator.events(since=mark)
