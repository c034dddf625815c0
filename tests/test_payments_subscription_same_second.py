"""Stripe's event `created` counts whole seconds, and a subscription can change twice in one
second (a failed renewal retried at once, a checkout's incomplete then active). Two states of one
second say nothing about their order: whichever arrives last, the mirror must end as Stripe's
own subscription (or dispute) is, not as the last event delivered says."""

from __future__ import annotations

import pytest

from payments.models import Dispute, Payment, Subscription
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from stripe_emulator.flows import cards, checkout, disputes, invoices

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("last", [0, 1, 2])
def test_two_states_of_one_second_end_as_stripe_has_the_subscription(emulated, last):
    stripe = emulated.emulator
    contribution = emulated.start(frequency="monthly", amount="500")
    session_id = str(contribution.stripe_checkout_session_id)
    emulated.deliver(
        checkout.session_pay(stripe, session_id=session_id, number=cards.SUCCESS).events
    )
    subscription_id = stripe.get(session_id)["subscription"]

    renewals = invoices.subscription_renew(stripe, subscription_id=subscription_id, fail=True)
    renewals += invoices.subscription_renew(stripe, subscription_id=subscription_id)
    updates = [e for e in renewals if e["type"] == "customer.subscription.updated"]
    statuses = [e["data"]["object"]["status"] for e in updates]
    assert statuses == ["active", "past_due", "active"]  # Stripe's sequence, in one second
    assert len({e["created"] for e in updates}) == 1
    updates.append(updates.pop(last))  # this one arrives last
    for event in updates:
        emulated.apply(event)

    assert stripe.get(subscription_id)["status"] == "active"
    assert Subscription.objects.get().status == "active"


def test_a_dispute_closed_in_the_second_it_opened_stays_closed(emulated):
    """An inquiry opened and closed in one second, the closing event delivered first: the
    opening one, of the same second, does not open it again."""
    stripe = emulated.emulator
    contribution = emulated.start()
    session_id = str(contribution.stripe_checkout_session_id)
    paid = checkout.session_pay(stripe, session_id=session_id, number=cards.DISPUTED_INQUIRY)
    [dispute_id] = [d["id"] for d in stripe.find("dispute")]
    closed = disputes.dispute_close(stripe, dispute_id=dispute_id, won=True)
    opened = [e for e in paid.events if e["type"] == "charge.dispute.created"]
    assert {e["created"] for e in opened + closed} == {closed[0]["created"]}

    emulated.deliver([e for e in paid.events if e not in opened])  # the payment
    for event in closed + opened:
        emulated.apply(event)

    dispute = Dispute.objects.get()
    assert dispute.status == stripe.get(dispute_id)["status"] == "warning_closed"
    payment = Payment.objects.get()
    assert payment.disputed_minor == 0  # an inquiry that closed has nothing at stake
