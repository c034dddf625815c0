"""Fixtures for the payments tests (imported by the test modules that use them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from campaigns.models import Campaign
from payments.models import Contribution, Supporter

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
