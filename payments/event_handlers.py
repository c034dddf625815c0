"""How each Stripe event type changes the ledger.

Every handler is idempotent and order-independent: rows are found or created under their unique
Stripe ids with the contribution row locked first, payment state is re-read through the gateway
rather than trusted from an old event, subscription and dispute state is only overwritten by an
event at least as recent as the one applied before (`stripe_state_at`), a succeeded payment never
goes back to pending or failed, a refund's status only moves forward, and each balance
transaction of a dispute is recorded once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import Q, Sum

from payments.gateway import (
    Gateway,
    gateway_get,
    stripe_id,
    stripe_time,
    subscription_state_from,
)
from payments.hot_rows import row_locked, row_update, rows_locked
from payments.ledger import (
    contribution_second_checkout,
    payment_apply,
    refund_record,
    subscription_apply,
    supporter_customer_remember,
)
from payments.models import (
    Contribution,
    Dispute,
    DisputeMovement,
    Payment,
    Subscription,
)
from payments.payouts import payout_ledger_tag, payout_mirror, payout_transactions_record


class EventNotReady(Exception):
    """The event refers to something not recorded yet; it is tried again later."""


class EventNotApplicable(Exception):
    """The event is about something that is not ours (e.g. a payment link); it is ignored."""


Handler = Callable[[dict[str, Any], datetime], None]

# Stripe's dispute statuses that end a dispute. `prevented`: Stripe stopped it before it became
# a chargeback (dispute prevention), so nothing was withdrawn for it.
CLOSED_DISPUTE_STATUSES = {"won", "lost", "warning_closed", "prevented"}
# Closed with nothing lost: won (money reinstated), an inquiry closed, or prevented.
DISPUTE_STATUSES_NOTHING_LOST = {"won", "warning_closed", "prevented"}


def _contribution_lock(metadata: dict[str, Any] | None, reference: Any = None) -> Contribution:
    raw = str((metadata or {}).get("contribution_id") or reference or "")
    if not raw.isdecimal():
        raise EventNotApplicable("no contribution id in the object's metadata")
    contribution = row_locked(Contribution, int(raw))
    if contribution is None:
        raise EventNotApplicable(f"contribution {raw} is not in this ledger")
    return contribution


def _contribution_save(contribution: Contribution) -> None:
    row_update(
        contribution,
        [
            "status",
            "first_paid_at",
            "canceled_at",
            "stripe_checkout_session_id",
            "stripe_payment_intent_id",
            "updated_at",
        ],
    )


def checkout_session_changed(session: dict[str, Any], created: datetime) -> None:
    """checkout.session.completed / async_payment_succeeded / async_payment_failed.

    A second paid checkout of one contribution (both the embedded and the hosted page were
    paid) is recorded on a contribution of its own and flagged for staff (see
    `contribution_second_checkout`).
    """
    contribution = _contribution_lock(session.get("metadata"), session.get("client_reference_id"))
    gateway = gateway_get()
    async_failed = session.get("payment_status") == "unpaid" and session.get("status") == "expired"
    if session.get("mode") == "subscription":
        subscription_id = stripe_id(session.get("subscription"))
        if not subscription_id:
            raise EventNotReady("the session has no subscription yet")
        state = gateway.subscription_retrieve(subscription_id=subscription_id)
        subscription = subscription_apply(contribution=contribution, state=state, at=created)
        contribution = _contribution_of(contribution, subscription.contribution_id)
        if session.get("payment_status") == "unpaid" and contribution.first_paid_at is None:
            contribution.status = (
                Contribution.Status.FAILED if async_failed else Contribution.Status.PROCESSING
            )
    else:
        intent_id = stripe_id(session.get("payment_intent"))
        if not intent_id:
            raise EventNotReady("the session has no payment intent yet")
        details = gateway.payment_intent_details(payment_intent_id=intent_id)
        contribution, known = _one_off_contribution(contribution, intent_id, session["id"])
        contribution.stripe_payment_intent_id = intent_id
        supporter_customer_remember(
            contribution, stripe_id(session.get("customer")) or details.customer_id
        )
        payment = payment_apply(
            contribution=contribution, kind=Payment.Kind.ONE_OFF, details=details, payment=known
        )
        if payment.status == Payment.Status.SUCCEEDED:
            contribution.status = Contribution.Status.PAID
        elif payment.status == Payment.Status.FAILED:
            contribution.status = Contribution.Status.FAILED
        else:
            contribution.status = Contribution.Status.PROCESSING
    _session_remember(contribution, session["id"])
    _contribution_save(contribution)


def _contribution_of(contribution: Contribution, pk: int) -> Contribution:
    """Return `contribution`, or (locked) the one of that id a second checkout was put on."""
    return contribution if contribution.pk == pk else _contribution_lock(None, pk)


def _one_off_contribution(
    contribution: Contribution, intent_id: str, session_id: str
) -> tuple[Contribution, Payment | None]:
    """Return the contribution a one-off checkout's payment belongs to (the one it names, unless
    another payment that did not fail paid that one already), and the payment if recorded."""
    # One query, locking what it reads, for both questions: is this payment recorded (and on
    # which contribution), and did another payment that did not fail pay the one the session
    # names? The other rows it locks are the named contribution's, whose lock the caller holds.
    rows = rows_locked(
        Payment,
        "stripe_payment_intent_id = %s OR (contribution_id = %s AND status <> %s)",
        [intent_id, contribution.pk, Payment.Status.FAILED],
    )
    known = next((row for row in rows if row.stripe_payment_intent_id == intent_id), None)
    if known is not None:
        return _contribution_of(contribution, known.contribution_id or contribution.pk), known
    if not rows:
        return contribution, None  # nothing else paid it
    second = contribution_second_checkout(
        contribution=contribution, session_id=session_id, paid_by=f"payment {intent_id}"
    )
    return second, None


def _session_remember(contribution: Contribution, session_id: str) -> None:
    """Keep the session on the contribution, unless another contribution holds it."""
    if contribution.stripe_checkout_session_id == session_id:
        return  # the usual case: the checkout was opened for this contribution
    taken = Contribution.objects.filter(stripe_checkout_session_id=session_id).exclude(
        pk=contribution.pk
    )
    if not taken.exists():
        contribution.stripe_checkout_session_id = session_id


def checkout_session_async_failed(session: dict[str, Any], created: datetime) -> None:
    """checkout.session.async_payment_failed: the debit bounced; nothing was paid."""
    contribution = _contribution_lock(session.get("metadata"), session.get("client_reference_id"))
    intent_id = stripe_id(session.get("payment_intent"))
    if session.get("mode") != "subscription" and intent_id:
        details = gateway_get().payment_intent_details(payment_intent_id=intent_id)
        known = Payment.objects.filter(stripe_payment_intent_id=intent_id)
        contribution = _contribution_of(
            contribution, known.values_list("contribution_id", flat=True).first() or contribution.pk
        )
        payment = payment_apply(
            contribution=contribution, kind=Payment.Kind.ONE_OFF, details=details, failed=True
        )
        # A contribution another checkout paid stays paid: only this debit bounced.
        if payment.status != Payment.Status.SUCCEEDED and contribution.first_paid_at is None:
            contribution.status = Contribution.Status.FAILED
    elif contribution.first_paid_at is None:
        contribution.status = Contribution.Status.FAILED
    _session_remember(contribution, session["id"])
    _contribution_save(contribution)


def checkout_session_expired(session: dict[str, Any], created: datetime) -> None:
    """checkout.session.expired: the reader left without paying; nothing was taken.

    The embedded session expired because the reader moved to the hosted page (a newer session
    of the same contribution) leaves the contribution waiting for that one.
    """
    contribution = _contribution_lock(session.get("metadata"), session.get("client_reference_id"))
    current = contribution.stripe_checkout_session_id
    if contribution.status == Contribution.Status.PENDING and current in (None, session["id"]):
        contribution.status = Contribution.Status.EXPIRED
        _contribution_save(contribution)


def _invoice_subscription(
    invoice: dict[str, Any], created: datetime, *, gateway: Gateway | None = None
) -> Subscription:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    subscription_id = stripe_id(details.get("subscription") or invoice.get("subscription"))
    if not subscription_id:
        raise EventNotApplicable("the invoice is not for a subscription")
    subscription = (
        Subscription.objects.select_related("contribution__supporter")
        .filter(stripe_subscription_id=subscription_id)
        .first()
    )
    if subscription is not None:
        contribution = _contribution_lock(None, subscription.contribution_id)
        subscription.contribution = contribution
        return subscription
    # The invoice arrived before the subscription was mirrored: read it from the gateway.
    state = (gateway or gateway_get()).subscription_retrieve(subscription_id=subscription_id)
    metadata = details.get("metadata") or {}
    contribution = _contribution_lock(metadata, state.contribution_id)
    return subscription_apply(contribution=contribution, state=state, at=created)


def invoice_changed(
    invoice: dict[str, Any], created: datetime, *, gateway: Gateway | None = None
) -> None:
    """invoice.paid / invoice.payment_failed: one payment of a recurring contribution.

    Stripe is read through `gateway` when given (the backfill passes the one it reads from),
    else through the configured provider.
    """
    if not invoice.get("amount_due") and not invoice.get("amount_paid"):
        raise EventNotApplicable("the invoice is for nothing (no money moved)")
    subscription = _invoice_subscription(invoice, created, gateway=gateway)
    contribution = subscription.contribution
    gateway = gateway or gateway_get()
    intent_id = gateway.invoice_payment_intent_id(invoice_id=invoice["id"])
    details = gateway.payment_intent_details(payment_intent_id=intent_id) if intent_id else None
    paid = invoice.get("status") == "paid" or invoice.get("amount_remaining") == 0
    kind = (
        Payment.Kind.SUBSCRIPTION_FIRST
        if invoice.get("billing_reason") == "subscription_create"
        else Payment.Kind.SUBSCRIPTION_RENEWAL
    )
    payment = payment_apply(
        contribution=contribution,
        kind=kind,
        details=details,
        invoice_id=invoice["id"],
        gross_minor=int(invoice.get("amount_paid") or invoice.get("amount_due") or 0),
        currency=str(invoice.get("currency") or contribution.currency).upper(),
        paid=paid,
        failed=not paid,
        subscription=subscription,
    )
    if payment.status == Payment.Status.SUCCEEDED and contribution.status in (
        Contribution.Status.PENDING,
        Contribution.Status.PROCESSING,
        Contribution.Status.PAST_DUE,
    ):
        contribution.status = Contribution.Status.ACTIVE
    elif payment.status == Payment.Status.FAILED and contribution.status in (
        Contribution.Status.ACTIVE,
        Contribution.Status.PROCESSING,
    ):
        contribution.status = Contribution.Status.PAST_DUE
    _contribution_save(contribution)


def subscription_changed(data: dict[str, Any], created: datetime) -> None:
    """customer.subscription.created / updated / deleted."""
    state = subscription_state_from(data)
    existing = Subscription.objects.filter(stripe_subscription_id=state.id).first()
    reference = existing.contribution_id if existing is not None else state.contribution_id
    contribution = _contribution_lock(None, reference)
    if existing is not None and _state_of_the_same_second(state.id, created):
        # Stripe's `created` counts seconds, and a subscription can change twice in one (a
        # renewal failed and retried): the events' order says nothing, so Stripe's current state
        # decides. Read under the contribution's lock, so the next event of that second waits.
        state = gateway_get().subscription_retrieve(subscription_id=state.id)
    subscription_apply(contribution=contribution, state=state, at=created)
    _contribution_save(contribution)


def _state_of_the_same_second(subscription_id: str, created: datetime) -> bool:
    return Subscription.objects.filter(
        stripe_subscription_id=subscription_id, stripe_state_at=created
    ).exists()


def _payment_for_charge(charge_id: str | None, intent_id: str | None) -> Payment:
    lookup = Q(pk__in=[])
    if charge_id:
        lookup |= Q(stripe_charge_id=charge_id)
    if intent_id:
        lookup |= Q(stripe_payment_intent_id=intent_id)
    payment = Payment.objects.select_for_update().filter(lookup).first()
    if payment is None:
        raise EventNotReady(f"no payment recorded yet for charge {charge_id}")
    return payment


def charge_refunded(charge: dict[str, Any], created: datetime) -> None:
    """charge.refunded: record every refund of the charge, listed from Stripe.

    The charge no longer carries its refunds (API 2022-11-15 on), so they are listed; that also
    reads each refund's state now rather than as the event saw it.
    """
    payment = _payment_for_charge(charge["id"], stripe_id(charge.get("payment_intent")))
    for details in gateway_get().charge_refunds_list(charge_id=charge["id"]):
        refund_record(payment=payment, details=details)


def refund_changed(refund: dict[str, Any], created: datetime) -> None:
    """refund.created / updated / failed, charge.refund.updated: one refund, made anywhere.

    The refund is re-read, so an old event (pending) applied after a newer one (failed) changes
    nothing, and a refund that failed gives its money back to the payment.
    """
    payment = _payment_for_charge(
        stripe_id(refund.get("charge")), stripe_id(refund.get("payment_intent"))
    )
    refund_record(payment=payment, details=gateway_get().refund_retrieve(refund_id=refund["id"]))


def dispute_changed(dispute: dict[str, Any], created: datetime) -> None:
    """charge.dispute.created / updated / closed / funds_withdrawn / funds_reinstated."""
    dispute_apply(dispute, state_at=created, closed_at=created)


def dispute_apply(
    dispute: dict[str, Any], *, state_at: datetime, closed_at: datetime | None
) -> None:
    """Record a dispute's state as of `state_at` (older than the state applied before: ignored)
    and every balance transaction it lists, once each.

    `closed_at` is when a closed dispute closed, None when that is not known: an event tells it,
    the backfill (which reads the state later) only sometimes does. Money movements are facts,
    not state: one listed by an older event is still recorded, and none is ever removed.
    """
    payment = _payment_for_charge(
        stripe_id(dispute.get("charge")), stripe_id(dispute.get("payment_intent"))
    )
    row = Dispute.objects.select_for_update().filter(stripe_dispute_id=dispute["id"]).first()
    if row is None:
        row = Dispute(
            payment=payment,
            stripe_dispute_id=dispute["id"],
            amount_minor=int(dispute["amount"]),
            currency=str(dispute["currency"]).upper(),
            opened_at=stripe_time(dispute.get("created")) or state_at,
        )
    if _dispute_state_is_newer(row, state_at=state_at, status=str(dispute["status"])):
        row.status = str(dispute["status"])
        row.reason = str(dispute.get("reason") or "")
        row.amount_minor = int(dispute["amount"])
        row.stripe_state_at = state_at
        if row.status in CLOSED_DISPUTE_STATUSES:
            row.closed_at = row.closed_at or closed_at
    row.save()
    fee = _dispute_movements_record(row, dispute.get("balance_transactions") or [])
    if fee != row.fee_minor:
        row.fee_minor = fee
        row.save(update_fields=["fee_minor", "updated_at"])
    at_stake = payment.disputes.exclude(status__in=DISPUTE_STATUSES_NOTHING_LOST).aggregate(
        total=Sum("amount_minor")
    )["total"]
    payment.disputed_minor = at_stake or 0
    payment.save(update_fields=["disputed_minor", "updated_at"])


def _dispute_state_is_newer(row: Dispute, *, state_at: datetime, status: str) -> bool:
    """Whether a state as of `state_at` replaces the row's. Stripe's `created` counts seconds,
    and a dispute can open and close in one: of two states of one second, a closed one is the
    later (a closed dispute never opens again)."""
    if row.stripe_state_at is None or state_at > row.stripe_state_at:
        return True
    if state_at < row.stripe_state_at:
        return False
    return row.status not in CLOSED_DISPUTE_STATUSES or status in CLOSED_DISPUTE_STATUSES


def _dispute_movements_record(row: Dispute, balance_transactions: list[Any]) -> int:
    """Record the dispute's balance transactions not recorded yet; return the fees of all of
    them (what Stripe kept as the dispute fee so far)."""
    for txn in balance_transactions:
        if not isinstance(txn, dict):
            continue  # always expanded in Stripe's dispute object; an id alone tells no amount
        DisputeMovement.objects.get_or_create(
            stripe_balance_transaction_id=txn["id"],
            defaults={
                "dispute": row,
                "amount_minor": int(txn["amount"]),
                "fee_minor": int(txn.get("fee") or 0),
                "net_minor": int(txn["net"]),
                "currency": str(txn.get("currency") or row.currency).upper(),
                "moved_at": stripe_time(txn.get("created")) or row.opened_at,
            },
        )
    fees = row.movements.aggregate(total=Sum("fee_minor"))["total"]
    return int(fees or 0)


def payout_changed(payout: dict[str, Any], created: datetime) -> None:
    """payout.created / updated / paid / failed / canceled / reconciliation_completed.

    Mirror the payout; once Stripe has completed its reconciliation (an automatic payout's list
    of balance transactions is final), keep each of them as a row and tag what it carried.
    """
    row = payout_mirror(data=payout, at=created)
    if not row.automatic or row.reconciliation_status != "completed":
        return  # a manual payout has no list; an automatic one is listed once it is complete
    if row.transactions.exists():
        if row.status == "paid":
            payout_ledger_tag(payout=row)  # movements recorded since the rows were stored
        return
    entries = gateway_get().payout_balance_entries(payout_id=row.stripe_payout_id)
    payout_transactions_record(payout=row, entries=entries)


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": checkout_session_changed,
    "checkout.session.async_payment_succeeded": checkout_session_changed,
    "checkout.session.async_payment_failed": checkout_session_async_failed,
    "checkout.session.expired": checkout_session_expired,
    "invoice.paid": invoice_changed,
    "invoice.payment_failed": invoice_changed,
    "customer.subscription.created": subscription_changed,
    "customer.subscription.updated": subscription_changed,
    "customer.subscription.deleted": subscription_changed,
    "charge.refunded": charge_refunded,
    "charge.refund.updated": refund_changed,
    "refund.created": refund_changed,
    "refund.updated": refund_changed,
    "refund.failed": refund_changed,
    "charge.dispute.created": dispute_changed,
    "charge.dispute.updated": dispute_changed,
    "charge.dispute.closed": dispute_changed,
    "charge.dispute.funds_withdrawn": dispute_changed,
    "charge.dispute.funds_reinstated": dispute_changed,
    "payout.created": payout_changed,
    "payout.updated": payout_changed,
    "payout.paid": payout_changed,
    "payout.failed": payout_changed,
    "payout.canceled": payout_changed,
    "payout.reconciliation_completed": payout_changed,
}
