"""Hostile input to ids and webhooks: a clear 4xx, never a 500 (issue 11, findings 7 and 9)."""

import time

import pytest
from django.urls import get_resolver

from payments.models import WebhookEvent
from payments.stripe_gateway import webhook_signature_header
from payments.tests.emulated import (  # noqa: F401 - fixture
    WEBHOOK_SECRET,
    emulated_fixture,
    signed_post,
)
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from stripe_emulator.scenarios import one_off_paid

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

NUL_URLS = [
    "/support/thanks/?session_id=cs_test_%00",
    "/support/demo-checkout/cs_demo_%00/",
    "/support/demo-checkout/cs_demo_%00/authenticate/",
    "/support/checkout/abc%00/hosted/",
    "/support/account/sign-in/abc%00/",
    "/surveys/entry/confirm/abc%00/",
    "/surveys/prize/claim/abc%00/",
    "/surveys/some%00survey/",
    "/surveys/some-survey/?draft=abc%00def",
    "/support/some%00campaign/",
]


@pytest.mark.parametrize("url", NUL_URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_nul_byte_in_an_id_is_a_client_error(client, url, method):
    response = getattr(client, method)(url)

    assert 400 <= response.status_code < 500, (url, response.status_code)


def test_every_url_parameter_is_checked_by_a_strict_converter():
    """`<str:...>` lets anything but a slash through to the database; ids use a converter that
    says what an id looks like, so a new pattern cannot forget it."""
    loose = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if getattr(pattern, "app_name", None) == "admin":
                continue  # Django's admin: staff only, and it parses its own ids
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
                continue
            for name, converter in pattern.pattern.converters.items():
                if type(converter).__name__ in {"StringConverter", "PathConverter"}:
                    loose.append(f"{prefix}{pattern.pattern} <{name}>")

    walk(get_resolver().url_patterns)
    assert loose == []


def some_event(emulated):
    """An event Stripe sent (a charge's balance transaction attached)."""
    one_off_paid(emulated.emulator)
    return emulated.emulator.events()[-1]


def test_a_deeply_nested_signed_body_is_refused_with_400(client, emulated):
    payload = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    signature = webhook_signature_header(payload=payload, secret=WEBHOOK_SECRET)

    response = client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=signature,
    )

    assert response.status_code == 400
    assert response.json()["error"] == "the body is not a Stripe event"
    assert not WebhookEvent.objects.exists()


def test_a_signature_from_an_hour_ahead_is_refused(client, emulated):
    an_hour_ahead = int(time.time()) + 3600

    response = signed_post(client, some_event(emulated), timestamp=an_hour_ahead)

    assert response.status_code == 400
    assert "future" in response.json()["error"]
    assert not WebhookEvent.objects.exists()


def test_a_signature_a_few_seconds_ahead_is_accepted(client, emulated):
    """Clocks drift: Stripe's signing time may be slightly ahead of ours."""
    response = signed_post(client, some_event(emulated), timestamp=int(time.time()) + 5)

    assert response.status_code == 200


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_nul_byte_in_the_variant_of_a_live_campaign_is_a_client_error(client, method, campaign):
    """Found by the fuzz test: the support page looked the reader's variant key up unchecked."""
    response = getattr(client, method)(
        "/support/keep-local-news-open/?variant=a%00b", {"variant": "a\x00b"}
    )

    assert response.status_code < 500
