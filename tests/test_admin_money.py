"""Editors and finance read money as money: every payments admin page shows amounts in major
units with their currency, never a "minor" field."""

import re

import pytest
from django.contrib.auth.models import User

from payments.models import Contribution, Payment, Subscription
from payments.tests.fixtures import (  # noqa: F401 - fixtures
    campaign_fixture,
    demo_give,
    events_apply,
)

pytestmark = pytest.mark.django_db

LEDGERS = ["supporter", "contribution", "subscription", "payment", "refund", "dispute", "payout"]


@pytest.fixture
def paid(client, campaign, django_capture_on_commit_callbacks) -> Payment:
    with django_capture_on_commit_callbacks(execute=True):
        demo_give(client, frequency="monthly", amount="500")
    events_apply()
    client.logout()
    return Payment.objects.get()


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_no_admin_page_of_the_ledger_shows_minor_units(client, paid):
    client.force_login(User.objects.create_superuser("boss", "boss@example.org", "x-long-pass"))
    pages = [f"/admin/payments/{name}/" for name in LEDGERS]
    pages += [
        f"/admin/payments/payment/{paid.pk}/change/",
        f"/admin/payments/contribution/{paid.contribution_id}/change/",
        f"/admin/payments/subscription/{Subscription.objects.get().pk}/change/",
        f"/admin/payments/supporter/{Contribution.objects.get().supporter_id}/change/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        text = visible_text(response.content.decode())
        found = re.search(r".{80}\bminor\b.{40}", text, re.IGNORECASE | re.DOTALL)
        assert not found, (url, found and found.group(0))

    payment_page = visible_text(client.get(pages[len(LEDGERS)]).content.decode())
    assert "€5.00" in payment_page
    assert re.search(r"Stripe fee|Fee", payment_page)
