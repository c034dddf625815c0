"""A dispute's money through signed webhook events and the payouts that carried it.

Stripe withdraws the disputed amount and its dispute fee when a dispute opens and, if the
publisher wins, reinstates the amount (sometimes the fee too) later; each is a balance transaction
of its own, often paid out in a different payout. The Stripe emulator plays the disputes and
payouts (`emulated`).
"""

import pytest
from django.forms.models import model_to_dict

from finance.reconciliation import payout_movements, payouts_reconciled
from payments.models import Dispute, DisputeMovement, Payment, Payout, WebhookEvent
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from staff.roles import FINANCE
from staff.tests.helpers import staff_member
from stripe_emulator.flows import disputes, payouts

pytestmark = pytest.mark.django_db
DAY = 86400


def reconciled(payout_id):
    payout = payouts_reconciled().get(stripe_payout_id=payout_id)
    return payout.disputes_net, payout.difference


def ledger_state():
    """The rows a repeated event must not change (a dispute's `updated_at` aside: a later
    event's state is written again, unchanged)."""
    return (
        [
            model_to_dict(row) | {"updated_at": row.updated_at}
            for row in DisputeMovement.objects.all()
        ],
        [model_to_dict(row) for row in Dispute.objects.all()],
        [
            (p.pk, p.disputed_minor, p.stripe_payout_id, p.net_minor)
            for p in Payment.objects.order_by("pk")
        ],
        list(payouts_reconciled().order_by("pk").values_list("stripe_payout_id", "difference")),
    )


def emulated_paid(emulated, *, amount, email):
    """A one-off card payment through the support page and the emulator's checkout."""
    contribution = emulated.give(amount=str(amount), email=email)
    return Payment.objects.get(contribution=contribution)


def emulated_payout(emulated):
    """Stripe's next automatic payout, paid and reconciled, its events delivered; its id."""
    created = payouts.payout_run(emulated.emulator)
    assert created, "nothing available to pay out"
    payout_id = created[0]["data"]["object"]["id"]
    emulated.deliver(created + payouts.payout_paid(emulated.emulator, payout_id=payout_id))
    return payout_id


def test_a_dispute_opened_in_one_payout_and_won_in_a_later_one_reconciles_both(emulated):
    disputed = emulated_paid(emulated, amount=1000, email="disputed@example.org")
    emulated_paid(emulated, amount=2500, email="other@example.org")
    stripe = emulated.emulator
    opened = disputes.dispute_open(stripe, charge_id=disputed.stripe_charge_id)
    emulated.deliver(opened)
    dispute_id = opened[0]["data"]["object"]["id"]
    disputed.refresh_from_db()
    assert disputed.disputed_minor == 1000
    assert Dispute.objects.get().fee_minor == 1500
    stripe.advance(days=2)
    opened_payout = emulated_payout(emulated)

    # Won ten days later: the amount back, and Stripe's dispute fee with it.
    stripe.advance(days=10)
    won = disputes.dispute_close(stripe, dispute_id=dispute_id, won=True)
    emulated.deliver(won)
    won_payout = emulated_payout(emulated)

    # Each payout holds the movement it paid out, and both add up to the cent.
    assert reconciled(opened_payout) == (-2500, 0)
    assert reconciled(won_payout) == (2500, 0)
    withdrawal, reinstatement = won[-1]["data"]["object"]["balance_transactions"]
    assert sorted(
        DisputeMovement.objects.values_list(
            "stripe_balance_transaction_id",
            "amount_minor",
            "fee_minor",
            "net_minor",
            "stripe_payout_id",
        )
    ) == sorted(
        [
            (reinstatement["id"], 1000, -1500, 2500, won_payout),
            (withdrawal["id"], -1000, 1500, -2500, opened_payout),
        ]
    )
    [movement] = payout_movements(payout=Payout.objects.get(stripe_payout_id=won_payout))
    assert (movement.kind, movement.stripe_id, movement.amount_minor, movement.payment_id) == (
        "dispute reinstatement",
        dispute_id,
        2500,
        disputed.pk,
    )
    row = Dispute.objects.get()
    # Won, with the fee given back: nothing at stake, no fee kept.
    assert (row.status, row.fee_minor, row.closed_at is not None) == ("won", 0, True)
    disputed.refresh_from_db()
    assert disputed.disputed_minor == 0

    # Delivered again, shuffled, or told again by older events, nothing moves.
    before = ledger_state()
    assert emulated.deliver(won + opened, order="shuffled", duplicates=2, seed=7) == []
    assert ledger_state() == before
    assert WebhookEvent.objects.filter(status=WebhookEvent.Status.FAILED).count() == 0


def test_a_lost_dispute_reconciles_and_stays_at_stake(emulated):
    disputed = emulated_paid(emulated, amount=2500, email="lost@example.org")
    emulated_paid(emulated, amount=2500, email="kept@example.org")
    stripe = emulated.emulator
    opened = disputes.dispute_open(stripe, charge_id=disputed.stripe_charge_id)
    emulated.deliver(opened[:1])  # charge.dispute.created
    stripe.advance(days=2)
    payout = emulated_payout(emulated)
    stripe.advance(days=20)
    emulated.deliver(
        disputes.dispute_close(stripe, dispute_id=opened[0]["data"]["object"]["id"], won=False)
    )

    assert reconciled(payout) == (-4000, 0)
    row = Dispute.objects.get()
    assert (row.status, row.fee_minor, row.movements.get().stripe_payout_id) == (
        "lost",
        1500,
        payout,
    )
    disputed.refresh_from_db()
    assert disputed.disputed_minor == 2500


def test_a_prevented_dispute_is_closed_with_nothing_at_stake(emulated):
    disputed = emulated_paid(emulated, amount=1000, email="prevented@example.org")
    # Stopped before it became a chargeback: Stripe withdrew nothing.
    opened = disputes.dispute_open(
        emulated.emulator, charge_id=disputed.stripe_charge_id, prevented=True
    )
    assert [e["type"] for e in opened] == ["charge.dispute.created"]

    emulated.deliver(opened)

    row = Dispute.objects.get()
    assert (row.status, row.fee_minor, row.closed_at is not None) == ("prevented", 0, True)
    assert not row.movements.exists()
    disputed.refresh_from_db()
    assert disputed.disputed_minor == 0


def test_finance_sees_a_disputes_movements_and_their_payouts_in_the_admin(client, emulated):
    disputed = emulated_paid(emulated, amount=2500, email="shown@example.org")
    emulated_paid(emulated, amount=2500, email="kept@example.org")
    opened = disputes.dispute_open(emulated.emulator, charge_id=disputed.stripe_charge_id)
    emulated.deliver(opened)
    emulated.emulator.advance(days=2)
    payout = emulated_payout(emulated)
    [withdrawal] = opened[0]["data"]["object"]["balance_transactions"]

    client.force_login(staff_member(FINANCE))
    page = client.get(f"/admin/payments/dispute/{Dispute.objects.get().pk}/change/")

    assert page.status_code == 200
    for shown in (withdrawal["id"], payout, "-€40.00"):  # the withdrawal's net, fee included
        assert shown in page.content.decode()
