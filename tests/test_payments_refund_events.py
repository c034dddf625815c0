"""Refunds made anywhere (the admin, Stripe's Dashboard, the API) reach the ledger through
Stripe's refund events, played by the Stripe emulator's refund flows; the handler re-reads each
refund from Stripe."""

import pytest

from payments.gateway import refund_details_from
from payments.ledger import refund_record
from payments.models import Payment, Refund
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from stripe_emulator.flows import cards
from stripe_emulator.flows import checkout as stripe_checkout
from stripe_emulator.flows import refunds as stripe_refunds

pytestmark = pytest.mark.django_db


@pytest.fixture(name="paid")
def paid_fixture(emulated):
    """A 10.00 card payment, recorded through Stripe's checkout events."""
    return emulated.give(amount="1000").payments.get()


def dashboard_refund(emulated, payment, **fields):
    """A refund made in Stripe's Dashboard (only its events tell us); the refund and its events."""
    mark = emulated.emulator.events_mark()
    refund = stripe_refunds.refund_create(
        emulated.emulator, charge_id=payment.stripe_charge_id, **fields
    )
    return refund, emulated.emulator.events(since=mark)


def sepa_paid(emulated):
    """A 10.00 SEPA Direct Debit payment, its debit cleared."""
    contribution = emulated.start()
    emulated.pay(contribution, number=cards.SEPA_SUCCESS)
    emulated.deliver(
        stripe_checkout.sepa_settle(
            emulated.emulator, session_id=contribution.stripe_checkout_session_id, fail=False
        )
    )
    payment = contribution.payments.get()
    assert payment.status == "succeeded"
    return payment


def test_a_refund_made_in_the_dashboard_is_recorded(emulated, paid):
    refund, events = dashboard_refund(emulated, paid, amount=300, reason="requested_by_customer")

    emulated.apply(emulated.event(events, "refund.created"))

    row = Refund.objects.get()
    assert (row.stripe_refund_id, row.amount_minor, row.status, row.reason) == (
        refund["id"],
        300,
        "succeeded",
        "requested_by_customer",
    )
    assert row.stripe_balance_transaction_id == refund["balance_transaction"]
    paid.refresh_from_db()
    assert paid.refunded_minor == 300


def test_a_refund_that_fails_later_gives_its_money_back(emulated, paid):
    refund, events = dashboard_refund(emulated, paid, amount=1000)
    emulated.apply(emulated.event(events, "refund.created"))
    paid.refresh_from_db()
    assert paid.refunded_minor == 1000

    failed = stripe_refunds.refund_fail(emulated.emulator, refund_id=refund["id"])
    emulated.apply(emulated.event(failed, "refund.failed"))
    emulated.apply(emulated.event(failed, "refund.updated"))

    failure_txn = emulated.emulator.get(refund["id"])["failure_balance_transaction"]
    row = Refund.objects.get()
    assert (row.status, row.failure_reason, row.stripe_failure_balance_transaction_id) == (
        "failed",
        "expired_or_canceled_card",
        failure_txn,
    )
    paid.refresh_from_db()
    assert paid.refunded_minor == 0
    assert paid.refundable_minor == 1000


def test_a_late_older_state_does_not_revive_a_failed_refund(emulated, paid):
    refund, _ = dashboard_refund(emulated, paid, amount=1000)
    failed = emulated.event(
        stripe_refunds.refund_fail(emulated.emulator, refund_id=refund["id"]), "refund.failed"
    )
    emulated.apply(failed)

    # An answer read before the failure (the admin's own create call, say) arrives last.
    with_pending = refund_details_from({**failed["data"]["object"], "status": "pending"})
    refund_record(payment=Payment.objects.select_for_update().get(pk=paid.pk), details=with_pending)

    assert Refund.objects.get().status == "failed"
    paid.refresh_from_db()
    assert paid.refunded_minor == 0


def test_charge_refunded_lists_the_refunds_the_charge_no_longer_carries(emulated):
    payment = sepa_paid(emulated)
    first, _ = dashboard_refund(emulated, payment, amount=200)
    stripe_refunds.refund_settle(emulated.emulator, refund_id=first["id"])
    second, events = dashboard_refund(emulated, payment, amount=300)  # SEPA: pending
    charge_refunded = emulated.event(events, "charge.refunded")
    assert "refunds" not in charge_refunded["data"]["object"]  # not sent since API 2022-11-15

    emulated.apply(charge_refunded)  # the only event that arrives

    assert sorted(
        Refund.objects.values_list("stripe_refund_id", "amount_minor", "status")
    ) == sorted([(first["id"], 200, "succeeded"), (second["id"], 300, "pending")])
    payment.refresh_from_db()
    assert payment.refunded_minor == 500


def test_emulator_dashboard_refund_that_fails_later_shows_failed_and_gives_money_back(emulated):
    contribution = emulated.give()
    payment = contribution.payments.get()
    refund, events = dashboard_refund(emulated, payment, amount=400)
    emulated.deliver(events)
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


def test_a_pending_sepa_refund_becomes_succeeded(emulated):
    payment = sepa_paid(emulated)
    refund, events = dashboard_refund(emulated, payment)
    emulated.deliver(events, order="reversed")
    assert Refund.objects.get().status == "pending"
    payment.refresh_from_db()
    assert payment.refunded_minor == 1000  # on its way: no longer refundable

    settled = stripe_refunds.refund_settle(emulated.emulator, refund_id=refund["id"])
    emulated.deliver(settled, order="shuffled", duplicates=1, seed=1)

    assert Refund.objects.get().status == "succeeded"
    payment.refresh_from_db()
    assert payment.refunded_minor == payment.gross_minor == 1000


def test_a_refund_event_records_the_refund_as_stripe_has_it_now_not_as_the_event_saw_it(
    emulated,
):
    payment = sepa_paid(emulated)
    refund, events = dashboard_refund(emulated, payment)
    created = emulated.event(events, "refund.created")
    assert created["data"]["object"]["status"] == "pending"
    stripe_refunds.refund_settle(emulated.emulator, refund_id=refund["id"])

    emulated.apply(created)  # late: Stripe settled the refund since, and that event is not here

    assert Refund.objects.get().status == "succeeded"  # read from Stripe, not the old payload
