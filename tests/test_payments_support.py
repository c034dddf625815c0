"""The support page, the demo checkout and the thank-you page, through the test client."""

import re

import pytest

from payments.models import Contribution, DemoObject, Payment, Supporter, WebhookEvent
from payments.stripe_gateway import StripeGateway
from payments.tests.emulated import WEBHOOK_SECRET, emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from payments.webhooks import webhook_event_process

pytestmark = pytest.mark.django_db


def form(**overrides):
    data = {
        "frequency": "one_off",
        "amount": "1000",
        "custom_amount": "",
        "email": "Reader@Example.org",
        "name": "Ada Reader",
        "article": "https://news.example.com/story",
        "placement": "epic",
        "variant": "b",
        "utm_source": "site",
        "website": "",
    }
    data.update(overrides)
    return data


def test_support_page_offers_the_campaigns_frequencies_and_presets(client, campaign):
    response = client.get(
        "/support/keep-local-news-open/?amount=2500&frequency=one_off&placement=banner"
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "€5.00" in html and "€10.00" in html and "€25.00" in html
    assert 'value="monthly"' in html
    assert 'value="annual"' not in html  # not enabled by this campaign
    assert 'value="2500" checked' in html
    assert "Cover the card fees" in html
    assert "€5.00 adds €0.41" in html  # (500 + 25) / (1 - 2.9%) = 540.7 -> 541, less 500
    assert 'name="placement" value="banner"' in html
    assert "Demo payments" in html


def test_unicode_digits_are_not_amounts(client, campaign):
    assert client.get("/support/keep-local-news-open/?amount=²").status_code == 200
    response = client.post("/support/keep-local-news-open/", form(amount="²"))
    assert response.status_code == 400


def test_junk_query_parameters_fall_back_to_the_defaults(client, campaign):
    response = client.get(
        "/support/keep-local-news-open/?amount=-5&frequency=weekly&placement=<script>&article=javascript:alert(1)"
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert 'value="1000" checked' in html
    assert "javascript:" not in html
    assert "<script>&" not in html


def test_unknown_or_draft_campaigns_are_not_found(client, campaign):
    assert client.get("/support/nope/").status_code == 404
    campaign.status = "draft"
    campaign.save()
    assert client.get("/support/keep-local-news-open/").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": ""}, "email", "Please enter your e-mail address"),
        ({"email": "not-an-address"}, "email", "does not look like an e-mail address"),
        (
            {"amount": "custom", "custom_amount": "0.50"},
            "custom_amount",
            "The smallest amount we can accept is €1.00.",
        ),
        (
            {"amount": "custom", "custom_amount": "99999"},
            "custom_amount",
            "The largest amount we can accept online is €5,000.00.",
        ),
        ({"amount": "custom", "custom_amount": "ten"}, "custom_amount", "as a number"),
        ({"amount": "custom", "custom_amount": "inf"}, "custom_amount", "as a number"),
        ({"amount": "custom", "custom_amount": "sNaN"}, "custom_amount", "as a number"),
        ({"amount": "custom", "custom_amount": "1e400"}, "custom_amount", "as a number"),
        ({"amount": "custom", "custom_amount": "-5"}, "custom_amount", "as a number"),
        ({"amount": "custom", "custom_amount": "1e3"}, "custom_amount", "as a number"),
        (
            {"amount": "custom", "custom_amount": "10.505"},
            "custom_amount",
            "at most 2 decimal places",
        ),
        ({"amount": "777"}, "amount", "choose one of the amounts shown"),
        ({"frequency": "annual"}, "frequency", "Please choose how often to give."),
    ],
)
def test_bad_input_is_explained_and_nothing_is_created(client, campaign, overrides, field, message):
    response = client.post("/support/keep-local-news-open/", form(**overrides))

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert not Contribution.objects.exists()


@pytest.mark.parametrize("typed", ["abc", "1e3"])
def test_an_amount_that_is_not_a_number_gets_one_true_message(client, campaign, typed):
    response = client.post(
        "/support/keep-local-news-open/", form(amount="custom", custom_amount=typed)
    )

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors == {"custom_amount": ["Enter the amount as a number in EUR, like 12.50."]}
    assert not Contribution.objects.exists()


def test_the_honeypot_refuses_bots(client, campaign):
    response = client.post("/support/keep-local-news-open/", form(website="http://spam.example"))

    assert response.status_code == 400
    assert "could not accept this form" in response.content.decode()
    assert not Contribution.objects.exists()


def test_too_many_attempts_for_one_address_are_refused(client, campaign, settings):
    settings.PAYMENTS_CHECKOUT_LIMIT_PER_EMAIL = 2
    for _ in range(2):
        assert client.post("/support/keep-local-news-open/", form()).status_code == 302

    response = client.post("/support/keep-local-news-open/", form(email="READER@example.org"))

    assert response.status_code == 429
    assert "Please wait a while" in response.content.decode()
    assert Contribution.objects.count() == 2


def test_too_many_attempts_from_one_address_are_refused(client, campaign, settings):
    settings.PAYMENTS_CHECKOUT_LIMIT_PER_IP = 1
    client.post("/support/keep-local-news-open/", form(email="one@example.org"))

    response = client.post("/support/keep-local-news-open/", form(email="two@example.org"))

    assert response.status_code == 429


def test_a_valid_form_records_the_intent_and_opens_the_demo_checkout(client, campaign):
    response = client.post(
        "/support/keep-local-news-open/",
        form(amount="custom", custom_amount="12.50", cover_fees="on", marketing_consent="on"),
        HTTP_REFERER="https://news.example.com/story?x=1",
    )

    contribution = Contribution.objects.get()
    assert response.status_code == 302
    assert (
        response["Location"] == f"/support/demo-checkout/{contribution.stripe_checkout_session_id}/"
    )
    assert (contribution.amount_minor, contribution.currency) == (1250, "EUR")
    assert contribution.fee_cover_minor == 64  # (1250 + 25) / 0.971 = 1313.08 -> 1314
    assert contribution.charge_minor == 1314
    assert contribution.provider == "demo"
    assert (contribution.variant_key, contribution.placement) == ("b", "epic")
    assert contribution.article_url == "https://news.example.com/story"
    assert contribution.utm_source == "site"
    assert contribution.marketing_consent is True
    assert contribution.marketing_consent_text.startswith("Yes, send me")
    assert contribution.marketing_consent_at is not None
    assert contribution.supporter.email == "Reader@Example.org"
    session = DemoObject.objects.get(object_id=contribution.stripe_checkout_session_id).data
    assert session["amount_total"] == 1314  # the price comes from our row, not the browser


def test_supporters_are_one_row_per_address_whatever_the_case(client, campaign):
    client.post("/support/keep-local-news-open/", form(email="Reader@Example.org"))
    client.post("/support/keep-local-news-open/", form(email="reader@example.ORG"))

    assert Supporter.objects.count() == 1
    assert Contribution.objects.count() == 2


def start(client, **overrides):
    client.post("/support/keep-local-news-open/", form(**overrides))
    return Contribution.objects.latest("pk")


def apply_all_events():
    for event in WebhookEvent.objects.filter(status="received").order_by("pk"):
        webhook_event_process(event_pk=event.pk)


def test_demo_success_card_records_the_payment_through_signed_webhooks(
    client, campaign, django_capture_on_commit_callbacks
):
    contribution = start(client)
    checkout = f"/support/demo-checkout/{contribution.stripe_checkout_session_id}/"
    assert "Demo checkout" in client.get(checkout).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(checkout, {"card_number": "4242 4242 4242 4242"})
    apply_all_events()

    assert response.status_code == 302
    assert response["Location"].endswith(
        f"/support/thanks/?session_id={contribution.stripe_checkout_session_id}"
    )
    event = WebhookEvent.objects.get()
    assert event.type == "checkout.session.completed"
    assert event.status == "processed"
    payment = Payment.objects.get()
    assert (payment.status, payment.gross_minor, payment.fee_minor) == ("succeeded", 1000, 40)
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.PAID

    thanks = client.get(response["Location"]).content.decode()
    assert "is confirmed" in thanks
    assert 'href="https://news.example.com/story#rs-supporter"' in thanks
    assert "/static/payments/thanks.js" in thanks  # posts the reader-support:supporter message


@pytest.mark.parametrize(
    ("card", "message"),
    [("4000000000000002", "Your card was declined"), ("4000000000009995", "insufficient funds")],
)
def test_demo_declined_cards_show_a_clear_error_and_nothing_is_paid(
    client, campaign, card, message
):
    contribution = start(client)

    response = client.post(
        f"/support/demo-checkout/{contribution.stripe_checkout_session_id}/", {"card_number": card}
    )

    assert response.status_code == 402
    assert message in response.content.decode()
    assert not Payment.objects.exists()
    assert not WebhookEvent.objects.exists()


def test_demo_3d_secure_card_asks_for_authentication_first(
    client, campaign, django_capture_on_commit_callbacks
):
    contribution = start(client, frequency="monthly", amount="500")
    checkout = f"/support/demo-checkout/{contribution.stripe_checkout_session_id}/"

    response = client.post(checkout, {"card_number": "4000002500003155"})
    assert response.status_code == 302
    assert response["Location"] == checkout + "authenticate/"
    assert not WebhookEvent.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(checkout + "authenticate/", {"decision": "approve"})
    apply_all_events()

    # Stripe's sequence for a subscription checkout (the types the service subscribes to).
    assert [e.type for e in WebhookEvent.objects.order_by("pk")] == [
        "customer.subscription.created",
        "invoice.paid",
        "customer.subscription.updated",
        "checkout.session.completed",
    ]
    assert set(WebhookEvent.objects.values_list("status", flat=True)) == {"processed"}
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.ACTIVE
    assert contribution.subscription.status == "active"
    payment = Payment.objects.get()
    assert (payment.kind, payment.gross_minor, payment.status) == (
        "subscription_first",
        500,
        "succeeded",
    )


def test_demo_checkout_is_not_served_in_stripe_mode(client, campaign, settings):
    contribution = start(client)
    settings.PAYMENTS_DEMO = False

    response = client.get(f"/support/demo-checkout/{contribution.stripe_checkout_session_id}/")

    assert response.status_code == 404


def test_thank_you_page_for_an_unknown_session_is_a_polite_404(client):
    response = client.get("/support/thanks/?session_id=cs_nope")

    assert response.status_code == 404
    assert "could not find" in response.content.decode()


def test_a_required_challenge_that_was_not_solved_is_refused(client, campaign, settings):
    settings.TURNSTILE_SITE_KEY = "site-key"
    settings.TURNSTILE_SECRET_KEY = "secret-key"

    page = client.get("/support/keep-local-news-open/").content.decode()
    response = client.post("/support/keep-local-news-open/", form())

    assert 'data-sitekey="site-key"' in page
    assert response.status_code == 400
    assert "not a robot" in response.content.decode()
    assert not Contribution.objects.exists()


def test_in_stripe_mode_the_checkout_is_embedded_in_our_page(client, emulated):
    response = client.post("/support/keep-local-news-open/", form())

    assert response.status_code == 200
    html = response.content.decode()
    contribution = Contribution.objects.get()
    session = emulated.emulator.get(str(contribution.stripe_checkout_session_id))
    assert session["ui_mode"] == "embedded_page"
    assert f'data-client-secret="{session["client_secret"]}"' in html
    assert "js.stripe.com" in html
    assert contribution.provider == "stripe"
    (sent,) = [r for r in emulated.http.requests if r["path"] == "/v1/checkout/sessions"]
    params = sent["params"]
    assert params["ui_mode"] == "embedded_page"
    assert params["line_items[0][price_data][unit_amount]"] == "1000"
    assert params["return_url"].startswith("http://testserver/support/thanks/?session_id=")


def test_stripe_being_down_is_explained_and_nothing_is_charged(
    client, campaign, settings, monkeypatch
):
    settings.PAYMENTS_DEMO = False
    settings.STRIPE_SECRET_KEY = "sk_test_unreachable"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_API_BASE = "http://127.0.0.1:25999"  # nothing listens: Stripe is unreachable
    monkeypatch.setattr(StripeGateway, "http_client", None)  # the library's own HTTP client

    response = client.post("/support/keep-local-news-open/", form())

    assert response.status_code == 503
    assert "Nothing was charged" in response.content.decode()


def test_an_abandoned_checkout_expires(emulated):
    contribution = emulated.start()
    mark = emulated.emulator.events_mark()

    emulated.emulator.advance(days=1, seconds=1)  # Checkout Sessions expire after 24 hours
    expired = emulated.emulator.events(since=mark)

    assert emulated.deliver(expired) == ["checkout.session.expired"]
    contribution.refresh_from_db()
    assert contribution.status == Contribution.Status.EXPIRED


def test_the_support_page_works_inside_the_publishers_iframe(campaign, settings):
    from django.test import Client

    settings.PUBLISHER_ORIGINS = ["https://news.example.com"]
    browser = Client(enforce_csrf_checks=True)  # a cross-site iframe gets no SameSite cookies

    page = browser.get("/support/keep-local-news-open/")
    response = browser.post("/support/keep-local-news-open/", form())

    assert "X-Frame-Options" not in page
    assert page["Content-Security-Policy"].endswith(
        "; frame-ancestors 'self' https://news.example.com"
    )
    assert response.status_code == 302


def test_supporter_addresses_are_unique_whatever_the_case_in_the_database():
    from django.db import IntegrityError, transaction

    Supporter.objects.create(email="ada@example.org")
    with pytest.raises(IntegrityError), transaction.atomic():
        Supporter.objects.create(email="ADA@Example.org")


@pytest.mark.parametrize(("currency", "smallest"), [("GBP", "£1.00"), ("USD", "$1.00")])
def test_other_currencies_use_their_own_symbols_and_limits(client, campaign, currency, smallest):
    campaign.currency = currency
    campaign.save()

    response = client.post(
        "/support/keep-local-news-open/", form(amount="custom", custom_amount="0.99")
    )

    assert response.status_code == 400
    assert f"The smallest amount we can accept is {smallest}." in response.content.decode()
    ok = client.post("/support/keep-local-news-open/", form(amount="custom", custom_amount="3"))
    assert ok.status_code == 302
    assert Contribution.objects.get().currency == currency


def test_the_thank_you_page_looks_again_while_the_payment_is_being_confirmed(client, campaign):
    contribution = start(client)

    page = client.get(f"/support/thanks/?session_id={contribution.stripe_checkout_session_id}")

    html = page.content.decode()
    assert "We are confirming" in html
    assert 'http-equiv="refresh"' not in html  # it asks quietly (thanks.js), never reloads
    assert 'data-status-url="/support/thanks/status/?session_id=' in html
    status = client.get(
        f"/support/thanks/status/?session_id={contribution.stripe_checkout_session_id}"
    )
    assert status.json() == {"status": "processing"}
    assert client.get("/support/thanks/status/?session_id=cs_nope").status_code == 404


def test_the_embedded_checkout_falls_back_to_stripes_hosted_page(client, emulated):
    page = client.post("/support/keep-local-news-open/", form()).content.decode()
    fallback = re.search(r'action="(/support/checkout/[^"]+/hosted/)"', page)
    assert fallback is not None
    embedded = str(Contribution.objects.get().stripe_checkout_session_id)
    emulated.http.requests.clear()

    response = client.post(fallback.group(1))

    assert response.status_code == 302
    expired = [r for r in emulated.http.requests if r["path"].endswith("/expire")]
    assert [r["path"] for r in expired] == [f"/v1/checkout/sessions/{embedded}/expire"]
    assert emulated.emulator.get(embedded)["status"] == "expired"
    hosted = emulated.http.requests[-1]
    assert hosted["path"] == "/v1/checkout/sessions"
    assert hosted["params"]["ui_mode"] == "hosted_page"
    assert hosted["params"]["success_url"].startswith("http://testserver/support/thanks/")
    assert hosted["headers"]["Idempotency-Key"].endswith("-hosted_page")
    session = emulated.emulator.get(str(Contribution.objects.get().stripe_checkout_session_id))
    assert session["ui_mode"] == "hosted_page" and session["id"] != embedded
    assert response["Location"] == session["url"]
    assert response["Location"].startswith("https://checkout.stripe.com/")
    assert client.post("/support/checkout/forged/hosted/").status_code == 404
