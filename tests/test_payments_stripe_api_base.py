"""`STRIPE_API_BASE` sends the service's Stripe calls to any Stripe-compatible server: here the
project's emulator, run as the HTTP server an operator would start."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from payments.gateway import CheckoutRequest
from payments.stripe_gateway import StripeGateway
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
