"""The gateway interface of `payments.gateway`, answered from the demo provider's objects."""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from django.conf import settings
from django.db import transaction
from django.urls import reverse

from payments.demo_provider.checkout import demo_checkout_session
from payments.demo_provider.store import (
    demo_event_deliver,
    demo_invoice_payment_intent_id,
    demo_object_load,
    demo_object_save,
    unix_now,
)
from payments.gateway import (
    BalanceEntry,
    ChargeDetails,
    CheckoutRequest,
    CheckoutSession,
    GatewayError,
    RefundDetails,
    RefundReason,
    SubscriptionState,
    refund_details_from,
    stripe_time,
    subscription_state_from,
)
from payments.models import DemoObject

INTERVALS = {"monthly": "month", "annual": "year"}


class DemoGateway:
    """The gateway interface answered from `DemoObject` rows instead of Stripe's API."""

    name = "demo"

    def checkout_session_create(self, *, request: CheckoutRequest) -> CheckoutSession:
        # Derived from our row (idempotent) but keyed, so nobody can guess another reader's.
        key = f"contribution-{request.contribution_id}-checkout".encode()
        secret = settings.PAYMENTS_DEMO_WEBHOOK_SECRET.encode()
        session_id = "cs_demo_" + hmac.new(secret, key, hashlib.sha256).hexdigest()[:32]
        existing = demo_checkout_session(session_id=session_id)
        url = reverse("payments:demo-checkout", args=[session_id])
        if existing is None:
            demo_object_save(
                {
                    "id": session_id,
                    "object": "checkout.session",
                    "mode": "payment" if request.frequency == "one_off" else "subscription",
                    "submit_type": "donate" if request.frequency == "one_off" else None,
                    "amount_total": request.amount_minor,
                    "currency": request.currency.lower(),
                    "customer": request.customer_id,
                    "customer_email": request.customer_email,
                    "client_reference_id": str(request.contribution_id),
                    "metadata": {"contribution_id": str(request.contribution_id)},
                    "recurring_interval": INTERVALS.get(request.frequency),
                    "product_name": request.product_name,
                    "status": "open",
                    "payment_status": "unpaid",
                    "payment_intent": None,
                    "subscription": None,
                    "created": unix_now(),
                    "return_url": request.return_url.replace("{CHECKOUT_SESSION_ID}", session_id),
                    "cancel_url": request.cancel_url,
                    "url": url,
                    "ui_mode": "hosted_page",
                    "livemode": False,
                }
            )
        return CheckoutSession(id=session_id, ui_mode="hosted_page", client_secret=None, url=url)

    def payment_intent_details(self, *, payment_intent_id: str) -> ChargeDetails:
        intent = demo_object_load(payment_intent_id)
        charge = intent["demo_expanded"]["charge"]
        txn = intent["demo_expanded"]["balance_transaction"]
        status: Literal["pending", "succeeded", "failed"] = "pending"
        if intent["status"] == "succeeded":
            status = "succeeded"
        elif charge["status"] == "failed":
            status = "failed"
        return ChargeDetails(
            payment_intent_id=intent["id"],
            status=status,
            amount_minor=intent["amount"],
            currency=intent["currency"].upper(),
            charge_id=charge["id"],
            balance_transaction_id=txn["id"] if txn is not None else None,
            fee_minor=txn["fee"] if txn is not None else None,
            net_minor=txn["net"] if txn is not None else None,
            payment_method_type="card",
            paid_at=stripe_time(charge["created"]) if status == "succeeded" else None,
            failure_code=charge["failure_code"] or "",
            failure_message=charge["failure_message"] or "",
            customer_id=intent.get("customer"),
        )

    def invoice_payment_intent_id(self, *, invoice_id: str) -> str | None:
        return demo_invoice_payment_intent_id(invoice_id)

    # The writing calls are atomic on their own: like Stripe's API, the demo provider commits
    # (and delivers its events) whatever the caller's transaction does.

    @transaction.atomic
    def refund_create(
        self,
        *,
        payment_intent_id: str,
        amount_minor: int | None,
        reason: RefundReason,
        idempotency_key: str,
    ) -> RefundDetails:
        refund_id = "re_demo_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]
        intent = demo_object_load(payment_intent_id)
        charge = demo_object_load(intent["latest_charge"], lock=True)
        existing = DemoObject.objects.filter(object_id=refund_id).first()
        if existing is not None:
            return refund_details_from(existing.data)
        amount = amount_minor or charge["amount"] - charge["amount_refunded"]
        if amount <= 0 or charge["amount_refunded"] + amount > charge["amount"]:
            raise GatewayError("The refund is larger than what is left of the payment.")
        refund = demo_object_save(
            {
                "id": refund_id,
                "object": "refund",
                "amount": amount,
                "balance_transaction": None,
                "charge": charge["id"],
                "created": unix_now(),
                "currency": charge["currency"],
                "failure_balance_transaction": None,
                "metadata": {},
                "payment_intent": intent["id"],
                "reason": reason,
                "status": "succeeded",
            }
        )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        demo_object_save(charge)
        demo_event_deliver(event_type="refund.created", obj=refund)
        demo_event_deliver(event_type="charge.refunded", obj=charge)
        return refund_details_from(refund)

    def refund_retrieve(self, *, refund_id: str) -> RefundDetails:
        return refund_details_from(demo_object_load(refund_id))

    def charge_refunds_list(self, *, charge_id: str) -> list[RefundDetails]:
        rows = DemoObject.objects.filter(object_type="refund", data__charge=charge_id)
        return [refund_details_from(row.data) for row in rows.order_by("pk")]

    def billing_portal_url(self, *, customer_id: str, return_url: str) -> str:
        return reverse("payments:demo-portal") + "?return=" + return_url

    def subscription_retrieve(self, *, subscription_id: str) -> SubscriptionState:
        return subscription_state_from(demo_object_load(subscription_id))

    @transaction.atomic
    def subscription_amount_update(
        self, *, subscription_id: str, amount_minor: int, idempotency_key: str
    ) -> SubscriptionState:
        subscription = demo_object_load(subscription_id, lock=True)
        subscription["items"]["data"][0]["price"]["unit_amount"] = amount_minor
        demo_object_save(subscription)
        demo_event_deliver(event_type="customer.subscription.updated", obj=subscription)
        return subscription_state_from(subscription)

    @transaction.atomic
    def subscription_cancel(
        self, *, subscription_id: str, comment: str, idempotency_key: str
    ) -> SubscriptionState:
        subscription = demo_object_load(subscription_id, lock=True)
        if subscription["status"] != "canceled":
            now = unix_now()
            subscription.update(status="canceled", canceled_at=now, ended_at=now)
            subscription["cancellation_details"] = {
                "comment": comment or None,
                "feedback": None,
                "reason": "cancellation_requested",
            }
            demo_object_save(subscription)
            demo_event_deliver(event_type="customer.subscription.deleted", obj=subscription)
        return subscription_state_from(subscription)

    def payout_balance_entries(self, *, payout_id: str) -> list[BalanceEntry]:
        return []
