"""Every flow of the emulator played end to end, as the service and Stripe would play it.

`SCENARIOS` maps a name to a function that runs one flow on a fresh emulator. The shape check
runs them all and checks every object and event they produce, and fails when a public function
of a `flows` module was called by none of them (so a new flow needs a scenario here). Tests and
the demo walk-through may use them as ready-made setups.
"""

from __future__ import annotations

from collections.abc import Callable

from stripe_emulator.api import api_call
from stripe_emulator.core import Emulator
from stripe_emulator.flows import (
    cards,
    checkout,
    disputes,
    invoices,
    payments,
    payouts,
    refunds,
)
from stripe_emulator.objects import Obj


def checkout_session_new(
    emulator: Emulator,
    *,
    mode: str = "payment",
    amount: int = 1000,
    currency: str = "eur",
    email: str = "reader@example.org",
    contribution_id: int = 1,
    ui_mode: str = "embedded_page",
) -> Obj:
    """Create a Checkout Session the way the service does (`StripeGateway`)."""
    metadata = {"contribution_id": str(contribution_id)}
    price_data: dict[str, object] = {
        "currency": currency,
        "unit_amount": amount,
        "product_data": {"name": "Contribution"},
    }
    params: dict[str, object] = {
        "mode": mode,
        "ui_mode": ui_mode,
        "client_reference_id": str(contribution_id),
        "metadata": metadata,
        "customer_email": email,
        "line_items": [{"quantity": 1, "price_data": price_data}],
    }
    if mode == "subscription":
        price_data["recurring"] = {"interval": "month"}
        params["subscription_data"] = {"metadata": metadata}
    else:
        params.update(
            submit_type="donate",
            payment_intent_data={"metadata": metadata},
            customer_creation="always",
        )
    if ui_mode == "embedded_page":
        params["return_url"] = "https://news.example.com/thanks?session={CHECKOUT_SESSION_ID}"
    else:
        params.update(success_url="https://news.example.com/thanks", cancel_url="https://x/")
    return api_call(emulator, "POST", "/v1/checkout/sessions", params)


def one_off_paid(emulator: Emulator, *, amount: int = 1000, currency: str = "eur") -> Obj:
    """Return the charge of a paid one-off card checkout."""
    session = checkout_session_new(emulator, amount=amount, currency=currency)
    checkout.session_pay(emulator, session_id=session["id"], number=cards.SUCCESS)
    intent = emulator.get(emulator.get(session["id"])["payment_intent"])
    return emulator.get(intent["latest_charge"])


def subscription_paid(emulator: Emulator, *, number: str = cards.SUCCESS) -> Obj:
    """Return the subscription of a paid monthly checkout."""
    session = checkout_session_new(emulator, mode="subscription", amount=500)
    checkout.session_pay(emulator, session_id=session["id"], number=number)
    return emulator.get(emulator.get(session["id"])["subscription"])


def _one_off(emulator: Emulator) -> None:
    session = checkout_session_new(emulator, ui_mode="hosted_page")
    declined = checkout.session_pay(emulator, session_id=session["id"], number=cards.DECLINED)
    assert declined.error and not declined.paid
    auth = checkout.session_pay(emulator, session_id=session["id"], number=cards.AUTHENTICATE)
    assert auth.needs_authentication
    paid = checkout.session_pay(
        emulator, session_id=session["id"], number=cards.AUTHENTICATE, authenticated=True
    )
    assert paid.paid, paid.error


def _adaptive_pricing(emulator: Emulator) -> None:
    """A reader in the UK pays a EUR price in GBP (Adaptive Pricing on), and one in USD."""
    for local in ("gbp", "usd"):
        session = api_call(
            emulator,
            "POST",
            "/v1/checkout/sessions",
            {
                "mode": "payment",
                "ui_mode": "embedded_page",
                "return_url": "https://news.example.com/thanks",
                "adaptive_pricing": {"enabled": True},
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": "eur",
                            "unit_amount": 1000,
                            "product_data": {"name": "Contribution"},
                        },
                    }
                ],
            },
        )
        paid = checkout.session_pay(
            emulator, session_id=session["id"], number=cards.SUCCESS, local_currency=local
        )
        assert paid.paid, paid.error


def _late_balance(emulator: Emulator) -> None:
    session = checkout_session_new(emulator)
    checkout.session_pay(emulator, session_id=session["id"], number=cards.SUCCESS, settle=False)
    intent = emulator.get(emulator.get(session["id"])["payment_intent"])
    payments.charge_settle(emulator, charge_id=intent["latest_charge"])


def _subscription_and_renewals(emulator: Emulator) -> None:
    subscription = subscription_paid(emulator)
    invoices.subscription_renew(emulator, subscription_id=subscription["id"])
    api_call(
        emulator,
        "POST",
        f"/v1/subscriptions/{subscription['id']}",
        {
            "items": [
                {
                    "id": subscription["items"]["data"][0]["id"],
                    "price_data": {
                        "currency": "eur",
                        "product": subscription["items"]["data"][0]["price"]["product"],
                        "unit_amount": 800,
                        "recurring": {"interval": "month"},
                    },
                }
            ],
            "proration_behavior": "none",
        },
    )
    api_call(
        emulator, "POST", f"/v1/subscriptions/{subscription['id']}", {"cancel_at_period_end": True}
    )
    api_call(
        emulator,
        "DELETE",
        f"/v1/subscriptions/{subscription['id']}",
        {"cancellation_details": {"feedback": "too_expensive"}},
    )


def _failed_renewals(emulator: Emulator) -> None:
    subscription = subscription_paid(emulator)
    for _ in range(invoices.MAX_ATTEMPTS):
        invoices.subscription_renew(emulator, subscription_id=subscription["id"], fail=True)
    assert emulator.get(subscription["id"])["status"] == "canceled"
    recovered = subscription_paid(emulator, number=cards.SUCCESS)
    invoices.subscription_renew(emulator, subscription_id=recovered["id"], fail=True)
    invoices.subscription_renew(emulator, subscription_id=recovered["id"])


def _refunds(emulator: Emulator) -> None:
    charge = one_off_paid(emulator)
    api_call(
        emulator, "POST", "/v1/refunds", {"payment_intent": charge["payment_intent"], "amount": 300}
    )
    refunds.refund_create(emulator, charge_id=charge["id"], reason="requested_by_customer")
    session = checkout_session_new(emulator)
    checkout.session_pay(emulator, session_id=session["id"], number=cards.REFUND_FAILS)
    intent = emulator.get(emulator.get(session["id"])["payment_intent"])
    refund = refunds.refund_create(emulator, charge_id=intent["latest_charge"])
    for refund_id in refunds.refunds_due_to_fail(emulator):
        refunds.refund_fail(emulator, refund_id=refund_id)
    assert emulator.get(refund["id"])["status"] == "failed"


def _sepa(emulator: Emulator) -> None:
    for fail in (False, True):
        session = checkout_session_new(emulator)
        number = cards.SEPA_FAILS if fail else cards.SEPA_SUCCESS
        outcome = checkout.session_pay(emulator, session_id=session["id"], number=number)
        assert not outcome.paid and not outcome.error
        checkout.sepa_settle(emulator, session_id=session["id"], fail=fail)
    charge = one_off_paid(emulator)
    assert charge["status"] == "succeeded"
    session = checkout_session_new(emulator)
    checkout.session_pay(emulator, session_id=session["id"], number=cards.SEPA_SUCCESS)
    checkout.sepa_settle(emulator, session_id=session["id"], fail=False)
    intent = emulator.get(emulator.get(session["id"])["payment_intent"])
    refund = refunds.refund_create(emulator, charge_id=intent["latest_charge"])
    refunds.refund_settle(emulator, refund_id=refund["id"])
    monthly = checkout_session_new(emulator, mode="subscription", amount=500)
    checkout.session_pay(emulator, session_id=monthly["id"], number=cards.SEPA_SUCCESS)
    checkout.sepa_settle(emulator, session_id=monthly["id"], fail=False)


def _expire(emulator: Emulator) -> None:
    session = checkout_session_new(emulator)
    api_call(emulator, "POST", f"/v1/checkout/sessions/{session['id']}/expire")


def _disputes(emulator: Emulator) -> None:
    lost = one_off_paid(emulator)
    disputes.dispute_open(emulator, charge_id=lost["id"])
    lost_dispute = emulator.find("dispute", charge=lost["id"])[0]
    disputes.dispute_close(emulator, dispute_id=lost_dispute["id"], won=False)
    won = one_off_paid(emulator)
    disputes.dispute_open(emulator, charge_id=won["id"], reason="product_not_received")
    won_dispute = emulator.find("dispute", charge=won["id"])[0]
    disputes.dispute_evidence_submit(emulator, dispute_id=won_dispute["id"])
    disputes.dispute_close(emulator, dispute_id=won_dispute["id"], won=True)
    for number in (cards.DISPUTED_INQUIRY, cards.DISPUTED_FRAUD):
        session = checkout_session_new(emulator)
        checkout.session_pay(emulator, session_id=session["id"], number=number)
    inquiry = next(d for d in emulator.find("dispute") if d["status"].startswith("warning"))
    disputes.dispute_evidence_submit(emulator, dispute_id=inquiry["id"])
    disputes.dispute_close(emulator, dispute_id=inquiry["id"], won=True)
    blocked = one_off_paid(emulator)
    disputes.dispute_open(emulator, charge_id=blocked["id"], prevented=True)
    escalated = one_off_paid(emulator)
    disputes.dispute_open(emulator, charge_id=escalated["id"], inquiry=True)
    disputes.dispute_escalate(
        emulator, dispute_id=emulator.find("dispute", charge=escalated["id"])[0]["id"]
    )


def payout_with_everything(emulator: Emulator) -> Obj:
    """Return a paid, reconciled payout carrying charges, a refund, a Billing fee and a lost
    dispute (its own transaction too)."""
    charges = [one_off_paid(emulator, amount=amount) for amount in (1000, 2500, 500)]
    refunds.refund_create(emulator, charge_id=charges[0]["id"], amount=400)
    disputes.dispute_open(emulator, charge_id=charges[2]["id"])
    payouts.billing_fee_charge(emulator, amount=125, period="(2026-11-01 - 2026-11-30)")
    emulator.advance(days=2)
    payouts.payout_run(emulator)
    payout = emulator.find("payout")[-1]
    payouts.payout_paid(emulator, payout_id=payout["id"])
    return emulator.get(payout["id"])


def _payouts(emulator: Emulator) -> None:
    payout = payout_with_everything(emulator)
    listed = api_call(
        emulator, "GET", "/v1/balance_transactions", {"payout": payout["id"], "limit": 100}
    )
    assert sum(t["net"] for t in listed["data"] if t["type"] != "payout") == payout["amount"]
    assert payouts.payout_run(emulator) == []  # nothing left to pay out
    payouts.fx_fee_charge(emulator, amount=12)
    payouts.payout_fail(emulator, payout_id=payout["id"])
    payouts.payout_run(emulator)  # the returned money goes out again
    one_off_paid(emulator, amount=5000)
    emulator.advance(days=2)
    manual = payouts.payout_manual(emulator, amount=3000)
    payouts.payout_paid(emulator, payout_id=manual[0]["data"]["object"]["id"])


def _another_currency(emulator: Emulator) -> None:
    """A EUR charge on an account that settles in GBP only: converted, with exchange_rate."""
    emulator.default_currency = "gbp"
    emulator.settlement_currencies = {"gbp"}
    charge = one_off_paid(emulator, amount=1000, currency="eur")
    txn = emulator.get(charge["balance_transaction"])
    assert txn["currency"] == "gbp" and txn["exchange_rate"] is not None
    refunds.refund_create(emulator, charge_id=charge["id"], amount=300)
    emulator.advance(days=2)
    payouts.payout_run(emulator, currency="gbp")


def _api_setup_and_reads(emulator: Emulator) -> None:
    """The calls around the flows: set-up (webhook endpoint, portal), catalogue, reads."""
    api_call(emulator, "GET", "/v1/account")
    endpoint = api_call(
        emulator,
        "POST",
        "/v1/webhook_endpoints",
        {"url": "https://news.example.com/stripe/webhook/", "enabled_events": ["charge.refunded"]},
    )
    api_call(emulator, "POST", f"/v1/webhook_endpoints/{endpoint['id']}", {"enabled_events": ["*"]})
    configuration = api_call(
        emulator,
        "POST",
        "/v1/billing_portal/configurations",
        {"features": {"subscription_cancel": {"enabled": True, "mode": "immediately"}}},
    )
    api_call(
        emulator,
        "POST",
        f"/v1/billing_portal/configurations/{configuration['id']}",
        {"default_return_url": "https://news.example.com/account"},
    )
    customer = api_call(emulator, "POST", "/v1/customers", {"email": "reader@example.org"})
    api_call(emulator, "POST", f"/v1/customers/{customer['id']}", {"name": "Ada Reader"})
    api_call(emulator, "GET", "/v1/customers", {"email": "reader@example.org"})
    api_call(
        emulator,
        "POST",
        "/v1/billing_portal/sessions",
        {"customer": customer["id"], "return_url": "https://news.example.com/account"},
    )
    product = api_call(emulator, "POST", "/v1/products", {"name": "Monthly contribution"})
    api_call(emulator, "POST", f"/v1/products/{product['id']}", {"metadata": {"campaign": "1"}})
    api_call(
        emulator,
        "POST",
        "/v1/prices",
        {
            "product": product["id"],
            "currency": "eur",
            "unit_amount": 500,
            "recurring": {"interval": "month"},
        },
    )
    subscription = subscription_paid(emulator)
    invoice = api_call(
        emulator, "GET", f"/v1/invoices/{subscription['latest_invoice']}", {"expand": ["payments"]}
    )
    assert invoice["payments"]["data"]
    session = checkout_session_new(emulator)
    api_call(emulator, "GET", f"/v1/checkout/sessions/{session['id']}", {"expand": ["line_items"]})
    first = api_call(emulator, "GET", "/v1/events", {"limit": 2})
    api_call(emulator, "GET", "/v1/events", {"limit": 2, "starting_after": first["data"][-1]["id"]})
    api_call(emulator, "GET", "/v1/balance")
    spare = api_call(
        emulator,
        "POST",
        "/v1/webhook_endpoints",
        {"url": "https://old.example.com/hook", "enabled_events": ["*"]},
    )
    api_call(emulator, "DELETE", f"/v1/webhook_endpoints/{spare['id']}")


SCENARIOS: dict[str, Callable[[Emulator], None]] = {
    "one-off card (declined, 3-D Secure, paid)": _one_off,
    "one-off card, balance transaction later": _late_balance,
    "one-off card in the reader's own currency (Adaptive Pricing)": _adaptive_pricing,
    "subscription checkout, renewal, amount change, cancellation": _subscription_and_renewals,
    "failed renewals, retries, past due, canceled; recovery": _failed_renewals,
    "refund partial, full, and one that fails later": _refunds,
    "SEPA Direct Debit pending, then succeeded or failed; SEPA refund": _sepa,
    "checkout session expired": _expire,
    "API set-up and reads": _api_setup_and_reads,
    "dispute inquiry, lost, won, escalated, prevented; disputed test cards": _disputes,
    "payout with charges, refund, fees and dispute; reconciled; failed; manual": _payouts,
    "charge settled in another currency": _another_currency,
}
