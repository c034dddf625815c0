"""Refunds made anywhere (the admin, Stripe's Dashboard, the API) reach the ledger through
Stripe's refund events, built from Stripe's example refund; the handler re-reads each refund."""

import pytest

from payments.gateway import refund_details_from
from payments.ledger import refund_record
from payments.models import Payment, Refund
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import (  # noqa: F401 - fixtures
    campaign_fixture,
    contribution_make,
    fake_stripe_fixture,
    intent_add,
)
from payments.tests.stripe_fakes import event, stripe_object
from stripe_emulator.flows import cards
from stripe_emulator.flows import checkout as stripe_checkout
from stripe_emulator.flows import refunds as stripe_refunds
from tests.test_payments_webhooks import deliver, session_completed

pytestmark = pytest.mark.django_db


@pytest.fixture(name="paid")
def paid_fixture(client, campaign, fake_stripe):
    contribution = contribution_make(campaign)
    intent_add(fake_stripe, intent_id="pi_paid", amount=1000, fee=40)
    deliver(
        client,
        event("checkout.session.completed", session_completed(contribution, intent_id="pi_paid")),
    )
    return Payment.objects.get(stripe_payment_intent_id="pi_paid")


def stripe_refund(paid, fake_stripe, **fields):
    """Stripe's refund of `paid`, as Stripe holds it now (what the handler reads back)."""
    refund = stripe_object(
        "refund",
        charge=paid.stripe_charge_id,
        payment_intent=paid.stripe_payment_intent_id,
        currency="eur",
        balance_transaction="txn_refund_1",
        **fields,
    )
    return fake_stripe.add(refund)


def test_a_refund_made_in_the_dashboard_is_recorded(client, paid, fake_stripe):
    refund = stripe_refund(paid, fake_stripe, amount=300, reason="requested_by_customer")

    deliver(client, event("refund.created", dict(refund)))

    row = Refund.objects.get()
    assert (row.stripe_refund_id, row.amount_minor, row.status, row.reason) == (
        refund["id"],
        300,
        "succeeded",
        "requested_by_customer",
    )
    assert row.stripe_balance_transaction_id == "txn_refund_1"
    paid.refresh_from_db()
    assert paid.refunded_minor == 300


def test_a_refund_that_fails_later_gives_its_money_back(client, paid, fake_stripe):
    refund = stripe_refund(paid, fake_stripe, amount=1000)
    created = event("refund.created", dict(refund))
    deliver(client, created)
    paid.refresh_from_db()
    assert paid.refunded_minor == 1000

    refund.update(
        status="failed",
        failure_reason="expired_or_canceled_card",
        failure_balance_transaction="txn_refund_failure_1",
    )
    deliver(client, event("refund.failed", dict(refund)))
    deliver(client, event("refund.updated", dict(refund)))

    row = Refund.objects.get()
    assert (row.status, row.failure_reason, row.stripe_failure_balance_transaction_id) == (
        "failed",
        "expired_or_canceled_card",
        "txn_refund_failure_1",
    )
    paid.refresh_from_db()
    assert paid.refunded_minor == 0
    assert paid.refundable_minor == 1000


def test_a_late_older_state_does_not_revive_a_failed_refund(client, paid, fake_stripe):
    refund = stripe_refund(paid, fake_stripe, amount=1000, status="failed")
    deliver(client, event("refund.failed", dict(refund)))

    # An answer read before the failure (the admin's own create call, say) arrives last.
    with_pending = refund_details_from({**refund, "status": "pending"})
    refund_record(payment=Payment.objects.select_for_update().get(pk=paid.pk), details=with_pending)

    assert Refund.objects.get().status == "failed"
    paid.refresh_from_db()
    assert paid.refunded_minor == 0


def test_a_pending_sepa_refund_becomes_succeeded(client, paid, fake_stripe):
    refund = stripe_refund(paid, fake_stripe, amount=1000, status="pending")
    deliver(client, event("refund.created", dict(refund)))
    assert Refund.objects.get().status == "pending"
    paid.refresh_from_db()
    assert paid.refunded_minor == 1000  # on its way: no longer refundable

    refund["status"] = "succeeded"
    deliver(client, event("charge.refund.updated", dict(refund)))

    assert Refund.objects.get().status == "succeeded"
    paid.refresh_from_db()
    assert paid.refunded_minor == 1000


def test_charge_refunded_lists_the_refunds_the_charge_no_longer_carries(client, paid, fake_stripe):
    first = stripe_refund(paid, fake_stripe, amount=200)
    second = stripe_refund(paid, fake_stripe, amount=300, id="re_second", status="pending")
    fake_stripe.lists["/v1/refunds"] = [first, second]
    charge = stripe_object(
        "charge", id=paid.stripe_charge_id, amount=1000, amount_refunded=500, refunded=False
    )
    del charge["refunds"]  # not sent since API 2022-11-15

    deliver(client, event("charge.refunded", charge))

    assert sorted(Refund.objects.values_list("stripe_refund_id", "amount_minor", "status")) == [
        (first["id"], 200, "succeeded"),
        ("re_second", 300, "pending"),
    ]
    paid.refresh_from_db()
    assert paid.refunded_minor == 500


# --- The same, against the emulator's own refund flows and event sequences -----------------------


def test_emulator_dashboard_refund_that_fails_later_shows_failed_and_gives_money_back(emulated):
    contribution = emulated.give()
    payment = contribution.payments.get()
    mark = emulated.emulator.events_mark()
    refund = stripe_refunds.refund_create(  # made in Stripe's Dashboard: only events tell us
        emulated.emulator, charge_id=payment.stripe_charge_id, amount=400
    )
    emulated.deliver(emulated.emulator.events(since=mark))
    payment.refresh_from_db()
    assert payment.refunded_minor == 400
    assert Refund.objects.get().status == "succeeded"

    failed = stripe_refunds.refund_fail(emulated.emulator, refund_id=refund["id"])
    emulated.deliver(failed, order="reversed", duplicates=1, seed=3)

    row = Refund.objects.get()
    assert (row.status, row.amount_minor) == ("failed", 400)
    assert row.stripe_failure_balance_transaction_id
    payment.refresh_from_db()
    assert payment.refunded_minor == 0


def test_emulator_pending_sepa_refund_becomes_succeeded(emulated):
    contribution = emulated.start()
    emulated.pay(contribution, number=cards.SEPA_SUCCESS)
    emulated.deliver(
        stripe_checkout.sepa_settle(
            emulated.emulator, session_id=contribution.stripe_checkout_session_id, fail=False
        )
    )
    payment = contribution.payments.get()
    assert payment.status == "succeeded"
    mark = emulated.emulator.events_mark()
    refund = stripe_refunds.refund_create(emulated.emulator, charge_id=payment.stripe_charge_id)
    emulated.deliver(emulated.emulator.events(since=mark), order="reversed")
    assert Refund.objects.get().status == "pending"

    settled = stripe_refunds.refund_settle(emulated.emulator, refund_id=refund["id"])
    emulated.deliver(settled, order="shuffled", duplicates=1, seed=1)

    assert Refund.objects.get().status == "succeeded"
    payment.refresh_from_db()
    assert payment.refunded_minor == payment.gross_minor
