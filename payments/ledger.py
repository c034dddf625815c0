"""Writes to the ledger shared by the event handlers and the services: a payment's state, a
subscription's mirror (and the amounts it replaced), a refund. Each finds its row by a unique Stripe
id, under the lock of the contribution the caller holds, and only moves state forward.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum, auto

from django.db import connection, transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from campaigns.services import campaign_progress_touch
from payments.gateway import ChargeDetails, RefundDetails, SubscriptionState
from payments.hot_rows import db_time, row_save
from payments.models import (
    Contribution,
    ContributionFlag,
    Payment,
    Refund,
    Subscription,
    SubscriptionPastAmount,
    Supporter,
    SupporterNotice,
)
from payments.notices import notice_enqueue
from payments.receipts import receipt_enqueue

CONTRIBUTION_STATUS_BY_SUBSCRIPTION = {
    "active": Contribution.Status.ACTIVE,
    "trialing": Contribution.Status.ACTIVE,
    "past_due": Contribution.Status.PAST_DUE,
    "unpaid": Contribution.Status.PAST_DUE,
    "paused": Contribution.Status.PAST_DUE,
    "canceled": Contribution.Status.CANCELED,
    "incomplete_expired": Contribution.Status.CANCELED,
    "incomplete": Contribution.Status.PROCESSING,
}


def _receipt_after_commit(payment: Payment) -> None:
    payment_pk = payment.pk
    transaction.on_commit(lambda: receipt_enqueue(payment_pk=payment_pk))


def _failure_notice_after_commit(payment: Payment) -> None:
    from payments.tasks import payment_failed_notice_send

    payment_pk = payment.pk
    transaction.on_commit(lambda: payment_failed_notice_send.delay(payment_pk))


def supporter_customer_remember(contribution: Contribution, customer_id: str | None) -> None:
    """Keep the Stripe customer on the supporter (for the Billing Portal), once."""
    if not customer_id:
        return
    # One conditional UPDATE instead of loading the supporter: a no-op once it is known, and
    # when another supporter row holds this customer already (theirs is kept). No savepoint:
    # two supporters taking one customer at the same instant fail one event, applied again.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE payments_supporter SET stripe_customer_id = %s, updated_at = %s "
            "WHERE id = %s AND stripe_customer_id IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM payments_supporter WHERE stripe_customer_id = %s)",
            [
                customer_id,
                db_time(timezone.now()),
                contribution.supporter_id,
                customer_id,
            ],
        )


def supporter_name_adopt(contribution: Contribution) -> None:
    """Give a supporter without a name the one typed at checkout, now that it was paid for.

    Only a payment proves the checkout came from the address's owner (or someone paying in
    their name); a name the supporter already has is theirs to change when signed in.
    """
    if contribution.name:
        Supporter.objects.filter(pk=contribution.supporter_id, name="").update(
            name=contribution.name, updated_at=timezone.now()
        )


def contribution_flag_raise(*, contribution: Contribution, kind: str, detail: str) -> None:
    """Show staff something to act on about a contribution, once per contribution and kind."""
    ContributionFlag.objects.get_or_create(
        contribution=contribution, kind=kind, defaults={"detail": detail}
    )


def contribution_second_checkout(
    *, contribution: Contribution, session_id: str | None, paid_by: str
) -> Contribution:
    """Return the contribution that records a second paid checkout of `contribution`.

    The reader paid twice for one intent (the embedded and the hosted page, say): the second
    payment or subscription is recorded on a copy of the contribution of its own (once per
    checkout), never lost, and flagged for staff to refund.
    """
    if session_id:
        known = (
            Contribution.objects.select_for_update()
            .filter(stripe_checkout_session_id=session_id)
            .exclude(pk=contribution.pk)
            .first()
        )
        if known is not None:
            return known
        if Contribution.objects.filter(stripe_checkout_session_id=session_id).exists():
            session_id = None  # the first contribution holds it
    second = Contribution.objects.get(pk=contribution.pk)
    second.pk = second.id = None
    second._state.adding = True
    second.status = Contribution.Status.PROCESSING
    second.first_paid_at = second.canceled_at = None
    second.stripe_checkout_session_id = session_id
    second.stripe_payment_intent_id = ""
    second.save()
    contribution_flag_raise(
        contribution=second,
        kind=ContributionFlag.Kind.SECOND_CHECKOUT,
        detail=(
            f"Contribution {contribution.pk} was paid by another checkout already; this second "
            f"one ({paid_by}) was taken as well. Refund it (and cancel it, if monthly)."
        ),
    )
    return second


class _NotLookedUp(Enum):
    LOOK_IT_UP = auto()


LOOK_IT_UP = _NotLookedUp.LOOK_IT_UP


def payment_apply(
    *,
    contribution: Contribution,
    kind: str,
    details: ChargeDetails | None,
    invoice_id: str | None = None,
    gross_minor: int | None = None,
    currency: str | None = None,
    failed: bool = False,
    paid: bool = False,
    subscription: Subscription | None = None,
    payment: Payment | _NotLookedUp | None = LOOK_IT_UP,
) -> Payment:
    """Record the state of one money movement, found by its invoice or payment intent id
    (`payment`: the caller found it, locked, or found none).

    The caller holds the contribution's lock. Send the receipt (or failure notice) once, after
    commit, when the payment first reaches that state.
    """
    if payment is LOOK_IT_UP:
        lookup = Q(pk__in=[])
        if invoice_id:
            lookup |= Q(stripe_invoice_id=invoice_id)
        if details is not None:
            lookup |= Q(stripe_payment_intent_id=details.payment_intent_id)
        payment = Payment.objects.select_for_update().filter(lookup).first()
    if payment is None:
        payment = Payment(
            contribution=contribution,
            subscription=subscription,
            kind=kind,
            gross_minor=gross_minor if gross_minor is not None else contribution.charge_minor,
            currency=currency or contribution.currency,
            livemode=contribution.livemode,
        )
    before = payment.status
    if invoice_id:
        payment.stripe_invoice_id = invoice_id
    if subscription is not None and payment.subscription_id is None:
        payment.subscription = subscription
    if details is not None:
        payment.stripe_payment_intent_id = details.payment_intent_id
        payment.gross_minor = details.amount_minor
        payment.currency = details.currency
        payment.stripe_charge_id = details.charge_id or payment.stripe_charge_id
        payment.payment_method_type = details.payment_method_type or payment.payment_method_type
        if details.balance_transaction_id:
            payment.stripe_balance_transaction_id = details.balance_transaction_id
        if details.fee_minor is not None:
            payment.fee_minor, payment.net_minor = details.fee_minor, details.net_minor
            payment.settlement_amount_minor = details.settlement_amount_minor
            payment.settlement_currency = details.settlement_currency
            payment.exchange_rate = details.exchange_rate
        payment.failure_code = details.failure_code
        payment.failure_message = details.failure_message[:500]
    succeeded = paid or (details is not None and details.status == "succeeded")
    if succeeded:
        payment.status = Payment.Status.SUCCEEDED
        paid_at = details.paid_at if details is not None else None
        payment.paid_at = payment.paid_at or paid_at or timezone.now()
    elif payment.status != Payment.Status.SUCCEEDED:
        if failed or (details is not None and details.status == "failed"):
            payment.status = Payment.Status.FAILED
            payment.failed_at = payment.failed_at or timezone.now()
        else:
            payment.status = Payment.Status.PENDING
    row_save(payment)  # as save() would, without building its statement per event
    presented = details.presentment_currency if details is not None else ""
    charged_in = {payment.currency, presented} - {"", contribution.currency}
    if charged_in:
        # Adaptive Pricing (the account's Dashboard setting, or ours) charged the reader in
        # another currency: the money is recorded as Stripe has it, and staff decide whether
        # to refund it.
        contribution_flag_raise(
            contribution=contribution,
            kind=ContributionFlag.Kind.OTHER_CURRENCY,
            detail=(
                f"Payment {payment.pk} was charged in {', '.join(sorted(charged_in))}; "
                f"the contribution is in {contribution.currency}."
            ),
        )
    if payment.status == Payment.Status.SUCCEEDED and before != Payment.Status.SUCCEEDED:
        if contribution.first_paid_at is None:
            supporter_name_adopt(contribution)
        if contribution.first_paid_at is None or (
            payment.paid_at and payment.paid_at < contribution.first_paid_at
        ):
            contribution.first_paid_at = payment.paid_at
        if contribution.campaign_id is not None:
            campaign_progress_touch()
        _receipt_after_commit(payment)
    if payment.status == Payment.Status.FAILED and before != Payment.Status.FAILED:
        _failure_notice_after_commit(payment)
    return payment


def subscription_apply(
    *, contribution: Contribution, state: SubscriptionState, at: datetime
) -> Subscription:
    """Mirror a subscription's state unless a more recent state was applied already."""
    subscription = (
        Subscription.objects.select_for_update().filter(stripe_subscription_id=state.id).first()
    )
    second = False
    if subscription is None:
        if Subscription.objects.filter(contribution=contribution).exists():
            # Another subscription already pays this contribution: a second paid checkout.
            contribution = contribution_second_checkout(
                contribution=contribution, session_id=None, paid_by=f"subscription {state.id}"
            )
            second = True
        subscription = Subscription(
            contribution=contribution,
            stripe_subscription_id=state.id,
            amount_minor=state.amount_minor or contribution.charge_minor,
            currency=state.currency or contribution.currency,
        )
    amount_before = subscription.amount_minor if subscription.pk else None
    is_newer = subscription.stripe_state_at is None or at >= subscription.stripe_state_at
    terminal = subscription.status == Subscription.Status.CANCELED and subscription.pk
    becomes_canceled = is_newer and not terminal and state.status == Subscription.Status.CANCELED
    if is_newer and not terminal:
        subscription.status = state.status
        subscription.amount_minor = state.amount_minor or subscription.amount_minor
        subscription.interval = state.interval
        subscription.current_period_end = state.current_period_end
        subscription.cancel_at_period_end = state.cancel_at_period_end
        subscription.cancel_at = state.cancel_at
        subscription.stripe_customer_id = state.customer_id or subscription.stripe_customer_id
        subscription.canceled_at = state.canceled_at
        subscription.ended_at = state.ended_at
        subscription.stripe_cancellation_reason = state.cancellation_reason
        subscription.stripe_cancellation_feedback = state.cancellation_feedback
        subscription.stripe_state_at = at
        subscription.save()
        contribution_status = CONTRIBUTION_STATUS_BY_SUBSCRIPTION.get(state.status)
        if contribution_status is not None:
            contribution.status = contribution_status
        if contribution_status == Contribution.Status.CANCELED:
            contribution.canceled_at = contribution.canceled_at or state.canceled_at or at
    elif subscription.pk is None:
        subscription.save()
    if amount_before is not None and subscription.amount_minor != amount_before:
        past = _past_amount_record(subscription, amount_before, at)
        if past is not None and not becomes_canceled:
            notice_enqueue(
                subscription_pk=subscription.pk,
                kind=SupporterNotice.Kind.AMOUNT_CHANGE,
                key=str(past.pk),
            )
    if becomes_canceled:
        notice_enqueue(subscription_pk=subscription.pk, kind=SupporterNotice.Kind.CANCELLATION)
    supporter_customer_remember(contribution, state.customer_id)
    if second:  # the caller saves the contribution it passed, not this one
        contribution.save(update_fields=["status", "canceled_at", "updated_at"])
    return subscription


def _past_amount_record(
    subscription: Subscription, amount_minor: int, until: datetime
) -> SubscriptionPastAmount | None:
    """Keep the amount the subscription charged until `until`, when the mirrored one replaced it.

    The caller holds the subscription's lock and applies states in order, so rows are appended
    in order: the replaced amount was in force since the previous change (or the start).
    """
    since = subscription.past_amounts.aggregate(since=Max("valid_until"))["since"]
    if since is not None and since >= until:
        return None  # changed twice at one instant: the amount in between was never in force
    return SubscriptionPastAmount.objects.create(
        subscription=subscription, amount_minor=amount_minor, valid_from=since, valid_until=until
    )


# Stripe's refund statuses in the order a refund moves through them: a refund never goes back
# (an old event or a slow API answer read before a newer one changes nothing), and a refund that
# failed or was cancelled after it succeeded gave its money back.
REFUND_STATUS_RANK = {
    "requires_action": 0,
    "pending": 1,
    "succeeded": 2,
    "failed": 3,
    "canceled": 3,
}
REFUND_NOT_MOVED = ("failed", "canceled")


def refund_record(
    *,
    payment: Payment,
    details: RefundDetails,
    requested_by_id: int | None = None,
    note: str = "",
) -> Refund:
    """Record a refund's state once per refund (events, the backfill and the staff action may
    all report it), and keep the payment's `refunded_minor` the sum of its refunds that moved
    money: it goes down again when a refund fails.

    The caller holds the payment's lock. Whichever reports the refund first creates the row; the
    staff action then adds who asked and why, which the webhook cannot know.
    """
    refund, created = Refund.objects.select_for_update().get_or_create(
        stripe_refund_id=details.id,
        defaults={
            "payment": payment,
            "amount_minor": details.amount_minor,
            "currency": details.currency or payment.currency,
            "status": details.status,
            "reason": details.reason,
            "refunded_at": details.created,
            "stripe_balance_transaction_id": details.balance_transaction_id,
            "stripe_failure_balance_transaction_id": details.failure_balance_transaction_id,
            "failure_reason": details.failure_reason,
            "settlement_net_minor": details.settlement_net_minor,
            "settlement_currency": details.settlement_currency,
            "requested_by_id": requested_by_id,
            "note": note,
        },
    )
    if not created:
        changed = []
        if REFUND_STATUS_RANK.get(details.status, -1) > REFUND_STATUS_RANK.get(refund.status, -1):
            refund.status = details.status
            changed.append("status")
        for field, value in (
            ("stripe_balance_transaction_id", details.balance_transaction_id),
            ("stripe_failure_balance_transaction_id", details.failure_balance_transaction_id),
            ("failure_reason", details.failure_reason),
            ("settlement_net_minor", details.settlement_net_minor),
            ("settlement_currency", details.settlement_currency),
        ):
            if value not in (None, "") and getattr(refund, field) != value:
                setattr(refund, field, value)
                changed.append(field)
        if requested_by_id and refund.requested_by_id is None:
            refund.requested_by_id = requested_by_id
            changed.append("requested_by")
        if note and not refund.note:
            refund.note = note
            changed.append("note")
        if changed:
            refund.save(update_fields=[*changed, "updated_at"])
    total = payment.refunds.exclude(status__in=REFUND_NOT_MOVED).aggregate(
        total=Sum("amount_minor")
    )["total"]
    if (total or 0) != payment.refunded_minor:
        payment.refunded_minor = total or 0
        payment.save(update_fields=["refunded_minor", "updated_at"])
    return refund
