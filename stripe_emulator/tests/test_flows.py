"""Each flow's events and money, as Stripe's documentation describes them."""

from __future__ import annotations

from typing import Any

import pytest

from stripe_emulator import Emulator
from stripe_emulator.api import ApiError, api_call
from stripe_emulator.flows import cards, checkout, disputes, invoices, payouts, refunds
from stripe_emulator.scenarios import (
    checkout_session_new,
    one_off_paid,
    payout_with_everything,
    subscription_paid,
)
from stripe_emulator.store import MemoryStore


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def test_one_off_card_checkout_sends_stripes_sequence() -> None:
    emulator = Emulator()
    session = checkout_session_new(emulator)
    outcome = checkout.session_pay(emulator, session_id=session["id"], number=cards.SUCCESS)
    assert _types(outcome.events) == [
        "customer.created",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "payment_method.attached",
        "checkout.session.completed",
        "charge.updated",
    ]
    succeeded = outcome.events[2]["data"]["object"]
    assert succeeded["balance_transaction"] is None and "refunds" not in succeeded
    updated = outcome.events[-1]["data"]
    assert updated["previous_attributes"] == {"balance_transaction": None}
    assert updated["object"]["balance_transaction"].startswith("txn_")
    assert [e["created"] for e in outcome.events] == sorted(e["created"] for e in outcome.events)


def test_subscription_checkout_sends_stripes_sequence() -> None:
    emulator = Emulator()
    session = checkout_session_new(emulator, mode="subscription", amount=500)
    outcome = checkout.session_pay(emulator, session_id=session["id"], number=cards.SUCCESS)
    assert _types(outcome.events) == [
        "customer.created",
        "payment_method.attached",
        "customer.subscription.created",
        "invoice.created",
        "invoice.finalized",
        "payment_intent.created",
        "charge.succeeded",
        "payment_intent.succeeded",
        "invoice_payment.paid",
        "invoice.paid",
        "invoice.payment_succeeded",
        "customer.subscription.updated",
        "checkout.session.completed",
        "charge.updated",
    ]
    created = outcome.events[2]["data"]["object"]
    assert created["status"] == "incomplete"
    activated = outcome.events[11]["data"]
    assert activated["previous_attributes"] == {"status": "incomplete"}
    invoice = outcome.events[9]["data"]["object"]
    assert invoice["parent"]["subscription_details"]["metadata"] == {"contribution_id": "1"}
    assert "subscription" not in invoice  # moved to `parent` in 2025-03-31


def test_failed_renewals_retry_then_cancel_the_subscription() -> None:
    emulator = Emulator()
    subscription = subscription_paid(emulator)
    first = invoices.subscription_renew(emulator, subscription_id=subscription["id"], fail=True)
    assert _types(first)[-3:] == [
        "payment_intent.payment_failed",
        "invoice.payment_failed",
        "customer.subscription.updated",
    ]
    assert emulator.get(subscription["id"])["status"] == "past_due"
    invoice = emulator.get(emulator.get(subscription["id"])["latest_invoice"])
    assert invoice["next_payment_attempt"] is not None
    for _ in range(invoices.MAX_ATTEMPTS - 2):
        invoices.subscription_renew(emulator, subscription_id=subscription["id"], fail=True)
    last = invoices.subscription_renew(emulator, subscription_id=subscription["id"], fail=True)
    assert _types(last)[-1] == "customer.subscription.deleted"
    ended = last[-1]["data"]["object"]
    assert ended["cancellation_details"]["reason"] == "payment_failed"
    intents = {
        p["payment"]["payment_intent"]
        for p in emulator.find("invoice_payment", invoice=invoice["id"])
    }
    assert len(intents) == 1  # every retry confirms the invoice's one payment intent


def test_a_failed_refund_gives_the_money_back() -> None:
    emulator = Emulator()
    session = checkout_session_new(emulator)
    checkout.session_pay(emulator, session_id=session["id"], number=cards.REFUND_FAILS)
    charge_id = emulator.get(emulator.get(session["id"])["payment_intent"])["latest_charge"]
    refund = refunds.refund_create(emulator, charge_id=charge_id, amount=600)
    assert refund["status"] == "succeeded"
    assert emulator.get(charge_id)["amount_refunded"] == 600
    events = refunds.refund_fail(emulator, refund_id=refund["id"])
    assert _types(events) == ["charge.refund.updated", "refund.updated", "refund.failed"]
    failed = emulator.get(refund["id"])
    assert failed["status"] == "failed"
    back = emulator.get(failed["failure_balance_transaction"])
    assert (back["type"], back["amount"]) == ("refund_failure", 600)
    assert emulator.get(charge_id)["amount_refunded"] == 0


def test_disputes_move_money_per_balance_transaction() -> None:
    emulator = Emulator()
    charge = one_off_paid(emulator, amount=2000)
    opened = disputes.dispute_open(emulator, charge_id=charge["id"])
    assert _types(opened) == ["charge.dispute.created", "charge.dispute.funds_withdrawn"]
    with pytest.raises(refunds.RefundRefused, match="charged back") as refused:
        refunds.refund_create(emulator, charge_id=charge["id"])
    assert refused.value.code == "charge_disputed"
    withdrawn = opened[-1]["data"]["object"]["balance_transactions"]
    assert [(t["amount"], t["fee"], t["net"]) for t in withdrawn] == [(-2000, 1500, -3500)]
    dispute_id = opened[0]["data"]["object"]["id"]
    closed = disputes.dispute_close(emulator, dispute_id=dispute_id, won=True)
    assert _types(closed) == ["charge.dispute.closed", "charge.dispute.funds_reinstated"]
    movements = closed[-1]["data"]["object"]["balance_transactions"]
    assert [t["amount"] for t in movements] == [-2000, 2000]

    inquiry = one_off_paid(emulator)
    events = disputes.dispute_open(emulator, charge_id=inquiry["id"], inquiry=True)
    assert _types(events) == ["charge.dispute.created"]
    assert events[0]["data"]["object"]["status"] == "warning_needs_response"
    assert events[0]["data"]["object"]["balance_transactions"] == []


def test_a_payout_lists_its_balance_transactions_once_reconciled() -> None:
    emulator = Emulator()
    charge = one_off_paid(emulator)
    emulator.advance(days=2)
    payouts.payout_run(emulator)
    payout = emulator.find("payout")[0]
    with pytest.raises(ApiError, match="reconciliation"):
        api_call(emulator, "GET", "/v1/balance_transactions", {"payout": payout["id"]})
    events = payouts.payout_paid(emulator, payout_id=payout["id"])
    assert _types(events) == ["payout.updated", "payout.paid", "payout.reconciliation_completed"]
    listed = api_call(emulator, "GET", "/v1/balance_transactions", {"payout": payout["id"]})
    assert {t["source"] for t in listed["data"]} == {charge["id"], payout["id"]}


def test_a_payout_with_everything_reconciles_to_its_own_transactions() -> None:
    emulator = Emulator()
    payout = payout_with_everything(emulator)
    listed = api_call(
        emulator, "GET", "/v1/balance_transactions", {"payout": payout["id"], "limit": 100}
    )["data"]
    kinds = sorted(t["type"] for t in listed)
    assert kinds == ["adjustment", "charge", "charge", "charge", "payout", "refund", "stripe_fee"]
    assert sum(t["net"] for t in listed) == 0  # the payout's own transaction takes it all out
    assert payout["amount"] == sum(t["net"] for t in listed if t["type"] != "payout")
    assert emulator.balance()["eur"]["available"] == 0


def test_a_charge_in_another_currency_settles_converted() -> None:
    emulator = Emulator(default_currency="gbp")
    charge = one_off_paid(emulator, amount=1000, currency="eur")
    assert (charge["amount"], charge["currency"]) == (1000, "eur")
    txn = emulator.get(charge["balance_transaction"])
    assert txn["currency"] == "gbp"
    assert txn["exchange_rate"] == pytest.approx(0.8612)
    assert txn["amount"] == 861
    # The €0.40 card fee converted (34p) and Stripe's 2% conversion fee on £8.61 (17p).
    assert txn["fee"] == 34 + 17
    assert txn["net"] == txn["amount"] - txn["fee"]
    assert set(emulator.balance()) == {"gbp"}


def test_an_unpaid_checkout_session_expires_after_a_day() -> None:
    emulator = Emulator()
    session = checkout_session_new(emulator)
    mark = emulator.events_mark()
    emulator.advance(days=0.5)
    assert emulator.get(session["id"])["status"] == "open"
    emulator.advance(days=0.6)
    assert emulator.get(session["id"])["status"] == "expired"
    assert [e["type"] for e in emulator.events(since=mark)] == ["checkout.session.expired"]
    paid = checkout.session_pay(emulator, session_id=session["id"], number=cards.SUCCESS)
    assert paid.error == "This checkout is no longer open." and not paid.paid


class _CountingStore(MemoryStore):
    """A store shared by emulators made per use, as the demo's is, counting what is scanned."""

    def __init__(self) -> None:
        super().__init__()
        self.scanned = 0

    def scan(self, object_type: str, *, start: int = 0) -> list[dict[str, Any]]:
        found = super().scan(object_type, start=start)
        self.scanned += len(found) if object_type == "balance_transaction" else 0
        return found


def test_emulators_made_per_use_on_one_store_settle_without_reading_every_transaction() -> None:
    store = _CountingStore()
    charges = [one_off_paid(Emulator(store=store)) for _ in range(5)]
    path = f"/v1/payment_intents/{charges[0]['payment_intent']}"
    store.scanned = 0

    api_call(Emulator(store=store), "GET", path)
    caught_up = store.scanned
    intent = api_call(Emulator(store=store), "GET", path)

    assert intent["status"] == "succeeded"
    # Only the transaction the last payment added is looked at, once; then none.
    assert (caught_up, store.scanned) == (1, 1)
    # Time passes in one emulator; one made afterwards finds the money available.
    Emulator(store=store).advance(days=8)
    later = Emulator(store=store)
    txn = later.get(charges[4]["balance_transaction"])
    assert txn["status"] == "available"
    assert later.balance()["eur"]["pending"] == 0


class _LockCountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.locks = 0

    def locked(self) -> Any:
        self.locks += 1
        return super().locked()


def test_a_plain_retrieve_takes_the_stores_lock_only_when_the_balance_needs_settling() -> None:
    """The lock makes every step wait for the others (the demo's is a database row lock that a
    webhook worker's transaction holds until it commits): reads do without it."""
    store = _LockCountingStore()
    emulator = Emulator(store=store)
    charge = one_off_paid(emulator)  # its last step added a balance transaction
    path = f"/v1/payment_intents/{charge['payment_intent']}"
    store.locks = 0

    api_call(emulator, "GET", path)  # the new transaction is looked at first: a step
    settling = store.locks
    intent = api_call(emulator, "GET", path, {"expand": ["latest_charge"]})

    assert (settling, store.locks) == (1, 1)  # the second read took no lock
    assert intent["latest_charge"]["id"] == charge["id"]
    api_call(emulator, "POST", "/v1/customers", {"email": "reader@example.org"})
    assert store.locks == 2  # a write is a step, as ever
