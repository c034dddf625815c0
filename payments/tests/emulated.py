"""Tests against the Stripe emulator: the service talks to it through the real stripe library,
readers pay with Stripe's test cards, and Stripe's events reach the webhook intake signed, in the
order (and with the duplicates) a test asks for, and are applied as a worker would.

Use the `emulated` fixture (import it into the test module, like the other fixtures). The
emulator answers every Stripe call the service makes, and `emulated.http.requests` is its record
of what was sent. Events come from the emulator's flows (`stripe_emulator.flows`); a test that
needs an event Stripe never sends (a hostile body, a wrong signature, another API version) takes
one from a flow, changes the one field it is about, and posts it with `signed_post`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from payments.models import Contribution, WebhookEvent
from payments.stripe_gateway import StripeGateway
from payments.tests.fixtures import events_apply
from payments.webhooks import webhook_event_process
from stripe_emulator import (
    Emulator,
    EmulatorHttpClient,
    deliveries,
    event_payload,
    signature_header,
)
from stripe_emulator.flows import cards, checkout
from stripe_emulator.flows.checkout import Outcome
from stripe_emulator.scenarios import checkout_session_new

# The webhook signing secret of the test settings (the endpoint Stripe would sign for).
WEBHOOK_SECRET = "whsec_test_" + "0" * 32


def signed_post(
    client: Any,
    event: dict[str, Any],
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
) -> Any:
    """Post one event to the webhook intake, signed as Stripe signs it, and apply nothing.

    The only place tests sign a body themselves: intake tests sign with another secret or at
    another time, or post an emulator event with one field changed.
    """
    payload = event_payload(event)
    return client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature_header(payload=payload, secret=secret, timestamp=timestamp),
    )


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

    def apply(self, event: dict[str, Any]) -> WebhookEvent:
        """Post one event and apply it (whatever its outcome); return it as stored."""
        response = signed_post(self.client, event)
        assert response.status_code == 200, response.content
        stored = WebhookEvent.objects.get(stripe_event_id=event["id"])
        webhook_event_process(event_pk=stored.pk)
        stored.refresh_from_db()
        return stored

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

    def checkout_paid(
        self,
        contribution: Contribution,
        *,
        number: str = cards.SUCCESS,
        settle: bool = True,
        amount: int | None = None,
        currency: str | None = None,
    ) -> Outcome:
        """Pay `contribution` (made in the database, not on the support page) through a
        Checkout Session opened for it as the service opens one (in its amount and currency
        unless told otherwise); deliver nothing."""
        session = checkout_session_new(
            self.emulator,
            mode="payment" if contribution.frequency == "one_off" else "subscription",
            amount=amount if amount is not None else contribution.charge_minor,
            currency=currency or contribution.currency.lower(),
            email=contribution.supporter.email,
            contribution_id=contribution.pk,
        )
        return checkout.session_pay(
            self.emulator, session_id=session["id"], number=number, settle=settle
        )

    def event(self, events: list[dict[str, Any]], event_type: str) -> dict[str, Any]:
        """Return the last event of `event_type` among `events` (Stripe's latest word on it)."""
        found = [e for e in events if e["type"] == event_type]
        assert found, f"no {event_type} among {[e['type'] for e in events]}"
        return found[-1]


def emulator_install(settings: Any, monkeypatch: pytest.MonkeyPatch) -> EmulatorHttpClient:
    """Stripe mode with a test key; Stripe's API answered by a new emulator in this process."""
    settings.PAYMENTS_DEMO = False
    settings.STRIPE_SECRET_KEY = "sk_test_emulated"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_LIVEMODE = False
    http = EmulatorHttpClient(Emulator(webhook_secret=WEBHOOK_SECRET))
    monkeypatch.setattr(StripeGateway, "http_client", http)
    return http


@pytest.fixture(name="emulated")
def emulated_fixture(
    client: Any, campaign: Any, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> Emulated:
    """Stripe mode with a test key; Stripe's API answered by an emulator in this process."""
    http = emulator_install(settings, monkeypatch)
    return Emulated(emulator=http.emulator, http=http, client=client)
