"""What happens at Stripe without the reader, played on the demo's emulator on demand
(`manage.py demo_stripe`): Dashboard refunds and refunds that fail, a SEPA debit settling,
disputes, payouts, time passing. Each delivers Stripe's events to the webhook intake."""

from __future__ import annotations

from django.conf import settings

from payments.demo_provider.store import demo_emulator
from payments.models import Contribution, Payment
from stripe_emulator import Emulator, ResourceMissing
from stripe_emulator.flows import checkout, disputes, payouts, refunds
from stripe_emulator.flows.refunds import RefundRefused


class DemoActionRefused(Exception):
    """The action cannot be played; the message says why, for the person who asked."""


def _emulator() -> Emulator:
    if not settings.PAYMENTS_DEMO:
        raise DemoActionRefused("The demo provider is not active (a Stripe key is set).")
    return demo_emulator()


def _payment(contribution_id: int) -> Payment:
    payment = (
        Payment.objects.filter(contribution_id=contribution_id, stripe_charge_id__isnull=False)
        .order_by("-pk")
        .first()
    )
    if payment is None or not payment.stripe_charge_id:
        raise DemoActionRefused(f"Contribution {contribution_id} has no charge to act on yet.")
    return payment


def demo_refund(*, contribution_id: int, amount_minor: int | None) -> str:
    """Refund the contribution's latest charge from Stripe's Dashboard; return the refund id."""
    emulator = _emulator()
    charge_id = str(_payment(contribution_id).stripe_charge_id)
    try:
        with emulator.step():
            refund = refunds.refund_create(emulator, charge_id=charge_id, amount=amount_minor)
    except RefundRefused as refused:
        raise DemoActionRefused(str(refused)) from refused
    return str(refund["id"])


def demo_refund_fail(*, refund_id: str) -> None:
    try:
        refunds.refund_fail(_emulator(), refund_id=refund_id)
    except ResourceMissing as error:
        raise DemoActionRefused(str(error)) from error


def demo_sepa_settle(*, contribution_id: int, fail: bool) -> None:
    """End the pending SEPA Direct Debit of a contribution's checkout: paid, or returned."""
    emulator = _emulator()
    contribution = Contribution.objects.filter(pk=contribution_id).first()
    session_id = contribution.stripe_checkout_session_id if contribution else None
    if not session_id:
        raise DemoActionRefused(f"Contribution {contribution_id} has no checkout.")
    session = emulator.get(session_id, "checkout.session")
    if session["status"] != "complete" or session["payment_status"] != "unpaid":
        raise DemoActionRefused(f"Contribution {contribution_id} has no pending SEPA debit.")
    checkout.sepa_settle(emulator, session_id=session_id, fail=fail)


def demo_dispute_open(*, contribution_id: int, inquiry: bool) -> str:
    charge_id = str(_payment(contribution_id).stripe_charge_id)
    events = disputes.dispute_open(_emulator(), charge_id=charge_id, inquiry=inquiry)
    return str(events[0]["data"]["object"]["id"])


def demo_dispute_close(*, dispute_id: str, won: bool) -> None:
    emulator = _emulator()
    try:
        dispute = emulator.get(dispute_id, "dispute")
    except ResourceMissing as error:
        raise DemoActionRefused(str(error)) from error
    if dispute["status"] in ("needs_response", "warning_needs_response"):
        disputes.dispute_evidence_submit(emulator, dispute_id=dispute_id)
    disputes.dispute_close(emulator, dispute_id=dispute_id, won=won)


def demo_advance(*, days: float) -> None:
    """Let `days` pass at Stripe: pending money becomes available."""
    _emulator().advance(days=days)


def demo_payout(*, currency: str | None) -> str | None:
    """Pay the available balance out, as Stripe's daily payout does; return its id (or None)."""
    emulator = _emulator()
    events = payouts.payout_run(emulator, currency=currency)
    if not events:
        return None
    payout_id = str(events[0]["data"]["object"]["id"])
    payouts.payout_paid(emulator, payout_id=payout_id)
    return payout_id


def demo_balance() -> dict[str, dict[str, int]]:
    """Return Stripe's balance per currency, as the emulator keeps it."""
    return _emulator().balance()
