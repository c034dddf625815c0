"""Payout reconciliation as Stripe does it: every balance transaction of a payout kept as its own
row once Stripe has completed the payout's reconciliation, the payout reconciled against the sum
of its rows, each row matched to the ledger, manual payouts reported as such, and a payout that
fails after `paid` undone (its money comes back with a later payout)."""

import datetime as dt
import time

import pytest
from django.urls import reverse

from finance.reconciliation import (
    State,
    payout_state,
    payout_transactions_matched,
    payouts_differing,
    payouts_reconciled,
)
from payments.gateway import RefundDetails
from payments.ledger import refund_record
from payments.models import Payment, Payout, PayoutBalanceTransaction, Refund, WebhookEvent
from payments.tests.fixtures import (  # noqa: F401 - fixtures
    campaign_fixture,
    contribution_make,
    fake_stripe_fixture,
    intent_add,
)
from payments.tests.stripe_fakes import event, post_event, stripe_object
from payments.webhooks import webhook_event_process
from staff.roles import FINANCE
from staff.tests.helpers import staff_member

pytestmark = pytest.mark.django_db
NOW = int(time.time())


def deliver(client, data):
    response = post_event(client, data)
    assert response.status_code == 200, response.content
    stored = WebhookEvent.objects.get(stripe_event_id=data["id"])
    webhook_event_process(event_pk=stored.pk)
    stored.refresh_from_db()
    assert stored.status == WebhookEvent.Status.PROCESSED, stored.last_error
    return stored


def paid(client, fake_stripe, campaign, intent_id, *, amount=1000, fee=40, email=None):
    contribution = contribution_make(campaign, email=email or f"{intent_id}@example.org")
    intent_add(fake_stripe, intent_id=intent_id, amount=amount, fee=fee)
    session = stripe_object(
        "checkout.session",
        id=f"cs_test_{intent_id}",
        mode="payment",
        payment_status="paid",
        status="complete",
        payment_intent=intent_id,
        client_reference_id=str(contribution.pk),
        metadata={"contribution_id": str(contribution.pk)},
        customer="cus_QXg1o8vcGmoR32",
        currency="eur",
    )
    deliver(client, event("checkout.session.completed", session))
    return Payment.objects.get(stripe_payment_intent_id=intent_id)


def txn(txn_id, type_, category, source, amount, fee=0):
    return stripe_object(
        "balance_transaction",
        id=txn_id,
        type=type_,
        reporting_category=category,
        source=source,
        amount=amount,
        fee=fee,
        net=amount - fee,
        currency="eur",
        available_on=NOW,
        created=NOW,
    )


def payout(payout_id, amount, *, status="paid", reconciliation="completed", **extra):
    return stripe_object(
        "payout",
        id=payout_id,
        amount=amount,
        currency="eur",
        status=status,
        reconciliation_status=reconciliation,
        arrival_date=NOW + 2 * 86400,
        created=NOW,
        **extra,
    )


def listed(fake_stripe):
    return [r for r in fake_stripe.requests if r["path"] == "/v1/balance_transactions"]


@pytest.fixture
def ledger(client, fake_stripe, campaign):
    """Two card payments (10.00, fee 0.40; 25.00, fee 0.90), a 4.00 refund of the first, and a
    dispute on the second that withdrew 25.00 and a 15.00 fee."""
    first = paid(client, fake_stripe, campaign, "pi_first")
    second = paid(client, fake_stripe, campaign, "pi_second", amount=2500, fee=90)
    refund_record(
        payment=first,
        details=RefundDetails(
            id="re_first",
            status="succeeded",
            amount_minor=400,
            currency="EUR",
            reason="requested_by_customer",
            created=dt.datetime.now(dt.UTC),
            charge_id=first.stripe_charge_id,
            payment_intent_id=first.stripe_payment_intent_id,
            balance_transaction_id="txn_re_first",
            failure_balance_transaction_id="",
            failure_reason="",
            settlement_net_minor=-400,
            settlement_currency="EUR",
        ),
    )
    dispute = stripe_object(
        "dispute", id="dp_second", charge=second.stripe_charge_id, currency="eur", amount=2500
    )
    dispute["balance_transactions"] = [
        txn("txn_dp_second", "adjustment", "dispute", "dp_second", -2500, 1500)
    ]
    deliver(client, event("charge.dispute.created", dispute))
    return first, second


def full_list(first, second, payout_id, amount):
    """What Stripe lists for the payout: the ledger's four movements, two kinds the ledger does
    not create (a Billing fee, a currency conversion fee), and the payout's own transaction."""
    return [
        txn(
            first.stripe_balance_transaction_id,
            "charge",
            "charge",
            first.stripe_charge_id,
            1000,
            40,
        ),
        txn(
            second.stripe_balance_transaction_id,
            "charge",
            "charge",
            second.stripe_charge_id,
            2500,
            90,
        ),
        txn("txn_re_first", "refund", "refund", "re_first", -400),
        txn("txn_dp_second", "adjustment", "dispute", "dp_second", -2500, 1500),
        txn("txn_billing", "stripe_fee", "fee", None, -35),
        txn("txn_fx", "stripe_fx_fee", "fee", None, -12),
        txn("txn_po_own", "payout", "payout", payout_id, -amount),
    ]


AMOUNT = 960 + 2410 - 400 - 4000 - 35 - 12  # -1077: a dispute can make a payout negative


def test_rows_are_listed_once_stripe_completed_the_reconciliation_and_match_the_ledger(
    client, fake_stripe, ledger
):
    first, second = ledger
    fake_stripe.lists["/v1/balance_transactions"] = full_list(first, second, "po_week", AMOUNT)

    deliver(
        client,
        event(
            "payout.created",
            payout("po_week", AMOUNT, status="pending", reconciliation="in_progress"),
        ),
    )
    deliver(client, event("payout.paid", payout("po_week", AMOUNT, reconciliation="in_progress")))
    assert listed(fake_stripe) == []  # Stripe's list is not final before its reconciliation
    assert not PayoutBalanceTransaction.objects.exists()

    completed = event("payout.reconciliation_completed", payout("po_week", AMOUNT))
    deliver(client, completed)
    post_event(client, completed)  # a duplicate delivery
    deliver(client, event("payout.updated", payout("po_week", AMOUNT)))

    assert len(listed(fake_stripe)) == 1
    assert listed(fake_stripe)[0]["query"] == {"payout": "po_week", "limit": "100"}
    rows = PayoutBalanceTransaction.objects.filter(payout__stripe_payout_id="po_week")
    assert rows.count() == 7
    fee = rows.get(stripe_balance_transaction_id="txn_billing")
    assert (fee.type, fee.reporting_category, fee.amount_minor, fee.net_minor, fee.currency) == (
        "stripe_fee",
        "fee",
        -35,
        -35,
        "EUR",
    )
    assert fee.available_on is not None and fee.source_id == ""

    row = payouts_reconciled().get(stripe_payout_id="po_week")
    assert (row.transactions_count, row.transactions_total, row.rows_difference) == (6, AMOUNT, 0)
    assert (row.stripe_only_total, row.unmatched_count, row.unexplained) == (-47, 0, 0)
    assert row.ledger_total == AMOUNT + 47
    assert payout_state(row) == State.MATCHES
    assert not payouts_reconciled().filter(payouts_differing()).exists()
    for payment in (first, second):
        payment.refresh_from_db()
        assert payment.stripe_payout_id == "po_week"
    assert Refund.objects.get().stripe_payout_id == "po_week"

    matched = {
        m.row.stripe_balance_transaction_id: m for m in payout_transactions_matched(payout=row)
    }
    assert matched[first.stripe_balance_transaction_id].matched == f"payment {first.pk}"
    assert matched["txn_re_first"].matched == "refund re_first"
    assert matched["txn_dp_second"].matched == "dispute dp_second"
    assert (matched["txn_fx"].in_ledger, matched["txn_fx"].matched) == (
        None,
        "Stripe only: currency conversion fee",
    )
    assert "txn_po_own" not in matched


def test_a_row_the_ledger_lacks_is_flagged_on_the_reconciliation_page(client, fake_stripe, ledger):
    first, second = ledger
    amount = AMOUNT + 700 - 10
    rows = full_list(first, second, "po_short", amount)
    rows.insert(0, txn("txn_stranger", "charge", "charge", "ch_stranger", 700))
    # Stripe's fee on the first charge is 0.10 more than the ledger knows.
    rows[1] = txn(
        first.stripe_balance_transaction_id, "charge", "charge", first.stripe_charge_id, 1000, 50
    )
    fake_stripe.lists["/v1/balance_transactions"] = rows
    deliver(client, event("payout.reconciliation_completed", payout("po_short", amount)))

    row = payouts_reconciled().get(stripe_payout_id="po_short")
    assert (row.rows_difference, row.unmatched_count, row.unexplained) == (0, 1, 690)
    assert payout_state(row) == State.DIFFERS
    assert list(
        payouts_reconciled().filter(payouts_differing()).values_list("stripe_payout_id", flat=True)
    ) == ["po_short"]

    client.force_login(staff_member(FINANCE))
    listing = client.get(reverse("admin:finance_payoutreconciliation_changelist")).content.decode()
    assert "⚠ 1 not in the ledger" in listing
    page = client.get(reverse("admin:finance_payoutreconciliation_change", args=[row.pk]))
    html = page.content.decode()
    assert "⚠ no payment for ch_stranger" in html
    assert f"payment {first.pk} (⚠ net differs by -0.10 EUR)" in html
    assert "Stripe only: Stripe fee (Billing, Radar...)" in html


def test_a_manual_payout_is_reported_as_manual_not_as_a_mismatch(client, fake_stripe, ledger):
    manual = payout("po_manual", 5000, automatic=False, reconciliation="not_applicable")
    deliver(client, event("payout.paid", manual))

    assert listed(fake_stripe) == []  # Stripe cannot list what a manual payout carried
    row = payouts_reconciled().get(stripe_payout_id="po_manual")
    assert row.automatic is False
    assert payout_state(row) == State.MANUAL
    assert not payouts_reconciled().filter(payouts_differing()).exists()
    client.force_login(staff_member(FINANCE))
    listing = client.get(
        reverse("admin:finance_payoutreconciliation_changelist"), {"reconciled": "no"}
    ).content.decode()
    assert "po_manual" not in listing


def test_a_payout_that_fails_after_paid_is_undone_and_comes_back_with_the_next(
    client, fake_stripe, campaign
):
    payment = paid(client, fake_stripe, campaign, "pi_bounced")
    own = txn("txn_po_bounced", "payout", "payout", "po_bounced", -960)
    fake_stripe.lists["/v1/balance_transactions"] = [
        txn(
            payment.stripe_balance_transaction_id,
            "charge",
            "charge",
            payment.stripe_charge_id,
            1000,
            40,
        ),
        own,
    ]
    deliver(client, event("payout.reconciliation_completed", payout("po_bounced", 960)))
    payment.refresh_from_db()
    assert payment.stripe_payout_id == "po_bounced"

    failed = payout("po_bounced", 960, status="failed", failure_code="account_closed")
    deliver(client, event("payout.failed", failed, created=NOW + 86400))
    # A late `payout.paid` does not bring it back.
    deliver(client, event("payout.paid", payout("po_bounced", 960), created=NOW + 60))

    payment.refresh_from_db()
    assert payment.stripe_payout_id == ""  # the money never reached the bank
    row = payouts_reconciled().get(stripe_payout_id="po_bounced")
    assert (row.status, row.failure_code) == ("failed", "account_closed")
    assert payout_state(row) == State.UNDONE
    assert not payouts_reconciled().filter(payouts_differing()).exists()

    # Stripe gave the 9.60 back to the balance; the next payout carries it with a new payment.
    later = paid(client, fake_stripe, campaign, "pi_later", amount=2000, fee=70)
    fake_stripe.lists["/v1/balance_transactions"] = [
        txn("txn_po_failure", "payout_failure", "payout_reversal", "po_bounced", 960),
        txn(
            later.stripe_balance_transaction_id,
            "charge",
            "charge",
            later.stripe_charge_id,
            2000,
            70,
        ),
        txn("txn_po_next", "payout", "payout", "po_next", -2890),
    ]
    deliver(client, event("payout.reconciliation_completed", payout("po_next", 2890)))

    payment.refresh_from_db()
    later.refresh_from_db()
    assert (payment.stripe_payout_id, later.stripe_payout_id) == ("po_next", "po_next")
    row = payouts_reconciled().get(stripe_payout_id="po_next")
    assert (row.rows_difference, row.unmatched_count, row.unexplained) == (0, 0, 0)
    assert payout_state(row) == State.MATCHES
    matched = {m.row.type: m for m in payout_transactions_matched(payout=row)}
    assert matched["payout_failure"].matched == "payout po_bounced, which failed"
    assert Payout.objects.get(stripe_payout_id="po_bounced").status == "failed"
