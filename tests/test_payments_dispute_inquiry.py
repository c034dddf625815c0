"""Dispute inquiries (`warning_*`, from Stripe's inquiry test card): the money is at stake but
nothing is withdrawn, unless the inquiry escalates into a chargeback."""

import pytest
from django.utils import timezone

from finance.filters import ReportFilters
from finance.selectors import monthly_summary
from payments.models import Dispute, DisputeMovement
from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from staff.roles import FINANCE
from staff.tests.helpers import staff_member
from stripe_emulator.flows import cards, disputes

pytestmark = pytest.mark.django_db


def inquired(emulated):
    """A paid one-off whose card's bank opens an inquiry right after (Stripe's test card)."""
    contribution = emulated.start()
    emulated.pay(contribution, number=cards.DISPUTED_INQUIRY, order="shuffled", seed=4)
    return contribution.payments.get()


def summary_today():
    today = timezone.localdate()
    (row,) = monthly_summary(filters=ReportFilters(since=today, until=today))
    return row


def test_an_inquiry_is_money_at_stake_that_withdraws_nothing(emulated):
    payment = inquired(emulated)

    dispute = Dispute.objects.get()
    assert dispute.status == "warning_needs_response"
    assert dispute.is_inquiry
    assert payment.disputed_minor == payment.gross_minor  # at stake
    assert not DisputeMovement.objects.exists()  # nothing withdrawn
    row = summary_today()
    assert (row.disputes, row.dispute_fees) == (0, 0)
    assert row.net_after_refunds_and_disputes == payment.net_minor
    emulated.client.force_login(staff_member(FINANCE))
    history = emulated.client.get(
        f"/admin/payments/contribution/{payment.contribution_id}/change/"
    ).content.decode()
    assert "Inquiry about €10.00 opened (at stake; nothing withdrawn)" in history
    listing = emulated.client.get("/admin/payments/dispute/").content.decode()
    assert "inquiry (nothing withdrawn)" in listing

    emulated.deliver(
        disputes.dispute_evidence_submit(emulated.emulator, dispute_id=dispute.stripe_dispute_id)
    )
    payment.refresh_from_db()
    assert Dispute.objects.get().status == "warning_under_review"
    assert payment.disputed_minor == payment.gross_minor

    closed = disputes.dispute_close(
        emulated.emulator, dispute_id=dispute.stripe_dispute_id, won=True
    )
    emulated.deliver(closed, order="reversed")

    dispute.refresh_from_db()
    payment.refresh_from_db()
    assert (dispute.status, dispute.closed_at is not None) == ("warning_closed", True)
    assert payment.disputed_minor == 0
    assert not DisputeMovement.objects.exists()


def test_an_escalated_inquiry_withdraws_the_money_and_its_fee(emulated):
    payment = inquired(emulated)
    dispute = Dispute.objects.get()

    escalated = disputes.dispute_escalate(emulated.emulator, dispute_id=dispute.stripe_dispute_id)
    emulated.deliver(escalated, order="shuffled", duplicates=1, seed=2)
    lost = disputes.dispute_close(
        emulated.emulator, dispute_id=dispute.stripe_dispute_id, won=False
    )
    emulated.deliver(lost)

    dispute.refresh_from_db()
    payment.refresh_from_db()
    assert dispute.status == "lost" and not dispute.is_inquiry
    (withdrawal,) = DisputeMovement.objects.all()
    txn = emulated.emulator.get(withdrawal.stripe_balance_transaction_id)
    assert (withdrawal.amount_minor, withdrawal.fee_minor) == (txn["amount"], txn["fee"])
    assert payment.disputed_minor == payment.gross_minor
    row = summary_today()
    assert (row.disputes, row.dispute_fees) == (-txn["amount"], txn["fee"])
