"""The one Stripe module: the exact requests the stripe library sends for each call.

Stripe's HTTP layer is the project's Stripe emulator in this process: it records each encoded
request and answers as Stripe would; everything above it (parameter encoding, API version,
idempotency headers, response parsing) is the real library.
"""

import socket

import pytest

from payments.gateway import CheckoutRequest, GatewayError
from payments.stripe_gateway import API_VERSION, StripeGateway
from payments.stripe_http import KeptAliveHttpClient, stripe_http_client
from stripe_emulator import Emulator, EmulatorHttpClient
from stripe_emulator.api import api_call
from stripe_emulator.scenarios import one_off_paid, subscription_paid
from stripe_emulator.server import EmulatorServer
from stripe_emulator.wsgi import wsgi_app


@pytest.fixture
def emulator():
    return Emulator()


@pytest.fixture
def fake(emulator):
    """Stripe's HTTP layer: the emulator, recording every request (`fake.requests`)."""
    return EmulatorHttpClient(emulator)


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


def test_pinned_api_version_is_the_one_stripe_16_speaks():
    import stripe

    assert API_VERSION == "2026-10-28.endive" == stripe.api_version


def test_one_off_embedded_checkout_sends_exactly_these_parameters(gateway, fake, emulator):
    session = gateway.checkout_session_create(request=checkout_request())

    request = fake.requests[0]
    assert (request["method"], request["path"]) == ("POST", "/v1/checkout/sessions")
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
    stored = emulator.get(session.id)
    assert session.id.startswith("cs_test_")
    assert session.client_secret == stored["client_secret"] and session.client_secret
    assert (session.url, stored["ui_mode"], stored["amount_total"]) == (None, "embedded_page", 1056)


def test_monthly_hosted_checkout_is_a_subscription_with_price_data(gateway, fake, emulator):
    customer = api_call(emulator, "POST", "/v1/customers", {"email": "reader@example.org"})
    fake.requests.clear()

    session = gateway.checkout_session_create(
        request=checkout_request(
            frequency="monthly",
            ui_mode="hosted_page",
            customer_id=customer["id"],
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
        "customer": customer["id"],
        "mode": "subscription",
        "subscription_data[metadata][contribution_id]": "42",
        "success_url": "https://support.example.com/support/thanks/?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://support.example.com/support/appeal/",
    }
    assert session.url.startswith("https://checkout.stripe.com/")
    assert fake.requests[0]["headers"]["Idempotency-Key"] == "contribution-42-hosted_page"


def test_annual_checkout_recurs_yearly(gateway, fake, emulator):
    session = gateway.checkout_session_create(request=checkout_request(frequency="annual"))

    assert fake.requests[0]["params"]["line_items[0][price_data][recurring][interval]"] == "year"
    price = emulator.get(session.id)["_line_items"][0]["price"]
    assert price["recurring"]["interval"] == "year"


def test_refund_sends_the_payment_intent_amount_reason_and_our_idempotency_key(
    gateway, fake, emulator
):
    intent_id = one_off_paid(emulator)["payment_intent"]

    refund = gateway.refund_create(
        payment_intent_id=intent_id,
        amount_minor=400,
        reason="duplicate",
        idempotency_key="payment-7-refund-0-400",
    )

    request = fake.requests[0]
    assert (request["method"], request["path"]) == ("POST", "/v1/refunds")
    assert request["params"] == {
        "payment_intent": intent_id,
        "reason": "duplicate",
        "amount": "400",
    }
    assert request["headers"]["Idempotency-Key"] == "payment-7-refund-0-400"
    assert (refund.id, refund.amount_minor, refund.currency, refund.status) == (
        emulator.find("refund")[0]["id"],
        400,
        "EUR",
        "succeeded",
    )


def test_billing_portal_session_for_the_customer(gateway, fake, emulator):
    api_call(emulator, "POST", "/v1/billing_portal/configurations", {})
    customer = api_call(emulator, "POST", "/v1/customers", {"email": "reader@example.org"})

    url = gateway.billing_portal_url(
        customer_id=customer["id"], return_url="https://support.example.com/support/account/"
    )

    assert fake.requests[0]["params"] == {
        "customer": customer["id"],
        "return_url": "https://support.example.com/support/account/",
    }
    assert url == emulator.find("billing_portal.session")[0]["url"]
    assert url.startswith("https://billing.stripe.com/p/session/")


def test_subscription_amount_update_replaces_the_item_price_without_proration(
    gateway, fake, emulator
):
    subscription = subscription_paid(emulator)
    item = subscription["items"]["data"][0]

    state = gateway.subscription_amount_update(
        subscription_id=subscription["id"],
        amount_minor=1500,
        idempotency_key="subscription-3-amount",
    )

    read, update = fake.requests
    assert (read["method"], read["path"]) == ("GET", f"/v1/subscriptions/{subscription['id']}")
    assert (update["method"], update["path"]) == ("POST", f"/v1/subscriptions/{subscription['id']}")
    assert update["params"] == {
        "items[0][id]": item["id"],
        "items[0][price_data][currency]": "eur",
        "items[0][price_data][product]": item["price"]["product"],
        "items[0][price_data][unit_amount]": "1500",
        "items[0][price_data][recurring][interval]": "month",
        "proration_behavior": "none",
    }
    assert update["headers"]["Idempotency-Key"] == "subscription-3-amount"
    assert state.id == subscription["id"]
    assert (state.amount_minor, state.currency) == (1500, "EUR")


def test_subscription_cancel_keeps_the_readers_words(gateway, fake, emulator):
    subscription = subscription_paid(emulator)

    state = gateway.subscription_cancel(
        subscription_id=subscription["id"],
        comment="Moving abroad",
        idempotency_key="subscription-3-cancel",
    )

    request = fake.requests[0]
    assert (request["method"], request["path"]) == (
        "DELETE",
        f"/v1/subscriptions/{subscription['id']}",
    )
    assert request["query"] == {"cancellation_details[comment]": "Moving abroad"}
    assert request["headers"]["Idempotency-Key"] == "subscription-3-cancel"
    assert state.status == "canceled"
    assert emulator.get(subscription["id"])["cancellation_details"]["comment"] == "Moving abroad"


def test_payment_intent_details_read_fees_from_the_balance_transaction(gateway, fake, emulator):
    charge = one_off_paid(emulator, amount=1099, currency="eur")

    details = gateway.payment_intent_details(payment_intent_id=charge["payment_intent"])

    # Stripe's card fee here: 1.5% + €0.25 = 16 + 25 cents.
    assert (details.status, details.fee_minor, details.net_minor) == ("succeeded", 41, 1058)
    assert details.charge_id == charge["id"]
    assert details.balance_transaction_id == charge["balance_transaction"]
    assert details.payment_method_type == "card"
    assert details.currency == "EUR"
    assert fake.requests[0]["query"] == {"expand[0]": "latest_charge.balance_transaction"}


def test_stripe_errors_become_gateway_errors(gateway, fake):
    with pytest.raises(GatewayError) as raised:
        gateway.payment_intent_details(payment_intent_id="pi_unknown")

    assert raised.value.transient is False


def test_reads_go_through_the_library_as_plain_data_with_the_pinned_version(
    gateway, fake, emulator
):
    charge = one_off_paid(emulator, amount=2500, currency="eur")
    subscription = subscription_paid(emulator)

    details = gateway.payment_intent_details(payment_intent_id=charge["payment_intent"])
    state = gateway.subscription_retrieve(subscription_id=subscription["id"])

    assert [(r["method"], r["path"]) for r in fake.requests] == [
        ("GET", f"/v1/payment_intents/{charge['payment_intent']}"),
        ("GET", f"/v1/subscriptions/{subscription['id']}"),
    ]
    assert all(r["headers"]["Stripe-Version"] == API_VERSION for r in fake.requests)
    intent = emulator.get(charge["payment_intent"])
    assert (details.amount_minor, details.customer_id) == (2500, intent["customer"])
    assert details.paid_at is not None and details.settlement_currency == "EUR"
    assert (state.id, state.status) == (subscription["id"], "active")


def test_an_id_is_quoted_into_the_path(gateway, fake):
    with pytest.raises(GatewayError):
        gateway.refund_retrieve(refund_id="re_1/../../v1/balance")

    assert fake.requests[0]["path"] == "/v1/refunds/re_1%2F..%2F..%2Fv1%2Fbalance"


def test_the_proxy_for_stripe_is_read_once_from_the_environment(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example.org:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    stripe_http_client.cache_clear()
    behind = stripe_http_client("https://api.stripe.com")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    bypassed = stripe_http_client("http://127.0.0.1:12111")
    stripe_http_client.cache_clear()

    assert behind._proxy == {"https": "http://proxy.example.org:3128"}
    assert isinstance(bypassed, KeptAliveHttpClient)  # no proxy: straight to the server


class _CountingServer(EmulatorServer):
    """The emulator over HTTP, counting the connections it accepts."""

    accepted = 0

    def verify_request(self, request, client_address):
        self.accepted += 1
        return True


def test_reads_over_http_share_one_kept_alive_connection(emulator):
    charge = one_off_paid(emulator, amount=2500)
    server = _CountingServer(wsgi_app(emulator)).serve_in_background()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        gateway = StripeGateway(api_key="sk_test_http", api_base=base, rate_limited=False)
        for _ in range(3):
            details = gateway.payment_intent_details(payment_intent_id=charge["payment_intent"])
            assert (details.amount_minor, details.status) == (2500, "succeeded")
    finally:
        server.shutdown()
        server.server_close()
    assert server.accepted == 1


def test_stripe_out_of_reach_is_a_transient_gateway_error():
    """After the library's own retries (about a second and a half of back-off)."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    gateway = StripeGateway(
        api_key="sk_test_unreachable", api_base=f"http://127.0.0.1:{port}", rate_limited=False
    )

    with pytest.raises(GatewayError) as raised:
        gateway.payment_intent_details(payment_intent_id="pi_anything")
    assert raised.value.transient
