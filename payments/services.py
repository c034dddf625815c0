"""Writes: starting a contribution, and what readers and staff may change afterwards.

Calls to the payment provider happen outside our transactions (or after commit), and every one
carries an idempotency key unique to this installation and our row (`payments.idempotency`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from antiabuse.reader_urls import reader_url_clean
from campaigns.models import Campaign, Frequency
from payments.gateway import (
    CheckoutRequest,
    CheckoutSession,
    Gateway,
    GatewayError,
    RefundReason,
    UiMode,
    gateway_get,
)
from payments.idempotency import idempotency_key
from payments.ledger import refund_record, subscription_apply
from payments.models import (
    Contribution,
    Payment,
    Refund,
    SignInLink,
    StripeProduct,
    Subscription,
    Supporter,
)
from payments.money import fee_cover_minor


@dataclass(frozen=True)
class Attribution:
    variant_key: str = ""
    placement: str = ""
    article_url: str = ""
    referrer: str = ""
    utm_source: str = ""
    utm_medium: str = ""
    utm_campaign: str = ""
    utm_content: str = ""
    utm_term: str = ""

    def __post_init__(self) -> None:
        # Checked here as well as in the form, so no caller can store an unchecked reader URL.
        object.__setattr__(self, "article_url", reader_url_clean(self.article_url))
        object.__setattr__(self, "referrer", reader_url_clean(self.referrer))


def supporter_get_or_create(*, email: str) -> Supporter:
    """Return the one supporter row for this address, compared case-insensitively.

    Anyone can type any address into the support form, so starting a checkout never writes to
    the supporter's own record: the name given then belongs to that contribution, and reaches
    the supporter only once one of its payments succeeds (`payments.ledger.payment_apply`) or
    when the signed-in supporter changes it (`supporter_name_change`).
    """
    email = email.strip()
    supporter = Supporter.objects.filter(email__iexact=email).first()
    if supporter is None:
        try:
            with transaction.atomic():
                supporter = Supporter.objects.create(email=email)
        except IntegrityError:  # created concurrently
            supporter = Supporter.objects.get(email__iexact=email)
    return supporter


def supporter_name_change(*, supporter: Supporter, name: str) -> Supporter:
    """Set the name the signed-in supporter chose for their receipts."""
    supporter.name = name.strip()[:200]
    supporter.save(update_fields=["name", "updated_at"])
    return supporter


@dataclass(frozen=True)
class CheckoutStart:
    contribution: Contribution
    session: CheckoutSession


def contribution_start(
    *,
    campaign: Campaign,
    frequency: str,
    amount_minor: int,
    cover_fees: bool,
    email: str,
    name: str,
    marketing_consent: bool,
    attribution: Attribution,
    base_url: str,
) -> CheckoutStart:
    """Record the reader's intent, then open a Checkout Session for exactly that amount.

    The amount was validated against the campaign's currency limits by the form; nothing the
    browser sends is used as a price except through that validation.
    """
    fee = fee_cover_minor(amount_minor) if cover_fees else 0
    with transaction.atomic():
        supporter = supporter_get_or_create(email=email)
        contribution = Contribution.objects.create(
            supporter=supporter,
            name=name.strip()[:200],
            frequency=frequency,
            amount_minor=amount_minor,
            fee_cover=cover_fees,
            fee_cover_minor=fee,
            currency=campaign.currency,
            provider=(
                Contribution.Provider.DEMO
                if settings.PAYMENTS_DEMO
                else Contribution.Provider.STRIPE
            ),
            livemode=settings.STRIPE_LIVEMODE,
            marketing_consent=marketing_consent,
            marketing_consent_text=settings.PAYMENTS_MARKETING_CONSENT_TEXT
            if marketing_consent
            else "",
            marketing_consent_at=timezone.now() if marketing_consent else None,
            campaign=campaign,
            **attribution.__dict__,
        )
    ui_mode: UiMode = "embedded_page"
    if settings.PAYMENTS_DEMO or settings.PAYMENTS_CHECKOUT_UI_MODE == "hosted_page":
        ui_mode = "hosted_page"
    session = checkout_session_open(contribution=contribution, ui_mode=ui_mode, base_url=base_url)
    return CheckoutStart(contribution=contribution, session=session)


def checkout_session_open(
    *, contribution: Contribution, ui_mode: UiMode, base_url: str
) -> CheckoutSession:
    """Open the contribution's Checkout Session (the same one again for the same page kind).

    Opening the hosted page (the fallback) first expires the embedded session, so that the
    contribution cannot be paid on both; if the embedded one was paid already, it refuses.
    """
    if contribution.status != Contribution.Status.PENDING:
        raise GatewayError("This contribution is already under way.")
    supporter = contribution.supporter
    campaign = contribution.campaign
    thanks = base_url + reverse("payments:thanks")
    back = reverse("payments:support", args=[campaign.slug]) if campaign else "/"
    gateway = gateway_get()
    if ui_mode == "hosted_page" and contribution.stripe_checkout_session_id:
        _embedded_session_close(contribution=contribution, gateway=gateway)
    session = gateway.checkout_session_create(
        request=CheckoutRequest(
            contribution_id=contribution.pk,
            frequency=contribution.frequency,
            amount_minor=contribution.charge_minor,
            currency=contribution.currency,
            customer_email=supporter.email,
            customer_id=supporter_customer_ensure(supporter=supporter, gateway=gateway),
            product_name=_product_name(contribution.frequency),
            product_id=stripe_product_ensure(
                campaign=campaign, frequency=contribution.frequency, gateway=gateway
            ),
            ui_mode=ui_mode,
            return_url=thanks + "?session_id={CHECKOUT_SESSION_ID}",
            cancel_url=base_url + back,
            # One session per contribution and page kind (the hosted page is the fallback).
            idempotency_key=idempotency_key("contribution", contribution.pk, ui_mode),
            adaptive_pricing=settings.PAYMENTS_ADAPTIVE_PRICING,
        )
    )
    contribution.stripe_checkout_session_id = session.id
    contribution.save(update_fields=["stripe_checkout_session_id", "updated_at"])
    return session


def _embedded_session_close(*, contribution: Contribution, gateway: Gateway) -> None:
    """Expire the contribution's embedded session before the hosted page replaces it."""
    session_id = str(contribution.stripe_checkout_session_id)
    current = gateway.checkout_session_retrieve(session_id=session_id)
    if current.ui_mode != "embedded_page":
        return  # the hosted session itself, opened before: it is opened again as it is
    if current.status == "complete":
        raise GatewayError("This contribution has been paid already: nothing more to pay.")
    if current.status == "open":
        gateway.checkout_session_expire(
            session_id=session_id,
            idempotency_key=idempotency_key("contribution", contribution.pk, "expire", session_id),
        )


def supporter_customer_ensure(*, supporter: Supporter, gateway: Gateway) -> str:
    """Return the supporter's one Stripe customer, creating it before their first checkout.

    Left to Checkout, every session not yet completed would make a customer of its own, and the
    Billing Portal would then open on one of them. Two first checkouts at once send the same
    idempotency key, so Stripe answers both with the one customer.
    """
    if supporter.stripe_customer_id:
        return supporter.stripe_customer_id
    customer_id = gateway.customer_create(
        email=supporter.email,
        name=supporter.name,
        idempotency_key=idempotency_key("supporter", supporter.pk, "customer"),
    )
    Supporter.objects.filter(pk=supporter.pk, stripe_customer_id__isnull=True).update(
        stripe_customer_id=customer_id, updated_at=timezone.now()
    )
    supporter.refresh_from_db(fields=["stripe_customer_id"])
    return supporter.stripe_customer_id or customer_id


def stripe_product_ensure(*, campaign: Campaign | None, frequency: str, gateway: Gateway) -> str:
    """Return the Stripe Product of this campaign and frequency, creating it the first time."""
    livemode = bool(settings.STRIPE_LIVEMODE)
    known = StripeProduct.objects.filter(campaign=campaign, frequency=frequency, livemode=livemode)
    found = known.values_list("stripe_product_id", flat=True).first()
    if found:
        return found
    name = _product_name(frequency)
    metadata = {"frequency": frequency}
    if campaign is not None:
        name, metadata["campaign"] = f"{name} ({campaign.name})", campaign.slug
    product_id = gateway.product_create(
        name=name[:250],
        metadata=metadata,
        idempotency_key=idempotency_key("product", campaign.pk if campaign else "none", frequency),
    )
    try:
        with transaction.atomic():
            StripeProduct.objects.create(
                campaign=campaign,
                frequency=frequency,
                livemode=livemode,
                stripe_product_id=product_id,
            )
    except IntegrityError:  # made concurrently (with the same key, so the same product)
        return str(known.values_list("stripe_product_id", flat=True).get())
    return product_id


def _product_name(frequency: str) -> str:
    words = {Frequency.MONTHLY: "Monthly ", Frequency.ANNUAL: "Annual "}
    return (
        f"{words.get(Frequency(frequency), '')}contribution to {settings.PAYMENTS_PUBLISHER_NAME}"
    )


# --- Self-service --------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def sign_in_link_create(*, email: str) -> tuple[Supporter, str] | None:
    """Create a one-time sign-in token for a known supporter; return it (only its hash is kept).

    None for an unknown address, and when a link was made for this supporter less than
    `PAYMENTS_SIGN_IN_RESEND_SECONDS` ago (it still works): however often the form is sent,
    the mailbox gets at most one sign-in mail per window.
    """
    supporter = Supporter.objects.select_for_update().filter(email__iexact=email.strip()).first()
    if supporter is None:
        return None
    now = timezone.now()
    recent = now - timedelta(seconds=settings.PAYMENTS_SIGN_IN_RESEND_SECONDS)
    if supporter.sign_in_links.filter(created_at__gt=recent).exists():
        return None
    token = secrets.token_urlsafe(32)
    SignInLink.objects.create(
        supporter=supporter,
        token_hash=_token_hash(token),
        expires_at=now + timedelta(minutes=settings.PAYMENTS_SIGN_IN_LINK_MINUTES),
    )
    return supporter, token


def sign_in_link_check(*, token: str) -> SignInLink | None:
    """Return the unused, unexpired link for a token, without using it up."""
    return SignInLink.objects.filter(
        token_hash=_token_hash(token), used_at__isnull=True, expires_at__gt=timezone.now()
    ).first()


def sign_in_link_use(*, token: str) -> Supporter | None:
    """Use a sign-in link once; a second use, or an expired link, gives None."""
    with transaction.atomic():
        link = (
            SignInLink.objects.select_for_update(of=("self",))
            .select_related("supporter")
            .filter(token_hash=_token_hash(token), used_at__isnull=True)
            .first()
        )
        if link is None or link.expires_at <= timezone.now():
            return None
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
        return link.supporter


def subscription_amount_change(*, subscription: Subscription, amount_minor: int) -> Subscription:
    """Charge a new amount from the next period on (through the provider, then mirrored)."""
    if subscription.status == Subscription.Status.CANCELED:
        raise GatewayError("This contribution has been cancelled.")
    version = int(subscription.updated_at.timestamp())
    key = idempotency_key("subscription", subscription.pk, "amount", amount_minor, version)
    state = gateway_get().subscription_amount_update(
        subscription_id=subscription.stripe_subscription_id,
        amount_minor=amount_minor,
        idempotency_key=key,
    )
    with transaction.atomic():
        contribution = Contribution.objects.select_for_update().get(pk=subscription.contribution_id)
        contribution.amount_minor = amount_minor
        contribution.fee_cover_minor = 0
        contribution.save(update_fields=["amount_minor", "fee_cover_minor", "updated_at"])
        return subscription_apply(contribution=contribution, state=state, at=timezone.now())


def subscription_cancel(*, subscription: Subscription, reason: str) -> Subscription:
    """Cancel a recurring contribution now, keeping the reader's (or staff's) reason."""
    state = gateway_get().subscription_cancel(
        subscription_id=subscription.stripe_subscription_id,
        comment=reason,
        idempotency_key=idempotency_key("subscription", subscription.pk, "cancel"),
    )
    with transaction.atomic():
        contribution = Contribution.objects.select_for_update().get(pk=subscription.contribution_id)
        mirrored = subscription_apply(contribution=contribution, state=state, at=timezone.now())
        contribution.save(update_fields=["status", "canceled_at", "updated_at"])
        mirrored.cancel_reason = reason[:2000]
        mirrored.save(update_fields=["cancel_reason", "updated_at"])
        return mirrored


def billing_portal_url(*, supporter: Supporter, return_url: str) -> str:
    """Return a Stripe Billing Portal link where the supporter updates their payment method.

    It opens on the customer Stripe bills for their newest running subscription (supporters from
    before one customer was kept per supporter may have several), else on their customer.
    """
    billed = (
        Subscription.objects.filter(contribution__supporter=supporter)
        .exclude(status=Subscription.Status.CANCELED)
        .exclude(stripe_customer_id="")
        .order_by("-created_at")
        .values_list("stripe_customer_id", flat=True)
        .first()
    )
    customer_id = billed or supporter.stripe_customer_id
    if not customer_id:
        raise GatewayError("There is no saved payment method for this address yet.")
    return gateway_get().billing_portal_url(customer_id=customer_id, return_url=return_url)


def payment_refund(
    *,
    payment: Payment,
    amount_minor: int | None,
    reason: RefundReason,
    staff_user_id: int,
    note: str = "",
) -> Refund:
    """Refund (part of) a payment through the provider and record the refund once.

    `amount_minor` None refunds everything that is left. `note` says why, for staff only.
    """
    if payment.status != Payment.Status.SUCCEEDED or not payment.stripe_payment_intent_id:
        raise GatewayError("Only a successful payment can be refunded.")
    left = payment.refundable_minor
    if left <= 0:
        raise GatewayError("This payment has been refunded in full already.")
    if amount_minor is not None and not 0 < amount_minor <= left:
        raise GatewayError(f"The refund must be between 1 and {left} (minor units).")
    result = gateway_get().refund_create(
        payment_intent_id=payment.stripe_payment_intent_id,
        amount_minor=amount_minor,
        reason=reason,
        idempotency_key=idempotency_key(
            "payment", payment.pk, "refund", payment.refunded_minor, amount_minor
        ),
    )
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        return refund_record(
            payment=locked, details=result, requested_by_id=staff_user_id, note=note
        )
