"""Fixtures for the payments tests (imported by the test modules that use them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from campaigns.models import Campaign
from payments.models import Contribution, Subscription, Supporter
from payments.stripe_gateway import StripeGateway
from payments.tests.stripe_fakes import WEBHOOK_SECRET, FakeStripeHttp, stripe_object

AMOUNTS = {
    "one_off": {"presets": [500, 1000, 2500], "default": 1000},
    "monthly": {"presets": [300, 500, 1000], "default": 500},
}


@pytest.fixture(name="campaign")
def campaign_fixture(db: None) -> Campaign:
    return Campaign.objects.create(
        name="Keep local news open",
        slug="keep-local-news-open",
        status=Campaign.Status.LIVE,
        currency="EUR",
        amounts=AMOUNTS,
    )


@pytest.fixture(name="fake_stripe")
def fake_stripe_fixture(settings: Any, monkeypatch: pytest.MonkeyPatch) -> FakeStripeHttp:
    """Stripe mode with a test key, and Stripe's network replaced by a recording fake."""
    settings.PAYMENTS_DEMO = False
    settings.STRIPE_SECRET_KEY = "sk_test_fake"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_LIVEMODE = False
    fake = FakeStripeHttp()
    # The supporter's customer and the campaign's product, made before the first checkout.
    fake.created["/v1/customers"] = stripe_object("customer")
    fake.created["/v1/products"] = stripe_object("product")
    monkeypatch.setattr(StripeGateway, "http_client", fake)
    return fake


def contribution_make(
    campaign: Campaign,
    *,
    frequency: str = "one_off",
    amount_minor: int = 1000,
    email: str = "reader@example.org",
) -> Contribution:
    supporter, _ = Supporter.objects.get_or_create(email=email, defaults={"name": "Ada Reader"})
    return Contribution.objects.create(
        supporter=supporter,
        frequency=frequency,
        amount_minor=amount_minor,
        currency="EUR",
        campaign=campaign,
        variant_key="b",
        placement="epic",
        article_url="https://news.example.com/story",
    )


def intent_add(
    fake: FakeStripeHttp,
    *,
    amount: int = 1000,
    status: str = "succeeded",
    fee: int = 40,
    method: str = "card",
    intent_id: str | None = None,
) -> dict[str, Any]:
    """Register a payment intent with its expanded latest charge and balance transaction."""
    charge = stripe_object("charge", amount=amount, currency="eur", amount_refunded=0)
    charge["id"] = "ch_" + (intent_id or "x")[3:]
    intent = stripe_object(
        "payment_intent",
        id=intent_id or "pi_test_" + str(len(fake.objects)),
        amount=amount,
        currency="eur",
        status=status,
        customer="cus_QXg1o8vcGmoR32",
    )
    charge["id"] = "ch_for_" + intent["id"]
    charge["payment_intent"] = intent["id"]
    charge["payment_method_details"] = {"type": method}
    if status == "succeeded":
        balance = stripe_object(
            "balance_transaction", amount=amount, fee=fee, net=amount - fee, currency="eur"
        )
        balance["id"] = "txn_for_" + intent["id"]
        balance["source"] = charge["id"]
        charge["balance_transaction"] = balance
    else:
        charge["balance_transaction"] = None
        charge["status"] = "pending"
        charge["paid"] = False
    intent["latest_charge"] = charge
    return fake.add(intent)


def subscription_add(
    fake: FakeStripeHttp,
    contribution: Contribution,
    *,
    status: str = "active",
    amount: int = 500,
    sub_id: str = "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw",
) -> dict[str, Any]:
    subscription = stripe_object(
        "subscription",
        id=sub_id,
        status=status,
        currency="eur",
        metadata={"contribution_id": str(contribution.pk)},
        cancel_at_period_end=False,
        canceled_at=None,
        ended_at=None,
    )
    subscription["items"]["data"][0]["price"]["unit_amount"] = amount
    subscription["items"]["data"][0]["price"]["currency"] = "eur"
    return fake.add(subscription)


def mirrored_subscription(contribution: Contribution, sub_id: str) -> Subscription:
    return Subscription.objects.create(
        contribution=contribution,
        stripe_subscription_id=sub_id,
        status="active",
        amount_minor=500,
        currency="EUR",
    )


def demo_give(
    client: Any, *, frequency: str, amount: str, email: str = "reader@example.org"
) -> Contribution:
    """Give through the support page and the demo checkout with the success card.

    The demo provider's events are delivered to the intake on commit and left to be applied
    (`events_apply`), as a worker would.
    """
    client.post(
        "/support/keep-local-news-open/",
        {"frequency": frequency, "amount": amount, "email": email, "website": ""},
    )
    contribution = Contribution.objects.get(supporter__email=email)
    client.post(
        f"/support/demo-checkout/{contribution.stripe_checkout_session_id}/",
        {"card_number": "4242424242424242"},
    )
    return contribution


def events_apply() -> list[str]:
    """Apply the webhook events still waiting, oldest first, as a worker would; return types."""
    from payments.models import WebhookEvent
    from payments.webhooks import webhook_event_process

    applied = []
    for event in WebhookEvent.objects.filter(status="received").order_by("pk"):
        webhook_event_process(event_pk=event.pk)
        applied.append(event.type)
    return applied


def receipts_on_disk(email: str) -> list[str]:
    """The receipts to `email` in the mail folder: one file per mail connection, which may
    hold several messages (Django's file backend ends each with a line of 79 dashes)."""
    folder = Path(settings.EMAIL_FILE_PATH)
    found = []
    for path in sorted(folder.glob("*.log")) if folder.exists() else []:
        for text in path.read_text(errors="replace").split("-" * 79):
            if f"To: {email}" in text and "your receipt" in text:
                found.append(text)
    return found
