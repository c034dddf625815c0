"""Tests against the Stripe emulator: the service talks to it through the real stripe library,
readers pay with Stripe's test cards, and Stripe's events reach the webhook intake signed, in the
order (and with the duplicates) a test asks for, and are applied as a worker would.

Use the `emulated` fixture (import it into the test module, like the other fixtures).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from payments.models import Contribution
from payments.stripe_gateway import StripeGateway
from payments.tests.fixtures import events_apply
from payments.tests.stripe_fakes import WEBHOOK_SECRET
from stripe_emulator import Emulator, EmulatorHttpClient, deliveries
from stripe_emulator.flows import cards, checkout


@dataclass
class Emulated:
    emulator: Emulator
    http: EmulatorHttpClient
    client: Any

    def deliver(self, events: list[dict[str, Any]], **order: Any) -> list[str]:
        """Post `events` to the webhook intake (see `stripe_emulator.deliveries` for `order`),
        then apply them as a worker would; return the types applied."""
        for item in deliveries(events, secret=WEBHOOK_SECRET, **order):
            response = self.client.post(
                "/stripe/webhook/",
                data=item.payload,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=item.signature,
            )
            assert response.status_code == 200, response.content
        return events_apply()

    def start(
        self, *, frequency: str = "one_off", amount: str = "1000", email: str = "ada@example.org"
    ) -> Contribution:
        """Start a contribution on the support page: the service opens its Checkout Session."""
        response = self.client.post(
            "/support/keep-local-news-open/",
            {"frequency": frequency, "amount": amount, "custom_amount": "", "email": email},
        )
        assert response.status_code == 200, response.content
        return Contribution.objects.filter(supporter__email=email).latest("pk")

    def pay(self, contribution: Contribution, *, number: str = cards.SUCCESS, **order: Any) -> Any:
        """Pay the contribution's session with a test card and deliver Stripe's events."""
        contribution.refresh_from_db()
        session_id = contribution.stripe_checkout_session_id
        assert session_id is not None, "the contribution has no Checkout Session"
        outcome = checkout.session_pay(self.emulator, session_id=session_id, number=number)
        self.deliver(outcome.events, **order)
        contribution.refresh_from_db()
        return outcome

    def give(self, **start: Any) -> Contribution:
        contribution = self.start(**start)
        self.pay(contribution)
        return contribution


@pytest.fixture(name="emulated")
def emulated_fixture(
    client: Any, campaign: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> Emulated:
    """Stripe mode with a test key; Stripe's API answered by an emulator in this process."""
    settings.PAYMENTS_DEMO = False
    settings.STRIPE_SECRET_KEY = "sk_test_emulated"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_LIVEMODE = False
    emulator = Emulator(webhook_secret=WEBHOOK_SECRET)
    http = EmulatorHttpClient(emulator)
    monkeypatch.setattr(StripeGateway, "http_client", http)
    return Emulated(emulator=emulator, http=http, client=client)
