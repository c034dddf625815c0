"""Payout reconciliation as Stripe does it: every balance transaction of a payout kept as its own
row once Stripe has completed the payout's reconciliation, the payout reconciled against the sum
of its rows, each row matched to the ledger, manual payouts reported as such, and a payout that
fails after `paid` undone (its money comes back with a later payout). Stripe's payouts, fees and
events are played by the Stripe emulator."""

import pytest
from django.db.models import F
from django.urls import reverse

from finance.reconciliation import (
    State,
    payout_state,
    payout_transactions_matched,
    payouts_differing,
    payouts_reconciled,
)
from payments.models import Payment, Payout, PayoutBalanceTransaction, Refund, WebhookEvent
from payments.tests.emulated import emulated_fixture, signed_post  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from staff.roles import FINANCE
from staff.tests.helpers import staff_member
from stripe_emulator.flows import disputes, payouts, refunds
from stripe_emulator.scenarios import one_off_paid

pytestmark = pytest.mark.django_db


def paid(emulated, amount, email):
    """A one-off card payment through the support page and the emulator's checkout."""
    return emulated.give(amount=str(amount), email=email).payments.get()


def applied(emulated, event):
    stored = emulated.apply(event)
    assert stored.status == WebhookEvent.Status.PROCESSED, stored.last_error
    return stored


def listed(emulated):
    return [r for r in emulated.http.requests if r["path"] == "/v1/balance_transactions"]


def payout_events(emulated):
    """Stripe's next automatic payout, paid and reconciled: its events by type (not delivered)."""
    created = payouts.payout_run(emulated.emulator)
    assert created, "nothing available to pay out"
    payout_id = created[0]["data"]["object"]["id"]
    events = created + payouts.payout_paid(emulated.emulator, payout_id=payout_id)
    return payout_id, {e["type"]: e for e in events}


@pytest.fixture
def ledger(emulated):
    """Three card payments (10.00, 25.00, 25.00), a 4.00 refund of the first made in Stripe's
    Dashboard, a dispute on the second that withdrew 25.00 and a 15.00 fee, and two fees Stripe
    takes outside any payment (Billing's 0.35, a 0.12 currency conversion): all available."""
    first = paid(emulated, 1000, "first@example.org")
    second = paid(emulated, 2500, "second@example.org")
    third = paid(emulated, 2500, "third@example.org")
    stripe = emulated.emulator
    mark = stripe.events_mark()
    refund = refunds.refund_create(stripe, charge_id=first.stripe_charge_id, amount=400)
    emulated.deliver(stripe.events(since=mark))
    opened = disputes.dispute_open(stripe, charge_id=second.stripe_charge_id)
    emulated.deliver(opened)
    billing = payouts.billing_fee_charge(stripe, amount=35, period="(2026-11-01 - 2026-11-30)")
    fx = payouts.fx_fee_charge(stripe, amount=12)
    stripe.advance(days=2)
    [withdrawal] = opened[0]["data"]["object"]["balance_transactions"]
    return {
        "payments": (first, second, third),
        "refund": refund,
        "dispute": opened[0]["data"]["object"]["id"],
        "withdrawal": withdrawal["id"],
        "billing": billing["id"],
        "fx": fx["id"],
    }


def test_rows_are_listed_once_stripe_completed_the_reconciliation_and_match_the_ledger(
    emulated, ledger
):
    first, second, third = ledger["payments"]
    payout_id, events = payout_events(emulated)
    amount = events["payout.paid"]["data"]["object"]["amount"]
    nets = sum(p.net_minor for p in (first, second, third))
    assert amount == nets - 400 - (2500 + 1500) - 35 - 12
    emulated.http.requests.clear()

    applied(emulated, events["payout.created"])
    applied(emulated, events["payout.paid"])
    assert listed(emulated) == []  # Stripe's list is not final before its reconciliation
    assert not PayoutBalanceTransaction.objects.exists()

    applied(emulated, events["payout.reconciliation_completed"])
    signed_post(emulated.client, events["payout.reconciliation_completed"])  # a duplicate
    applied(emulated, events["payout.updated"])  # an older state, late

    assert len(listed(emulated)) == 1
    assert listed(emulated)[0]["query"] == {"payout": payout_id, "limit": "100"}
    rows = PayoutBalanceTransaction.objects.filter(payout__stripe_payout_id=payout_id)
    assert rows.count() == 8
    fee = rows.get(stripe_balance_transaction_id=ledger["billing"])
    assert (fee.type, fee.reporting_category, fee.amount_minor, fee.net_minor, fee.currency) == (
        "stripe_fee",
        "fee",
        -35,
        -35,
        "EUR",
    )
    assert fee.available_on is not None and fee.source_id == ""

    row = payouts_reconciled().get(stripe_payout_id=payout_id)
    assert (row.transactions_count, row.transactions_total, row.rows_difference) == (7, amount, 0)
    assert (row.stripe_only_total, row.unmatched_count, row.unexplained) == (-47, 0, 0)
    assert row.ledger_total == amount + 47
    assert payout_state(row) == State.MATCHES
    assert not payouts_reconciled().filter(payouts_differing()).exists()
    for payment in (first, second, third):
        payment.refresh_from_db()
        assert payment.stripe_payout_id == payout_id
    assert Refund.objects.get().stripe_payout_id == payout_id

    matched = {
        m.row.stripe_balance_transaction_id: m for m in payout_transactions_matched(payout=row)
    }
    assert matched[first.stripe_balance_transaction_id].matched == f"payment {first.pk}"
    refund = ledger["refund"]
    assert matched[refund["balance_transaction"]].matched == f"refund {refund['id']}"
    assert matched[ledger["withdrawal"]].matched == f"dispute {ledger['dispute']}"
    assert (matched[ledger["fx"]].in_ledger, matched[ledger["fx"]].matched) == (
        None,
        "Stripe only: currency conversion fee",
    )
    own = events["payout.paid"]["data"]["object"]["balance_transaction"]
    assert own not in matched


def test_a_row_the_ledger_lacks_is_flagged_on_the_reconciliation_page(client, emulated, ledger):
    first = ledger["payments"][0]
    # A 7.00 charge whose events never reached us, and a fee on the first charge that the
    # ledger recorded 0.10 lower than Stripe's.
    stranger = one_off_paid(emulated.emulator, amount=700)
    Payment.objects.filter(pk=first.pk).update(
        fee_minor=F("fee_minor") - 10, net_minor=F("net_minor") + 10
    )
    emulated.emulator.advance(days=2)
    payout_id, events = payout_events(emulated)
    applied(emulated, events["payout.reconciliation_completed"])

    row = payouts_reconciled().get(stripe_payout_id=payout_id)
    stranger_net = emulated.emulator.get(stranger["balance_transaction"])["net"]
    assert (row.rows_difference, row.unmatched_count, row.unexplained) == (0, 1, stranger_net - 10)
    assert payout_state(row) == State.DIFFERS
    assert list(
        payouts_reconciled().filter(payouts_differing()).values_list("stripe_payout_id", flat=True)
    ) == [payout_id]

    client.force_login(staff_member(FINANCE))
    listing = client.get(reverse("admin:finance_payoutreconciliation_changelist")).content.decode()
    assert "⚠ 1 not in the ledger" in listing
    page = client.get(reverse("admin:finance_payoutreconciliation_change", args=[row.pk]))
    html = page.content.decode()
    assert f"⚠ no payment for {stranger['id']}" in html
    assert f"payment {first.pk} (⚠ net differs by -0.10 EUR)" in html
    assert "Stripe only: Stripe fee (Billing, Radar...)" in html


def test_a_manual_payout_is_reported_as_manual_not_as_a_mismatch(client, emulated, ledger):
    created = payouts.payout_manual(emulated.emulator, amount=5000)
    payout_id = created[0]["data"]["object"]["id"]
    paid_out = payouts.payout_paid(emulated.emulator, payout_id=payout_id)
    assert "payout.reconciliation_completed" not in [e["type"] for e in paid_out]
    emulated.http.requests.clear()

    emulated.deliver(created + paid_out)

    assert listed(emulated) == []  # Stripe cannot list what a manual payout carried
    row = payouts_reconciled().get(stripe_payout_id=payout_id)
    assert row.automatic is False
    assert payout_state(row) == State.MANUAL
    assert not payouts_reconciled().filter(payouts_differing()).exists()
    client.force_login(staff_member(FINANCE))
    listing = client.get(
        reverse("admin:finance_payoutreconciliation_changelist"), {"reconciled": "no"}
    ).content.decode()
    assert payout_id not in listing


def test_a_payout_that_fails_after_paid_is_undone_and_comes_back_with_the_next(emulated):
    payment = paid(emulated, 1000, "bounced@example.org")
    stripe = emulated.emulator
    stripe.advance(days=2)
    bounced, events = payout_events(emulated)
    for kind in ("payout.created", "payout.updated", "payout.reconciliation_completed"):
        applied(emulated, events[kind])
    payment.refresh_from_db()
    assert payment.stripe_payout_id == bounced

    stripe.advance(days=1)
    failed = payouts.payout_fail(stripe, payout_id=bounced)
    emulated.deliver(failed)
    # A late `payout.paid` (sent before the failure) does not bring it back.
    applied(emulated, events["payout.paid"])

    payment.refresh_from_db()
    assert payment.stripe_payout_id == ""  # the money never reached the bank
    row = payouts_reconciled().get(stripe_payout_id=bounced)
    assert (row.status, row.failure_code) == ("failed", "account_closed")
    assert payout_state(row) == State.UNDONE
    assert not payouts_reconciled().filter(payouts_differing()).exists()

    # Stripe gave the money back to the balance; the next payout carries it with a new payment.
    later = paid(emulated, 500, "later@example.org")
    stripe.advance(days=2)
    following, events = payout_events(emulated)
    assert events["payout.paid"]["data"]["object"]["amount"] == payment.net_minor + later.net_minor
    emulated.deliver(list(events.values()))

    payment.refresh_from_db()
    later.refresh_from_db()
    assert (payment.stripe_payout_id, later.stripe_payout_id) == (following, following)
    row = payouts_reconciled().get(stripe_payout_id=following)
    assert (row.rows_difference, row.unmatched_count, row.unexplained) == (0, 0, 0)
    assert payout_state(row) == State.MATCHES
    matched = {m.row.type: m for m in payout_transactions_matched(payout=row)}
    assert matched["payout_failure"].matched == f"payout {bounced}, which failed"
    assert Payout.objects.get(stripe_payout_id=bounced).status == "failed"
