"""What the rest of the app knows about the payment provider: small typed results and one
interface, implemented by Stripe (`payments.stripe_gateway`) and by the offline demo provider
(`payments.demo_provider`). Nothing here imports `stripe`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from django.conf import settings

UiMode = Literal["embedded_page", "hosted_page"]
# The reasons Stripe accepts for a refund ("fraudulent" also blocks the card and e-mail in Radar).
RefundReason = Literal["requested_by_customer", "duplicate", "fraudulent"]


def stripe_time(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def stripe_id(value: Any) -> str | None:
    """Return the id of an expandable field, whether Stripe sent the id or the object."""
    if value is None or isinstance(value, str):
        return value
    return str(value["id"])


class GatewayError(Exception):
    """The provider refused or failed; `transient` says whether trying again may help."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


class WebhookSignatureInvalid(Exception):
    """The webhook's signature is missing, wrong or too old."""


@dataclass(frozen=True)
class CheckoutRequest:
    """What to ask the provider for: everything comes from our own contribution row."""

    contribution_id: int
    frequency: str  # one_off | monthly | annual
    amount_minor: int  # per payment, fee cover included
    currency: str  # ISO code, upper case
    customer_email: str
    customer_id: str | None  # the supporter's one Stripe customer (see `customer_create`)
    product_name: str
    ui_mode: UiMode
    return_url: str  # embedded: where Stripe returns ({CHECKOUT_SESSION_ID} filled in)
    cancel_url: str  # hosted page only
    idempotency_key: str
    # The Product the price belongs to (one per campaign and frequency); None: Checkout makes
    # one from `product_name`.
    product_id: str | None = None
    # Let Stripe show the price in the reader's own currency (and charge in it). Off: the reader
    # pays in the contribution's currency whatever the account's Dashboard setting says.
    adaptive_pricing: bool = False


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    ui_mode: UiMode
    client_secret: str | None
    url: str | None


@dataclass(frozen=True)
class CheckoutSessionState:
    """A Checkout Session as it stands: `status` is Stripe's (open, complete, expired)."""

    id: str
    ui_mode: str
    status: str


@dataclass(frozen=True)
class ChargeDetails:
    """A payment intent as it stands, with its latest charge and balance transaction."""

    payment_intent_id: str
    status: Literal["pending", "succeeded", "failed"]
    amount_minor: int
    currency: str
    charge_id: str | None
    balance_transaction_id: str | None
    fee_minor: int | None
    net_minor: int | None
    payment_method_type: str
    paid_at: datetime | None
    failure_code: str
    failure_message: str
    customer_id: str | None
    # What the reader's card or bank was charged in, where Adaptive Pricing showed them another
    # currency than ours (`presentment_details`); "" otherwise.
    presentment_currency: str = ""
    # The balance transaction's side (fee and net above are in this currency too).
    settlement_amount_minor: int | None = None
    settlement_currency: str = ""
    exchange_rate: Decimal | None = None


def charge_details_from(intent: dict[str, Any]) -> ChargeDetails:
    """Read a payment intent (an API answer as plain data, `latest_charge.balance_transaction`
    expanded) into our result."""
    charge = intent.get("latest_charge")
    charge = charge if isinstance(charge, dict) else None
    status: Literal["pending", "succeeded", "failed"] = "pending"
    if intent.get("status") == "succeeded":
        status = "succeeded"
    elif intent.get("status") in ("canceled", "requires_payment_method") and charge is not None:
        status = "failed"
    balance = charge.get("balance_transaction") if charge is not None else None
    settled = balance if isinstance(balance, dict) else None
    method = (charge or {}).get("payment_method_details") or {}
    presented = intent.get("presentment_details") or {}
    rate = settled.get("exchange_rate") if settled is not None else None
    return ChargeDetails(
        payment_intent_id=str(intent["id"]),
        status=status,
        amount_minor=int(intent["amount"]),
        currency=str(intent["currency"]).upper(),
        charge_id=stripe_id(intent.get("latest_charge")),
        balance_transaction_id=stripe_id(balance),
        fee_minor=int(settled["fee"]) if settled is not None else None,
        net_minor=int(settled["net"]) if settled is not None else None,
        payment_method_type=str(method.get("type") or ""),
        paid_at=stripe_time(charge.get("created")) if charge and status == "succeeded" else None,
        failure_code=str((charge or {}).get("failure_code") or ""),
        failure_message=str((charge or {}).get("failure_message") or ""),
        customer_id=stripe_id(intent.get("customer")),
        presentment_currency=str(presented.get("presentment_currency") or "").upper(),
        settlement_amount_minor=int(settled["amount"]) if settled is not None else None,
        settlement_currency=str(settled["currency"]).upper() if settled is not None else "",
        # Through str, as Stripe's decimal was written: a float's own digits are not money's.
        exchange_rate=Decimal(str(rate)) if rate else None,
    )


@dataclass(frozen=True)
class RefundDetails:
    """A refund as it stands (Stripe's `status`: pending, requires_action, succeeded, failed,
    canceled). A refund that failed after it succeeded keeps its first balance transaction and
    gets a second one that gives the money back (`failure_balance_transaction_id`)."""

    id: str
    status: str
    amount_minor: int
    currency: str
    reason: str
    created: datetime
    charge_id: str | None
    payment_intent_id: str | None
    balance_transaction_id: str
    failure_balance_transaction_id: str
    failure_reason: str
    # What it took from the balance (Stripe's net, negative), in the settlement currency: known
    # where the balance transaction was expanded.
    settlement_net_minor: int | None = None
    settlement_currency: str = ""


def refund_details_from(data: dict[str, Any]) -> RefundDetails:
    """Read a refund object (a webhook's data or an API answer) into our result."""
    balance = data.get("balance_transaction")
    expanded = balance if isinstance(balance, dict) else None
    return RefundDetails(
        id=data["id"],
        status=str(data.get("status") or ""),
        amount_minor=int(data["amount"]),
        currency=str(data["currency"]).upper(),
        reason=str(data.get("reason") or ""),
        created=stripe_time(data.get("created")) or datetime.now(tz=UTC),
        charge_id=stripe_id(data.get("charge")),
        payment_intent_id=stripe_id(data.get("payment_intent")),
        balance_transaction_id=stripe_id(data.get("balance_transaction")) or "",
        failure_balance_transaction_id=stripe_id(data.get("failure_balance_transaction")) or "",
        failure_reason=str(data.get("failure_reason") or ""),
        settlement_net_minor=int(expanded["net"]) if expanded else None,
        settlement_currency=str(expanded["currency"]).upper() if expanded else "",
    )


@dataclass(frozen=True)
class SubscriptionState:
    id: str
    status: str
    amount_minor: int
    currency: str
    interval: str
    current_period_end: datetime | None
    cancel_at_period_end: bool
    # A scheduled cancellation (the Billing Portal's "cancel at period end", or a date): the
    # subscription stays active, and bills nothing more, until then.
    cancel_at: datetime | None
    canceled_at: datetime | None
    ended_at: datetime | None
    cancellation_reason: str
    cancellation_feedback: str
    contribution_id: int | None
    customer_id: str | None


@dataclass(frozen=True)
class BalanceEntry:
    """One balance transaction in a payout, as Stripe lists it: what it was for (`source_id`: a
    charge, refund, dispute, payout... or "" for the kinds without one), and its money in the
    balance's currency (upper case)."""

    id: str
    source_id: str
    type: str
    reporting_category: str = ""
    amount_minor: int = 0
    fee_minor: int = 0
    net_minor: int = 0
    currency: str = ""
    available_on: datetime | None = None
    created: datetime | None = None


def balance_entry_from(txn: dict[str, Any]) -> BalanceEntry:
    """Read a balance transaction object (an API answer, as plain data) into our result."""
    return BalanceEntry(
        id=str(txn["id"]),
        source_id=stripe_id(txn.get("source")) or "",
        type=str(txn.get("type") or ""),
        reporting_category=str(txn.get("reporting_category") or ""),
        amount_minor=int(txn.get("amount") or 0),
        fee_minor=int(txn.get("fee") or 0),
        net_minor=int(txn.get("net") or 0),
        currency=str(txn.get("currency") or "").upper(),
        available_on=stripe_time(txn.get("available_on")),
        created=stripe_time(txn.get("created")),
    )


class Gateway(Protocol):
    name: str

    def checkout_session_create(self, *, request: CheckoutRequest) -> CheckoutSession: ...

    def payment_intent_details(self, *, payment_intent_id: str) -> ChargeDetails: ...

    def invoice_payment_intent_id(self, *, invoice_id: str) -> str | None: ...

    def refund_create(
        self,
        *,
        payment_intent_id: str,
        amount_minor: int | None,
        reason: RefundReason,
        idempotency_key: str,
    ) -> RefundDetails: ...

    def refund_retrieve(self, *, refund_id: str) -> RefundDetails: ...

    def charge_refunds_list(self, *, charge_id: str) -> list[RefundDetails]: ...

    def billing_portal_url(self, *, customer_id: str, return_url: str) -> str: ...

    def customer_create(self, *, email: str, name: str, idempotency_key: str) -> str: ...

    def checkout_session_retrieve(self, *, session_id: str) -> CheckoutSessionState: ...

    def checkout_session_expire(self, *, session_id: str, idempotency_key: str) -> None: ...

    def product_create(
        self, *, name: str, metadata: dict[str, str], idempotency_key: str
    ) -> str: ...

    def subscription_retrieve(self, *, subscription_id: str) -> SubscriptionState: ...

    def subscription_amount_update(
        self, *, subscription_id: str, amount_minor: int, idempotency_key: str
    ) -> SubscriptionState: ...

    def subscription_cancel(
        self, *, subscription_id: str, comment: str, idempotency_key: str
    ) -> SubscriptionState: ...

    def payout_balance_entries(self, *, payout_id: str) -> list[BalanceEntry]: ...


def gateway_get() -> Gateway:
    """Return the configured provider: Stripe when a key is set, the demo provider otherwise."""
    if settings.PAYMENTS_DEMO:
        from payments.demo_provider.gateway import DemoGateway

        return DemoGateway()
    from payments.stripe_gateway import StripeGateway

    return StripeGateway.from_settings()


def webhook_secret() -> str:
    """Return the secret webhooks are signed with: Stripe's, or the demo provider's own."""
    if settings.PAYMENTS_DEMO:
        return str(settings.PAYMENTS_DEMO_WEBHOOK_SECRET)
    return str(settings.STRIPE_WEBHOOK_SECRET)


def expected_livemode() -> bool:
    """Return whether events must be live ones (a live key) or test ones (test key, demo)."""
    return bool(settings.STRIPE_LIVEMODE)


def subscription_state_from(data: dict[str, Any]) -> SubscriptionState:
    """Read a subscription object (a webhook's data or an API answer) into our result."""
    items = (data.get("items") or {}).get("data") or [{}]
    item = items[0]
    price = item.get("price") or {}
    details = data.get("cancellation_details") or {}
    metadata = data.get("metadata") or {}
    reference = str(metadata.get("contribution_id") or "")
    return SubscriptionState(
        id=data["id"],
        status=data["status"],
        amount_minor=int(price.get("unit_amount") or 0) * int(item.get("quantity") or 1),
        currency=str(data.get("currency") or price.get("currency") or "").upper(),
        interval=(price.get("recurring") or {}).get("interval") or "month",
        current_period_end=stripe_time(item.get("current_period_end")),
        cancel_at_period_end=bool(data.get("cancel_at_period_end")),
        cancel_at=stripe_time(data.get("cancel_at")),
        canceled_at=stripe_time(data.get("canceled_at")),
        ended_at=stripe_time(data.get("ended_at")),
        cancellation_reason=details.get("reason") or "",
        cancellation_feedback=details.get("feedback") or "",
        contribution_id=int(reference) if reference.isdecimal() else None,
        customer_id=stripe_id(data.get("customer")),
    )
