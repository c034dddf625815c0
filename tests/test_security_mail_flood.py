"""Mail flooding through the draw entry and the sign-in link, and cross-site posts to the forms
that cannot use a CSRF cookie (issue 11, finding 5)."""

import re
import secrets
import uuid

import pytest
from django.core import mail
from django.urls import URLPattern, URLResolver, get_resolver

from antiabuse.email_address import email_normalise
from payments.models import SignInLink, Supporter
from surveys.models import Entry
from surveys.tasks import entry_confirmation_send
from surveys.tests.factories import draw_create, survey_create

pytestmark = pytest.mark.django_db

ENTER = "/surveys/reader-survey/draw/enter/"


@pytest.fixture
def client(client):
    """A fresh client address per test: rate-limit counters live in a cache shared by tests."""
    client.defaults["REMOTE_ADDR"] = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.7"
    return client


def entry_data(email):
    return {"email": email, "country": "GB", "age_confirmed": "on", "accept_terms": "on"}


@pytest.mark.parametrize(
    ("address", "normalised"),
    [
        ("jane+a@example.com", "jane@example.com"),
        ("Jane+a+b@Example.COM", "jane@example.com"),
        ("  jane@example.com. ", "jane@example.com"),
        ("jane.doe+x@gmail.com", "janedoe@gmail.com"),
        ("jane.doe@example.com", "jane.doe@example.com"),  # dots matter outside Gmail
        ("jane@bücher.example", "jane@xn--bcher-kva.example"),
        ("+only@example.com", "+only@example.com"),  # nothing left before the tag: kept whole
    ],
)
def test_addresses_are_folded_in_one_place(address, normalised):
    assert email_normalise(address) == normalised


def test_tag_variants_share_one_per_address_limit(
    client, settings, django_capture_on_commit_callbacks
):
    settings.SURVEYS_RATE_LIMIT_PER_EMAIL = 2
    draw_create(survey=survey_create())
    base = f"victim{uuid.uuid4().hex[:8]}"

    with django_capture_on_commit_callbacks():
        codes = [
            client.post(ENTER, entry_data(f"{base}+{i}@example.org")).status_code for i in range(4)
        ]

    assert codes == [200, 200, 400, 400]


def test_entering_again_sends_no_second_confirmation_within_the_window(
    client, settings, django_capture_on_commit_callbacks
):
    settings.SURVEYS_RATE_LIMIT_PER_EMAIL = 100
    draw_create(survey=survey_create())
    address = f"reader{uuid.uuid4().hex[:8]}@example.org"

    with django_capture_on_commit_callbacks() as callbacks:
        for _ in range(5):
            assert client.post(ENTER, entry_data(address)).status_code == 200

    assert Entry.objects.count() == 1
    assert len(callbacks) == 1  # one confirmation mail queued, not five


def test_entering_again_after_the_window_sends_the_confirmation_again(
    client, settings, django_capture_on_commit_callbacks
):
    settings.SURVEYS_RATE_LIMIT_PER_EMAIL = 100
    settings.SURVEYS_CONFIRMATION_RESEND_SECONDS = 0
    draw_create(survey=survey_create())
    address = f"reader{uuid.uuid4().hex[:8]}@example.org"

    with django_capture_on_commit_callbacks() as callbacks:
        client.post(ENTER, entry_data(address))
        client.post(ENTER, entry_data(address))

    assert len(callbacks) == 2
    mail.outbox.clear()
    entry_confirmation_send(Entry.objects.get().pk)
    assert len(mail.outbox) == 1


def test_sign_in_requests_share_one_limit_across_tag_variants(client, settings):
    settings.PAYMENTS_CHECKOUT_LIMIT_PER_EMAIL = 3
    settings.PAYMENTS_SIGN_IN_RESEND_SECONDS = 0
    Supporter.objects.create(email="ada@example.org")

    codes = [
        client.post("/support/account/", {"email": email}).status_code
        for email in ["ada+1@example.org", "ADA+2@example.org", "ada+3@example.org"]
    ]
    client.post("/support/account/", {"email": "ada@example.org"})

    assert codes == [200] * 3  # the same answer whatever happened
    assert not SignInLink.objects.exists()  # the fourth request was over the shared limit


def test_sign_in_links_are_mailed_once_per_window(client, settings):
    settings.PAYMENTS_CHECKOUT_LIMIT_PER_EMAIL = 100
    Supporter.objects.create(email="ada@example.org")

    codes = [
        client.post("/support/account/", {"email": "ada@example.org"}).status_code for _ in range(5)
    ]

    assert codes == [200] * 5
    assert SignInLink.objects.count() == 1  # one link, so one mail


# --- Cross-site posts ----------------------------------------------------------------------------


def _csrf_exempt_patterns():
    """Every URL pattern whose view skips Django's CSRF check (the admin has none)."""
    found = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if pattern.app_name != "admin":
                    walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and getattr(
                pattern.callback, "csrf_exempt", False
            ):
                found.append((prefix + str(pattern.pattern), pattern.callback))

    walk(get_resolver().url_patterns)
    return found


SAMPLE = {"slug": "reader-survey", "int": "1", "stripe_id": "cs_demo_x", "token": "abc"}


def _sample_path(route):
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE.get(m.group(1) or "str", "x"), route)


def test_every_csrf_exempt_view_is_guarded_by_the_origin_check():
    exempt = _csrf_exempt_patterns()

    assert len(exempt) >= 10  # the support, checkout, survey and entry pages, the webhook, ...
    unguarded = [route for route, view in exempt if not getattr(view, "origin_guarded", False)]
    assert unguarded == []


@pytest.mark.parametrize("route", [route for route, _ in _csrf_exempt_patterns()])
def test_a_cross_site_post_to_a_csrf_exempt_view_is_refused(client, route):
    path = _sample_path(route)

    by_origin = client.post(path, {}, HTTP_ORIGIN="https://evil.example")
    by_fetch_metadata = client.post(path, {}, HTTP_SEC_FETCH_SITE="cross-site")

    assert by_origin.status_code == 403, path
    assert by_fetch_metadata.status_code == 403, path


def test_the_service_and_the_publishers_may_post(client, settings):
    settings.PUBLISHER_ORIGINS = ["https://news.example"]
    draw_create(survey=survey_create())
    address = f"reader{uuid.uuid4().hex[:8]}@example.org"

    ours = client.post(
        ENTER,
        entry_data(address),
        HTTP_ORIGIN="http://testserver",
        HTTP_SEC_FETCH_SITE="same-origin",
    )
    publisher = client.post(
        ENTER,
        entry_data(address),
        HTTP_ORIGIN="https://news.example",
        HTTP_SEC_FETCH_SITE="cross-site",
    )
    no_browser = client.post(ENTER, entry_data(address))  # no Origin, no fetch metadata

    assert [ours.status_code, publisher.status_code, no_browser.status_code] == [200, 200, 200]


def test_a_cross_site_entry_is_refused_in_plain_words(client):
    draw_create(survey=survey_create())

    response = client.post(
        ENTER, entry_data("reader@example.org"), HTTP_ORIGIN="https://evil.example"
    )

    assert response.status_code == 403
    assert "another site" in response.content.decode()
    assert not Entry.objects.exists()
