"""The one door to Stripe: the only module that imports `stripe`.

It pins the API version, sends the idempotency key its caller derived (`payments.idempotency`),
checks webhook
signatures with Stripe's own code, and turns Stripe objects into the small results of
`payments.gateway`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, cast
from urllib.parse import quote

import stripe
from django.conf import settings
from stripe.params import (
    CustomerCreateParams,
    ProductCreateParams,
    RefundCreateParams,
    RefundListParams,
    SubscriptionCancelParams,
    SubscriptionUpdateParams,
)
from stripe.params.billing_portal import SessionCreateParams as PortalSessionCreateParams
from stripe.params.checkout import SessionCreateParams, SessionCreateParamsLineItemPriceData

from payments.gateway import (
    BalanceEntry,
    ChargeDetails,
    CheckoutRequest,
    CheckoutSession,
    CheckoutSessionState,
    GatewayError,
    RefundDetails,
    RefundReason,
    SubscriptionState,
    WebhookSignatureInvalid,
    balance_entry_from,
    charge_details_from,
    refund_details_from,
    stripe_id,
    subscription_state_from,
)
from payments.stripe_http import stripe_http_client
from payments.stripe_rate import stripe_call_wait, stripe_seconds_add

API_VERSION = "2026-10-28.endive"
STRIPE_API_BASE = "https://api.stripe.com"
INTERVALS: dict[str, Literal["month", "year"]] = {"monthly": "month", "annual": "year"}


def _translate(error: stripe.StripeError) -> GatewayError:
    transient = isinstance(
        error, (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)
    )
    return GatewayError(error.user_message or str(error), transient=transient)


def webhook_payload_verify(*, payload: bytes, signature: str, secret: str, tolerance: int) -> None:
    """Check a webhook's signature and age with Stripe's own verification.

    Stripe's check refuses a signature older than `tolerance` but not one from the future; a
    signing time further ahead of our clock than the same tolerance is refused here too, so a
    captured signature cannot be made to live longer than the window.
    """
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as error:
        raise WebhookSignatureInvalid(str(error)) from error
    # verify_header succeeded, so the header has a well-formed `t=` item.
    items = dict(item.split("=", 1) for item in signature.split(",") if "=" in item)
    if int(items["t"]) > time.time() + tolerance:
        raise WebhookSignatureInvalid("the signature's time is in the future")


def webhook_signature_header(*, payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Return a `Stripe-Signature` header for `payload`, as Stripe computes it.

    The demo provider signs its events with this, and tests sign the events they post.
    """
    signed_at = int(time.time()) if timestamp is None else timestamp
    signed = f"{signed_at}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={signed_at},v1={digest}"


class RateLimitedHttpClient(stripe.HTTPClient):
    """Stripe's HTTP layer with every request (retries included) first waiting for its slot
    under the shared rate limit (`payments.stripe_rate`): reads and writes each have their own."""

    name = "rate-limited"

    def __init__(
        self, inner: stripe.HTTPClient | None = None, *, api_base: str = STRIPE_API_BASE
    ) -> None:
        super().__init__()
        self.inner = inner if inner is not None else stripe_http_client(api_base)

    def request(
        self,
        method: str,
        url: str,
        headers: Any,
        post_data: Any = None,
        *,
        _usage: Any = None,
    ) -> Any:
        return self._through_limit(
            method, lambda: self.inner.request(method, url, headers, post_data)
        )

    def request_stream(
        self,
        method: str,
        url: str,
        headers: Any,
        post_data: Any = None,
        *,
        _usage: Any = None,
    ) -> Any:
        return self._through_limit(
            method, lambda: self.inner.request_stream(method, url, headers, post_data)
        )

    def _through_limit(self, method: str, send: Callable[[], Any]) -> Any:
        """Wait for a slot in the shared rate limit, then send; count the time spent on Stripe."""
        started = time.monotonic()
        try:
            stripe_call_wait(kind="read" if method.lower() == "get" else "write")
            return send()
        finally:
            stripe_seconds_add(time.monotonic() - started)

    def close(self) -> None:
        self.inner.close()  # type: ignore[no-untyped-call]


class StripeGateway:
    name = "stripe"
    # Stripe's HTTP layer; None is the library's own. Tests plug a fake in here.
    http_client: Any = None

    def __init__(
        self,
        *,
        api_key: str,
        http_client: Any = None,
        api_base: str = STRIPE_API_BASE,
        rate_limited: bool = True,
    ) -> None:
        """`rate_limited=False` is for an emulator answering in this process (the demo's):
        it has no rate to keep to, and its time is not time spent waiting for Stripe."""
        http: Any = http_client
        if rate_limited or http is None:
            http = RateLimitedHttpClient(http_client, api_base=api_base)
        self.client = stripe.StripeClient(
            api_key,
            stripe_version=API_VERSION,
            max_network_retries=2,
            http_client=http,
            base_addresses={"api": api_base},
        )

    @classmethod
    def from_settings(cls) -> StripeGateway:
        return cls(
            api_key=settings.STRIPE_SECRET_KEY,
            http_client=cls.http_client,
            api_base=settings.STRIPE_API_BASE,
        )

    def checkout_session_create(self, *, request: CheckoutRequest) -> CheckoutSession:
        """Create the Checkout Session for a contribution (idempotent per contribution)."""
        metadata = {"contribution_id": str(request.contribution_id)}
        price_data: SessionCreateParamsLineItemPriceData = {
            "currency": request.currency.lower(),
            "unit_amount": request.amount_minor,
        }
        if request.product_id:
            price_data["product"] = request.product_id
        else:
            price_data["product_data"] = {"name": request.product_name}
        params: SessionCreateParams = {
            "ui_mode": request.ui_mode,
            "client_reference_id": str(request.contribution_id),
            "metadata": metadata,
            "line_items": [{"quantity": 1, "price_data": price_data}],
            # Sent either way: left out, the account's Dashboard setting decides.
            "adaptive_pricing": {"enabled": request.adaptive_pricing},
        }
        if request.customer_id:
            params["customer"] = request.customer_id
        else:
            params["customer_email"] = request.customer_email
        if request.frequency in INTERVALS:
            price_data["recurring"] = {"interval": INTERVALS[request.frequency]}
            params["mode"] = "subscription"
            params["subscription_data"] = {"metadata": metadata}
        else:
            params["mode"] = "payment"
            params["submit_type"] = "donate"
            params["payment_intent_data"] = {"metadata": metadata}
            if not request.customer_id:
                params["customer_creation"] = "always"
        if request.ui_mode == "embedded_page":
            params["return_url"] = request.return_url
        else:
            params["success_url"] = request.return_url
            params["cancel_url"] = request.cancel_url
        try:
            session = self.client.v1.checkout.sessions.create(
                params,
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as error:
            raise _translate(error) from error
        return CheckoutSession(
            id=session.id,
            ui_mode=request.ui_mode,
            client_secret=session.client_secret,
            url=session.url,
        )

    def _read(self, path: str, **params: Any) -> dict[str, Any]:
        """GET one Stripe object as plain data, for the reads whose answer is only read.

        The library still sends it (the pinned version, retries, the rate limit), but builds
        no StripeObject: for an expanded payment intent that took longer than the rest of the
        event's work. Ids go into the path quoted, as the library's own calls do.
        """
        try:
            response = self.client.raw_request("get", path, **params)
        except stripe.StripeError as error:
            raise _translate(error) from error
        return cast(dict[str, Any], response.data)

    def payment_intent_details(self, *, payment_intent_id: str) -> ChargeDetails:
        """Re-read a payment intent with its latest charge and that charge's balance transaction."""
        intent = self._read(
            f"/v1/payment_intents/{quote(payment_intent_id, safe='')}",
            expand=["latest_charge.balance_transaction"],
        )
        return charge_details_from(intent)

    def invoice_payment_intent_id(self, *, invoice_id: str) -> str | None:
        """Return the payment intent that paid (or tried to pay) an invoice."""
        try:
            payments = self.client.v1.invoice_payments.list({"invoice": invoice_id, "limit": 10})
        except stripe.StripeError as error:
            raise _translate(error) from error
        chosen = None
        for invoice_payment in payments.data:
            if invoice_payment.payment.type != "payment_intent":
                continue
            if chosen is None or invoice_payment.is_default:
                chosen = stripe_id(invoice_payment.payment.payment_intent)
        return chosen

    def refund_create(
        self,
        *,
        payment_intent_id: str,
        amount_minor: int | None,
        reason: RefundReason,
        idempotency_key: str,
    ) -> RefundDetails:
        params: RefundCreateParams = {"payment_intent": payment_intent_id, "reason": reason}
        if amount_minor is not None:
            params["amount"] = amount_minor
        try:
            refund = self.client.v1.refunds.create(params, {"idempotency_key": idempotency_key})
        except stripe.StripeError as error:
            raise _translate(error) from error
        return refund_details_from(refund.to_dict())

    def refund_retrieve(self, *, refund_id: str) -> RefundDetails:
        """Re-read a refund: its status now, not the one an (old) event carried."""
        refund = self._read(
            f"/v1/refunds/{quote(refund_id, safe='')}", expand=["balance_transaction"]
        )
        return refund_details_from(refund)

    def charge_refunds_list(self, *, charge_id: str) -> list[RefundDetails]:
        """List every refund of a charge (a charge no longer carries them since 2022-11-15)."""
        params: RefundListParams = {
            "charge": charge_id,
            "limit": 100,
            "expand": ["data.balance_transaction"],
        }
        try:
            return [
                refund_details_from(refund.to_dict())
                for refund in self.client.v1.refunds.list(params).auto_paging_iter()
            ]
        except stripe.StripeError as error:
            raise _translate(error) from error

    def billing_portal_url(self, *, customer_id: str, return_url: str) -> str:
        params: PortalSessionCreateParams = {"customer": customer_id, "return_url": return_url}
        if settings.STRIPE_PORTAL_CONFIGURATION:
            params["configuration"] = settings.STRIPE_PORTAL_CONFIGURATION
        try:
            session = self.client.v1.billing_portal.sessions.create(params)
        except stripe.StripeError as error:
            raise _translate(error) from error
        return session.url

    def checkout_session_retrieve(self, *, session_id: str) -> CheckoutSessionState:
        try:
            session = self.client.v1.checkout.sessions.retrieve(session_id)
        except stripe.StripeError as error:
            raise _translate(error) from error
        return CheckoutSessionState(
            id=session.id, ui_mode=str(session.ui_mode or ""), status=str(session.status or "")
        )

    def checkout_session_expire(self, *, session_id: str, idempotency_key: str) -> None:
        """Expire an open session, so that it can no longer be paid."""
        try:
            self.client.v1.checkout.sessions.expire(
                session_id, {}, {"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as error:
            raise _translate(error) from error

    def customer_create(self, *, email: str, name: str, idempotency_key: str) -> str:
        """Create the supporter's Stripe customer (one per supporter; see the services)."""
        params: CustomerCreateParams = {"email": email}
        if name:
            params["name"] = name
        try:
            customer = self.client.v1.customers.create(params, {"idempotency_key": idempotency_key})
        except stripe.StripeError as error:
            raise _translate(error) from error
        return customer.id

    def product_create(self, *, name: str, metadata: dict[str, str], idempotency_key: str) -> str:
        """Create a Product that checkouts' prices reuse (one per campaign and frequency)."""
        params: ProductCreateParams = {"name": name, "metadata": metadata}
        try:
            product = self.client.v1.products.create(params, {"idempotency_key": idempotency_key})
        except stripe.StripeError as error:
            raise _translate(error) from error
        return product.id

    def subscription_retrieve(self, *, subscription_id: str) -> SubscriptionState:
        subscription = self._read(f"/v1/subscriptions/{quote(subscription_id, safe='')}")
        return subscription_state_from(subscription)

    def subscription_amount_update(
        self, *, subscription_id: str, amount_minor: int, idempotency_key: str
    ) -> SubscriptionState:
        """Charge `amount_minor` from the next period on, without prorating."""
        try:
            current = self.client.v1.subscriptions.retrieve(subscription_id)
            item = current["items"].data[0]
            params: SubscriptionUpdateParams = {
                "items": [
                    {
                        "id": item.id,
                        "price_data": {
                            "currency": item.price.currency,
                            "product": str(stripe_id(item.price.product)),
                            "unit_amount": amount_minor,
                            "recurring": {
                                "interval": item.price.recurring.interval
                                if item.price.recurring
                                else "month"
                            },
                        },
                    }
                ],
                "proration_behavior": "none",
            }
            updated = self.client.v1.subscriptions.update(
                subscription_id, params, {"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as error:
            raise _translate(error) from error
        return subscription_state_from(updated.to_dict())

    def subscription_cancel(
        self, *, subscription_id: str, comment: str, idempotency_key: str
    ) -> SubscriptionState:
        params: SubscriptionCancelParams = {}
        if comment:
            params["cancellation_details"] = {"comment": comment[:500]}
        try:
            canceled = self.client.v1.subscriptions.cancel(
                subscription_id, params, {"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as error:
            raise _translate(error) from error
        return subscription_state_from(canceled.to_dict())

    def payout_balance_entries(self, *, payout_id: str) -> list[BalanceEntry]:
        """Return every balance transaction an automatic payout paid out, its own included
        (all pages: a payout on a busy day carries thousands)."""
        try:
            return [
                balance_entry_from(txn.to_dict())
                for txn in self.client.v1.balance_transactions.list(
                    {"payout": payout_id, "limit": 100}
                ).auto_paging_iter()
            ]
        except stripe.StripeError as error:
            raise _translate(error) from error


def event_json(event: dict[str, Any]) -> bytes:
    """Serialise an event the way it is posted (used by the demo provider and tests)."""
    return json.dumps(event, separators=(",", ":")).encode()


# --- Finance: backfill reads ----------------------------------------------------------------------
# Listing what Stripe holds for a period, so that `manage.py backfill_stripe` (finance) can close
# gaps left by missed webhooks. Read-only calls; small typed results, no Stripe objects leak out.
# (Imported here, not at the top, to keep this section self-contained.)

from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import date  # noqa: E402

from stripe.params import (  # noqa: E402
    BalanceTransactionListParams,
    ChargeListParams,
    ChargeListParamsCreated,
    DisputeListParams,
    InvoiceListParams,
    PayoutListParams,
)


@dataclass(frozen=True)
class BackfillCharge:
    id: str
    payment_intent_id: str | None
    amount_minor: int
    currency: str
    status: str  # succeeded | pending | failed
    created: datetime
    balance_transaction_id: str | None
    fee_minor: int | None
    net_minor: int | None
    payment_method_type: str
    contribution_id: int | None  # from the charge's or its payment intent's metadata
    failure_code: str
    failure_message: str
    customer_id: str | None
    livemode: bool
    refunds: tuple[RefundDetails, ...]
    # The balance transaction's side (fee and net above are in this currency too).
    settlement_amount_minor: int | None = None
    settlement_currency: str = ""
    exchange_rate: Decimal | None = None


@dataclass(frozen=True)
class BackfillInvoice:
    id: str
    amount_paid: int
    # The invoice as its `invoice.paid` event carries it (plain data in Stripe's shape): the
    # backfill records it through that event's handler.
    event_object: dict[str, Any]


@dataclass(frozen=True)
class BackfillDispute:
    id: str
    status: str
    reason: str
    amount_minor: int
    balance_transaction_ids: tuple[str, ...]  # the money it moved: withdrawn, reinstated
    reinstated_at: datetime | None  # the money given back (a won dispute), if it was
    # The dispute as its `charge.dispute.*` events carry it (plain data in Stripe's shape).
    event_object: dict[str, Any]


@dataclass(frozen=True)
class BackfillPayout:
    id: str
    amount_minor: int
    currency: str
    arrival_date: date
    status: str
    livemode: bool
    created: datetime
    automatic: bool = True
    reconciliation_status: str = ""


# A payout's balance transactions, as the webhook handlers read them.
BackfillBalanceTransaction = BalanceEntry


def _contribution_id(*metadatas: Any) -> int | None:
    for metadata in metadatas:
        if metadata is None:
            continue
        # Stripe's objects are not dicts; their metadata converts to one.
        values = metadata.to_dict() if hasattr(metadata, "to_dict") else dict(metadata)
        value = str(values.get("contribution_id") or "")
        if value.isdigit():
            return int(value)
    return None


def _period(since: datetime, until: datetime) -> ChargeListParamsCreated:
    return {"gte": int(since.timestamp()), "lt": int(until.timestamp())}


def backfill_charges(
    gateway: StripeGateway, *, since: datetime, until: datetime
) -> Iterator[BackfillCharge]:
    """Yield every charge created in [since, until), with its balance transaction and refunds."""
    params: ChargeListParams = {
        "created": _period(since, until),
        "limit": 100,
        # Each refund with its balance transaction: what it took from the balance, settled.
        "expand": [
            "data.balance_transaction",
            "data.payment_intent",
            "data.refunds.data.balance_transaction",
        ],
    }
    try:
        for charge in gateway.client.v1.charges.list(params).auto_paging_iter():
            balance = charge.balance_transaction
            fee = net = settled = rate = None
            settlement_currency = ""
            if balance is not None and not isinstance(balance, str):
                fee, net = balance.fee, balance.net
                settled, settlement_currency = balance.amount, balance.currency.upper()
                rate = Decimal(str(balance.exchange_rate)) if balance.exchange_rate else None
            intent = charge.payment_intent
            intent_metadata = (
                intent.metadata if intent is not None and not isinstance(intent, str) else None
            )
            details = charge.payment_method_details
            refunds = charge.refunds.data if charge.refunds is not None else []
            yield BackfillCharge(
                id=charge.id,
                payment_intent_id=stripe_id(intent),
                amount_minor=charge.amount,
                currency=charge.currency.upper(),
                status=charge.status,
                created=datetime.fromtimestamp(charge.created, tz=UTC),
                balance_transaction_id=stripe_id(balance),
                fee_minor=fee,
                net_minor=net,
                payment_method_type=details.type if details is not None else "",
                contribution_id=_contribution_id(charge.metadata, intent_metadata),
                failure_code=charge.failure_code or "",
                failure_message=charge.failure_message or "",
                customer_id=stripe_id(charge.customer),
                livemode=charge.livemode,
                refunds=tuple(refund_details_from(refund.to_dict()) for refund in refunds),
                settlement_amount_minor=settled,
                settlement_currency=settlement_currency,
                exchange_rate=rate,
            )
    except stripe.StripeError as error:
        raise _translate(error) from error


def backfill_payouts(
    gateway: StripeGateway, *, since: datetime, until: datetime
) -> Iterator[BackfillPayout]:
    """Yield every payout created in [since, until)."""
    params: PayoutListParams = {"created": _period(since, until), "limit": 100}
    try:
        for payout in gateway.client.v1.payouts.list(params).auto_paging_iter():
            yield BackfillPayout(
                id=payout.id,
                amount_minor=payout.amount,
                currency=payout.currency.upper(),
                arrival_date=datetime.fromtimestamp(payout.arrival_date, tz=UTC).date(),
                status=payout.status,
                livemode=payout.livemode,
                created=datetime.fromtimestamp(payout.created, tz=UTC),
                automatic=payout.automatic,
                reconciliation_status=payout.reconciliation_status,
            )
    except stripe.StripeError as error:
        raise _translate(error) from error


def backfill_payout_transactions(
    gateway: StripeGateway, *, payout_id: str
) -> Iterator[BackfillBalanceTransaction]:
    """Yield the balance transactions a payout paid out."""
    params: BalanceTransactionListParams = {"payout": payout_id, "limit": 100}
    try:
        for txn in gateway.client.v1.balance_transactions.list(params).auto_paging_iter():
            yield balance_entry_from(txn.to_dict())
    except stripe.StripeError as error:
        raise _translate(error) from error


def backfill_invoices(
    gateway: StripeGateway, *, since: datetime, until: datetime
) -> Iterator[BackfillInvoice]:
    """Yield every paid invoice created in [since, until)."""
    params: InvoiceListParams = {"created": _period(since, until), "status": "paid", "limit": 100}
    try:
        for invoice in gateway.client.v1.invoices.list(params).auto_paging_iter():
            yield BackfillInvoice(
                id=invoice.id,
                amount_paid=invoice.amount_paid,
                event_object=invoice.to_dict(),
            )
    except stripe.StripeError as error:
        raise _translate(error) from error


def _backfill_dispute(dispute: stripe.Dispute) -> BackfillDispute:
    movements = dispute.balance_transactions
    returned = [txn.created for txn in movements if txn.amount > 0]
    return BackfillDispute(
        id=dispute.id,
        status=dispute.status,
        reason=dispute.reason,
        amount_minor=dispute.amount,
        balance_transaction_ids=tuple(txn.id for txn in movements),
        reinstated_at=datetime.fromtimestamp(max(returned), tz=UTC) if returned else None,
        event_object=dispute.to_dict(),
    )


def backfill_disputes(
    gateway: StripeGateway, *, since: datetime, until: datetime
) -> Iterator[BackfillDispute]:
    """Yield every dispute opened in [since, until), with the money it moved."""
    params: DisputeListParams = {"created": _period(since, until), "limit": 100}
    try:
        for dispute in gateway.client.v1.disputes.list(params).auto_paging_iter():
            yield _backfill_dispute(dispute)
    except stripe.StripeError as error:
        raise _translate(error) from error


def backfill_dispute(gateway: StripeGateway, *, dispute_id: str) -> BackfillDispute:
    """Return one dispute as it stands now."""
    try:
        return _backfill_dispute(gateway.client.v1.disputes.retrieve(dispute_id))
    except stripe.StripeError as error:
        raise _translate(error) from error


# --- Operations: `manage.py stripe_setup` ---------------------------------------------------------
# Set up what the service needs in the Stripe account (the webhook endpoint, the Billing Portal
# configuration) and read the account settings that change what the ledger sees. Idempotent:
# each is found by its URL or by our metadata marker, and only changed when it differs.

SETUP_MARKER = "reader_support"  # metadata key on what the command creates


@dataclass(frozen=True)
class SetupStep:
    what: str  # "webhook endpoint", "Billing Portal configuration"
    action: str  # created | updated | unchanged
    id: str
    notes: tuple[str, ...] = ()  # what the operator must do next, in plain words


@dataclass(frozen=True)
class AccountSettings:
    id: str
    country: str
    default_currency: str
    charges_enabled: bool
    payouts_enabled: bool
    payout_interval: str  # manual | daily | weekly | monthly
    payout_delay_days: int | None
    payout_anchor: str  # weekly_anchor or monthly_anchor, when the schedule has one


def webhook_endpoint_ensure(gateway: StripeGateway, *, url: str, events: list[str]) -> SetupStep:
    """Make sure one webhook endpoint at `url` receives `events` in the pinned API version.

    An endpoint's API version cannot be changed after it is created: one at our URL with another
    version is left as it is (it may still be retrying events) and a new one is created beside
    it; the notes say to switch the signing secret and then delete the old one.
    """
    wanted = sorted(set(events))
    try:
        ours = [
            endpoint
            for endpoint in gateway.client.v1.webhook_endpoints.list(
                {"limit": 100}
            ).auto_paging_iter()
            if endpoint.url == url
        ]
        pinned = [endpoint for endpoint in ours if endpoint.api_version == API_VERSION]
        if pinned:
            endpoint = pinned[0]
            if sorted(endpoint.enabled_events) == wanted and endpoint.status == "enabled":
                return SetupStep("webhook endpoint", "unchanged", endpoint.id)
            update: dict[str, Any] = {"enabled_events": wanted, "disabled": False}
            gateway.client.v1.webhook_endpoints.update(endpoint.id, cast(Any, update))
            return SetupStep("webhook endpoint", "updated", endpoint.id)
        create: dict[str, Any] = {
            "url": url,
            "enabled_events": wanted,
            "api_version": API_VERSION,
            "description": "Reader support: contributions ledger",
            "metadata": {SETUP_MARKER: "1"},
        }
        digest = hashlib.sha256(f"{url} {API_VERSION} {wanted}".encode()).hexdigest()[:24]
        created = gateway.client.v1.webhook_endpoints.create(
            cast(Any, create), {"idempotency_key": f"stripe-setup-webhook-{digest}"}
        )
    except stripe.StripeError as error:
        raise _translate(error) from error
    notes = [
        f"Set STRIPE_WEBHOOK_SECRET={created.secret} (Stripe shows it only now) and restart "
        "the web processes."
    ]
    notes += [
        f"Endpoint {old.id} at the same URL speaks API {old.api_version or 'account default'}: "
        "once the new secret is in place and its pending events are delivered, delete it."
        for old in ours
    ]
    return SetupStep("webhook endpoint", "created", created.id, tuple(notes))


def portal_configuration_ensure(
    gateway: StripeGateway, *, return_url: str, headline: str
) -> SetupStep:
    """Make sure our Billing Portal configuration exists and says what the service expects:
    readers update their card and e-mail, see their invoices and cancel at the period's end;
    they change their amount on our own page (each contribution has its own price)."""
    wanted: dict[str, Any] = {
        "business_profile": {"headline": headline},
        "default_return_url": return_url,
        "features": {
            "customer_update": {"enabled": True, "allowed_updates": ["email", "name"]},
            "invoice_history": {"enabled": True},
            "payment_method_update": {"enabled": True},
            "subscription_cancel": {
                "enabled": True,
                "mode": "at_period_end",
                "proration_behavior": "none",
                "cancellation_reason": {
                    "enabled": True,
                    "options": ["too_expensive", "unused", "other"],
                },
            },
            "subscription_update": {"enabled": False},
        },
    }
    try:
        ours = [
            configuration
            for configuration in gateway.client.v1.billing_portal.configurations.list(
                {"active": True, "limit": 100}
            ).auto_paging_iter()
            if (configuration.to_dict().get("metadata") or {}).get(SETUP_MARKER) == "1"
        ]
        if ours:
            current = ours[0]
            if _contains(current.to_dict(), wanted):
                step = SetupStep("Billing Portal configuration", "unchanged", current.id)
            else:
                gateway.client.v1.billing_portal.configurations.update(
                    current.id, cast(Any, wanted)
                )
                step = SetupStep("Billing Portal configuration", "updated", current.id)
        else:
            created = gateway.client.v1.billing_portal.configurations.create(
                cast(Any, {**wanted, "metadata": {SETUP_MARKER: "1"}}),
                {"idempotency_key": f"stripe-setup-portal-{return_url}"[:255]},
            )
            step = SetupStep("Billing Portal configuration", "created", created.id)
    except stripe.StripeError as error:
        raise _translate(error) from error
    if step.id != settings.STRIPE_PORTAL_CONFIGURATION:
        note = f"Set STRIPE_PORTAL_CONFIGURATION={step.id} so the Portal opens with it."
        step = dataclasses.replace(step, notes=(note,))
    return step


def _contains(actual: Any, wanted: Any) -> bool:
    """Whether `actual` (a Stripe object as data) has every value of `wanted` (lists as sets)."""
    if isinstance(wanted, dict):
        return isinstance(actual, dict) and all(
            _contains(actual.get(key), value) for key, value in wanted.items()
        )
    if isinstance(wanted, list):
        return isinstance(actual, list) and sorted(map(str, actual)) == sorted(map(str, wanted))
    return bool(actual == wanted)


def account_settings_read(gateway: StripeGateway) -> AccountSettings:
    """Read the account settings that change what the ledger sees (the payout schedule)."""
    try:
        account = gateway.client.v1.accounts.retrieve_current().to_dict()
    except stripe.StripeError as error:
        raise _translate(error) from error
    schedule = ((account.get("settings") or {}).get("payouts") or {}).get("schedule") or {}
    return AccountSettings(
        id=str(account.get("id") or ""),
        country=str(account.get("country") or ""),
        default_currency=str(account.get("default_currency") or "").upper(),
        charges_enabled=bool(account.get("charges_enabled")),
        payouts_enabled=bool(account.get("payouts_enabled")),
        payout_interval=str(schedule.get("interval") or ""),
        payout_delay_days=schedule.get("delay_days"),
        payout_anchor=str(schedule.get("weekly_anchor") or schedule.get("monthly_anchor") or ""),
    )
