"""The one Stripe module: the exact requests the stripe library sends for each call.

Stripe's HTTP layer is replaced by a fake that records the encoded request and answers with
Stripe's example objects; everything above it (parameter encoding, API version, idempotency
headers, response parsing) is the real library.
"""

import pytest

from payments.gateway import CheckoutRequest, GatewayError
from payments.stripe_gateway import API_VERSION, StripeGateway
from payments.tests.stripe_fakes import FakeStripeHttp, stripe_object


@pytest.fixture
def fake():
    return FakeStripeHttp()


@pytest.fixture
def gateway(fake):
    return StripeGateway(api_key="sk_test_fake", http_client=fake)


def checkout_request(**overrides):
    values: dict = {
        "contribution_id": 42,
        "frequency": "one_off",
        "amount_minor": 1056,
        "currency": "EUR",
        "customer_email": "reader@example.org",
        "customer_id": None,
        "product_name": "Contribution to The Daily Example",
        "ui_mode": "embedded_page",
        "return_url": "https://support.example.com/support/thanks/?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://support.example.com/support/appeal/",
        "idempotency_key": "contribution-42-embedded_page",
    }
    values.update(overrides)
    return CheckoutRequest(**values)


def session_answer(fake, **fields):
    fake.created["/v1/checkout/sessions"] = stripe_object("checkout.session", **fields)


def test_pinned_api_version_is_the_one_stripe_16_speaks():
    import stripe

    assert API_VERSION == "2026-10-28.endive" == stripe.api_version


def test_one_off_embedded_checkout_sends_exactly_these_parameters(gateway, fake):
    session_answer(fake, client_secret="cs_secret_abc", ui_mode="embedded_page", url=None)

    session = gateway.checkout_session_create(request=checkout_request())

    request = fake.requests[0]
    assert (request["method"], request["path"]) == ("post", "/v1/checkout/sessions")
    assert request["params"] == {
        "ui_mode": "embedded_page",
        "client_reference_id": "42",
        "metadata[contribution_id]": "42",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "eur",
        "line_items[0][price_data][unit_amount]": "1056",
        "line_items[0][price_data][product_data][name]": "Contribution to The Daily Example",
        "adaptive_pricing[enabled]": "false",
        "customer_email": "reader@example.org",
        "customer_creation": "always",
        "mode": "payment",
        "submit_type": "donate",
        "payment_intent_data[metadata][contribution_id]": "42",
        "return_url": "https://support.example.com/support/thanks/?session_id={CHECKOUT_SESSION_ID}",
    }
    assert request["headers"]["Idempotency-Key"] == "contribution-42-embedded_page"
    assert request["headers"]["Stripe-Version"] == "2026-10-28.endive"
    assert session.client_secret == "cs_secret_abc"
    assert session.id == "cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY"


def test_monthly_hosted_checkout_is_a_subscription_with_price_data(gateway, fake):
    session_answer(fake, mode="subscription")

    session = gateway.checkout_session_create(
        request=checkout_request(
            frequency="monthly",
            ui_mode="hosted_page",
            customer_id="cus_known",
            amount_minor=500,
            idempotency_key="contribution-42-hosted_page",
        )
    )

    assert fake.requests[0]["params"] == {
        "ui_mode": "hosted_page",
        "client_reference_id": "42",
        "metadata[contribution_id]": "42",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "eur",
        "line_items[0][price_data][unit_amount]": "500",
        "line_items[0][price_data][product_data][name]": "Contribution to The Daily Example",
        "line_items[0][price_data][recurring][interval]": "month",
        "adaptive_pricing[enabled]": "false",
        "customer": "cus_known",
        "mode": "subscription",
        "subscription_data[metadata][contribution_id]": "42",
        "success_url": "https://support.example.com/support/thanks/?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://support.example.com/support/appeal/",
    }
    assert session.url.startswith("https://checkout.stripe.com/")
    assert fake.requests[0]["headers"]["Idempotency-Key"] == "contribution-42-hosted_page"


def test_annual_checkout_recurs_yearly(gateway, fake):
    session_answer(fake)

    gateway.checkout_session_create(request=checkout_request(frequency="annual"))

    assert fake.requests[0]["params"]["line_items[0][price_data][recurring][interval]"] == "year"


def test_refund_sends_the_payment_intent_amount_reason_and_our_idempotency_key(gateway, fake):
    fake.created["/v1/refunds"] = stripe_object("refund", amount=400, currency="eur")

    refund = gateway.refund_create(
        payment_intent_id="pi_123",
        amount_minor=400,
        reason="duplicate",
        idempotency_key="payment-7-refund-0-400",
    )

    request = fake.requests[0]
    assert (request["method"], request["path"]) == ("post", "/v1/refunds")
    assert request["params"] == {
        "payment_intent": "pi_123",
        "reason": "duplicate",
        "amount": "400",
    }
    assert request["headers"]["Idempotency-Key"] == "payment-7-refund-0-400"
    assert (refund.id, refund.amount_minor, refund.currency, refund.status) == (
        "re_1Pgc72B7WZ01zgkWqPvrRrPE",
        400,
        "EUR",
        "succeeded",
    )


def test_billing_portal_session_for_the_customer(gateway, fake):
    fake.created["/v1/billing_portal/sessions"] = stripe_object("billing_portal.session")

    url = gateway.billing_portal_url(
        customer_id="cus_QXg1o8vcGmoR32", return_url="https://support.example.com/support/account/"
    )

    assert fake.requests[0]["params"] == {
        "customer": "cus_QXg1o8vcGmoR32",
        "return_url": "https://support.example.com/support/account/",
    }
    assert url.endswith("/session/{SESSION_SECRET}")


def test_subscription_amount_update_replaces_the_item_price_without_proration(gateway, fake):
    subscription = fake.add(stripe_object("subscription"))

    state = gateway.subscription_amount_update(
        subscription_id=subscription["id"],
        amount_minor=1500,
        idempotency_key="subscription-3-amount",
    )

    read, update = fake.requests
    assert (read["method"], read["path"]) == ("get", f"/v1/subscriptions/{subscription['id']}")
    assert (update["method"], update["path"]) == ("post", f"/v1/subscriptions/{subscription['id']}")
    assert update["params"] == {
        "items[0][id]": "si_QXhVnC2h0Jczwc",
        "items[0][price_data][currency]": "usd",
        "items[0][price_data][product]": "prod_QXg1hqf4jFNsqG",
        "items[0][price_data][unit_amount]": "1500",
        "items[0][price_data][recurring][interval]": "month",
        "proration_behavior": "none",
    }
    assert update["headers"]["Idempotency-Key"] == "subscription-3-amount"
    assert state.id == subscription["id"]


def test_subscription_cancel_keeps_the_readers_words(gateway, fake):
    subscription = fake.add(stripe_object("subscription"))

    state = gateway.subscription_cancel(
        subscription_id=subscription["id"],
        comment="Moving abroad",
        idempotency_key="subscription-3-cancel",
    )

    request = fake.requests[0]
    assert (request["method"], request["path"]) == (
        "delete",
        f"/v1/subscriptions/{subscription['id']}",
    )
    assert request["query"] == {"cancellation_details[comment]": "Moving abroad"}
    assert request["headers"]["Idempotency-Key"] == "subscription-3-cancel"
    assert state.status == "canceled"


def test_payment_intent_details_read_fees_from_the_balance_transaction(gateway, fake):
    intent = stripe_object("payment_intent", status="succeeded")
    charge = stripe_object("charge")
    charge["balance_transaction"] = stripe_object("balance_transaction", fee=59, net=1040)
    intent["latest_charge"] = charge
    fake.add(intent)

    details = gateway.payment_intent_details(payment_intent_id=intent["id"])

    assert (details.status, details.fee_minor, details.net_minor) == ("succeeded", 59, 1040)
    assert details.charge_id == "ch_1PgafuB7WZ01zgkWXYmPNZs8"
    assert details.balance_transaction_id == "txn_1PgaxNB7WZ01zgkWEV3TLf40"
    assert details.payment_method_type == "card"
    assert details.currency == "USD"


def test_stripe_errors_become_gateway_errors(gateway, fake):
    with pytest.raises(GatewayError) as raised:
        gateway.payment_intent_details(payment_intent_id="pi_unknown")

    assert raised.value.transient is False
