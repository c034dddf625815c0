"""`STRIPE_API_BASE` sends the service's Stripe calls to any Stripe-compatible server: here the
project's emulator, run as the HTTP server an operator would start."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from payments.gateway import CheckoutRequest
from payments.models import Payment, WebhookEvent
from payments.stripe_gateway import StripeGateway
from payments.tests.emulated import WEBHOOK_SECRET
from payments.tests.fixtures import campaign_fixture, contribution_make, events_apply  # noqa: F401
from tests.conftest import wait_for
from tests.test_payments_settings import PRODUCTION, settings_value

PORT = 20117  # this suite's range


def test_the_default_is_stripes_own_api() -> None:
    env = {**PRODUCTION, "STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_x"}
    result = settings_value("STRIPE_API_BASE", env=env)
    assert result.stdout.strip() == "https://api.stripe.com", result.stderr
    result = settings_value(
        "STRIPE_API_BASE", env={**env, "STRIPE_API_BASE": "http://127.0.0.1:12111/"}
    )
    assert result.stdout.strip() == "http://127.0.0.1:12111", result.stderr


@pytest.fixture(name="emulator_server")
def emulator_server_fixture() -> Iterator[str]:
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [sys.executable, "-m", "stripe_emulator", "--port", str(PORT)],
        cwd=settings.BASE_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{PORT}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/v1/balance", timeout=1).close()  # noqa: S310
            except urllib.error.HTTPError:
                break  # it answers (401 without a key): up
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_gateway_talks_to_the_server_named_by_stripe_api_base(
    emulator_server: str, settings: Any
) -> None:
    settings.STRIPE_SECRET_KEY = "sk_test_offline"
    settings.STRIPE_API_BASE = emulator_server
    gateway = StripeGateway.from_settings()
    session = gateway.checkout_session_create(
        request=CheckoutRequest(
            contribution_id=7,
            frequency="monthly",
            amount_minor=500,
            currency="EUR",
            customer_email="reader@example.org",
            customer_id=None,
            product_name="Monthly contribution",
            ui_mode="embedded_page",
            return_url="https://support.example.com/thanks/?session={CHECKOUT_SESSION_ID}",
            cancel_url="",
            idempotency_key="installation-test-contribution-7-embedded_page",
        )
    )
    assert session.id.startswith("cs_test_") and session.client_secret
    found = gateway.client.v1.checkout.sessions.retrieve(session.id)
    assert found.metadata is not None and found.metadata["contribution_id"] == "7"
    assert found.mode == "subscription"


@pytest.fixture(name="emulator_server_with_webhooks")
def emulator_server_with_webhooks_fixture(live_server: Any) -> Iterator[str]:
    port = PORT + 1
    process = subprocess.Popen(  # noqa: S603 - fixed arguments
        [
            sys.executable,
            "-m",
            "stripe_emulator",
            "--port",
            str(port),
            "--webhook-url",
            f"{live_server.url}/stripe/webhook/",
            "--webhook-secret",
            WEBHOOK_SECRET,
        ],
        cwd=settings.BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/_emulator/balance", timeout=1).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_the_service_and_the_emulator_server_talk_over_http_both_ways(
    emulator_server_with_webhooks: str, settings: Any, campaign: Any
) -> None:
    """The service calls the server's API; the reader pays on the server's hosted page; the
    server posts Stripe's signed events to the service's webhook endpoint; the worker applies."""
    settings.PAYMENTS_DEMO = False
    settings.STRIPE_SECRET_KEY = "sk_test_offline"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_LIVEMODE = False
    settings.STRIPE_API_BASE = emulator_server_with_webhooks
    contribution = contribution_make(campaign, amount_minor=1000)
    session = StripeGateway.from_settings().checkout_session_create(
        request=CheckoutRequest(
            contribution_id=contribution.pk,
            frequency="one_off",
            amount_minor=1000,
            currency="EUR",
            customer_email="reader@example.org",
            customer_id=None,
            product_name="Contribution",
            ui_mode="hosted_page",
            return_url="https://support.example.com/thanks/?session={CHECKOUT_SESSION_ID}",
            cancel_url="https://support.example.com/support/",
            idempotency_key=f"installation-test-contribution-{contribution.pk}-hosted_page",
        )
    )
    assert session.url == f"{emulator_server_with_webhooks}/pay/{session.id}"

    paid = urllib.request.Request(  # noqa: S310 - the server this test started
        session.url, data=b"number=4242424242424242", method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as redirected:  # 303, not followed for a POST
        urllib.request.build_opener(_NoRedirect()).open(paid, timeout=10)
    assert redirected.value.code == 303
    assert redirected.value.headers["Location"].endswith(f"?session={session.id}")

    assert wait_for(lambda: WebhookEvent.objects.filter(type="checkout.session.completed").exists())
    events_apply()
    payment = Payment.objects.get()
    assert (payment.gross_minor, payment.fee_minor, payment.status) == (1000, 40, "succeeded")
    balance = json.load(
        urllib.request.urlopen(f"{emulator_server_with_webhooks}/_emulator/balance", timeout=5)  # noqa: S310
    )
    assert balance["result"]["eur"] == {"available": 0, "pending": payment.net_minor}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
