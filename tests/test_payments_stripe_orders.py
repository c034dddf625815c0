"""Stripe's real event sequences, delivered in any order and more than once, leave the ledger as
Stripe's own state says: the same payments, statuses, amounts, fees and refunds."""

from __future__ import annotations

import pytest

from payments.models import Contribution, Payment, Refund, Subscription, WebhookEvent
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from payments.webhooks import webhook_events_replay
from stripe_emulator.flows import cards, checkout, invoices, refunds

pytestmark = pytest.mark.django_db


def stripes_truth(emulator):
    """What Stripe holds, per payment intent (one per one-off gift or invoice, whatever the
    attempts): its latest charge's amount, status, fee and what was refunded of it."""
    truth = {}
    for intent in emulator.find("payment_intent"):
        charge = emulator.get(intent["latest_charge"])
        txn = emulator.get(charge["balance_transaction"]) if charge["balance_transaction"] else None
        truth[charge["id"]] = (
            charge["amount"],
            charge["status"],
            txn["fee"] if txn else None,
            charge["amount_refunded"],
        )
    return truth


def retried_until_settled():
    """What the sweep does later: apply the events that were not ready again (twice at most,
    as every event they wait for is stored by now)."""
    for _ in range(2):
        webhook_events_replay()
    return list(WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED))


def ledger(payments):
    return {
        p.stripe_charge_id: (p.gross_minor, p.status, p.fee_minor, p.refunded_minor)
        for p in payments
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_year_of_a_monthly_gift_in_any_order_matches_stripe(emulated, seed):
    stripe = emulated.emulator
    contribution = emulated.start(frequency="monthly", amount="500")
    session_id = str(contribution.stripe_checkout_session_id)
    events = checkout.session_pay(stripe, session_id=session_id, number=cards.SUCCESS).events
    subscription_id = stripe.get(session_id)["subscription"]
    events += invoices.subscription_renew(stripe, subscription_id=subscription_id)
    events += invoices.subscription_renew(stripe, subscription_id=subscription_id, fail=True)
    events += invoices.subscription_renew(stripe, subscription_id=subscription_id)
    paid = [c for c in stripe.find("charge") if c["status"] == "succeeded"]
    mark = stripe.events_mark()
    refunds.refund_create(stripe, charge_id=paid[1]["id"], amount=200)  # from the Dashboard
    events += stripe.events(since=mark)

    emulated.deliver(events, order="shuffled", duplicates=len(events) // 2, seed=seed)
    emulated.deliver(events, order="reversed")  # and everything again, backwards

    assert retried_until_settled() == []
    truth = stripes_truth(stripe)
    recorded = ledger(Payment.objects.all())
    assert recorded == truth
    assert Payment.objects.filter(kind=Payment.Kind.SUBSCRIPTION_FIRST).count() == 1
    subscription = Subscription.objects.get()
    assert subscription.status == stripe.get(subscription_id)["status"] == "active"
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.ACTIVE
    [refund] = Refund.objects.all()
    assert (refund.amount_minor, refund.status) == (200, "succeeded")


@pytest.mark.parametrize("seed", [4, 5])
def test_one_off_gifts_refunded_in_full_and_in_part_in_any_order_match_stripe(emulated, seed):
    stripe = emulated.emulator
    events = []
    for email in ("ada@example.org", "bob@example.org"):
        contribution = emulated.start(email=email)
        session_id = str(contribution.stripe_checkout_session_id)
        events += checkout.session_pay(stripe, session_id=session_id, number=cards.SUCCESS).events
    first, second = stripe.find("charge")
    mark = stripe.events_mark()
    refunds.refund_create(stripe, charge_id=first["id"])
    refunds.refund_create(stripe, charge_id=second["id"], amount=300)
    refunds.refund_create(stripe, charge_id=second["id"], amount=200)
    events += stripe.events(since=mark)

    emulated.deliver(
        events, order="shuffled", duplicates=3, late=("checkout.session.completed",), seed=seed
    )

    assert retried_until_settled() == []
    assert ledger(Payment.objects.all()) == stripes_truth(stripe)
    assert sorted(Refund.objects.values_list("amount_minor", flat=True)) == [200, 300, 1000]
