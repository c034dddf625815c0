"""A site-wide Content-Security-Policy without inline script, Referrer-Policy and
Permissions-Policy on every page type; framing only where the README allows it."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from payments.tests.emulated import emulated_fixture  # noqa: F401 - fixture
from payments.tests.fixtures import campaign_fixture  # noqa: F401 - fixture
from surveys.tests.factories import draw_create, survey_create
from tests.test_settings import manage

PUBLISHER = "https://news.example.com"
# Pages the README says the publisher's sites may frame (support, checkout, thank-you, surveys).
EMBEDDABLE = {"support", "thanks", "survey", "checkout"}


def policy(response) -> dict[str, list[str]]:
    header = response.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_safe_headers(response, *, framed_by: list[str]):
    csp = policy(response)
    assert csp, "no Content-Security-Policy"
    scripts = csp.get("script-src", csp.get("default-src"))
    assert scripts is not None
    for loose in ("'unsafe-inline'", "'unsafe-eval'", "*", "https:", "http:", "data:", "blob:"):
        assert loose not in scripts
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["frame-ancestors"] == framed_by
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


@pytest.fixture
def pages(client, campaign, settings):
    """GET one page of each type; return {kind: response}."""
    settings.PUBLISHER_ORIGINS = [PUBLISHER]
    survey = survey_create(questions=[{"key": "q", "kind": "yes_no", "text": "Q?"}])
    draw_create(survey=survey)
    client.post(
        "/support/keep-local-news-open/",
        {"frequency": "one_off", "amount": "1000", "email": "a@example.org", "website": ""},
    )
    from payments.models import Contribution

    session = Contribution.objects.get().stripe_checkout_session_id
    admin = User.objects.create_superuser("boss", "boss@example.org", "pw-long-enough-1")
    anonymous = {
        "demo": client.get("/demo/"),
        "support": client.get("/support/keep-local-news-open/"),
        "thanks": client.get(f"/support/thanks/?session_id={session}"),
        "survey": client.get("/surveys/reader-survey/"),
        "draw": client.get("/surveys/reader-survey/draw/"),
        "account": client.get("/support/account/"),
        "admin-login": client.get("/admin/login/"),
        "not-found": client.get("/no-such-page/"),
        "static": client.get("/static/site.css"),
        "health": client.get("/healthz"),
    }
    client.force_login(admin)
    staff = {
        "admin-index": client.get("/admin/"),
        "admin-list": client.get("/admin/payments/contribution/"),
        "finance-dashboard": client.get("/admin/finance/dashboard/"),
    }
    return {**anonymous, **staff}


@pytest.mark.django_db
def test_every_page_type_carries_the_policies(pages):
    for kind, response in pages.items():
        assert response.status_code < 500, kind
        framed_by = ["'self'", PUBLISHER] if kind in EMBEDDABLE else ["'none'"]
        try:
            assert_safe_headers(response, framed_by=framed_by)
        except AssertionError as error:
            raise AssertionError(f"{kind}: {error}") from error


@pytest.mark.django_db
def test_the_embedded_checkout_may_load_stripe_and_nothing_else_does(client, emulated):
    checkout = client.post(
        "/support/keep-local-news-open/",
        {"frequency": "one_off", "amount": "1000", "email": "a@example.org", "website": ""},
    )
    support = client.get("/support/keep-local-news-open/")

    assert 'id="checkout"' in checkout.content.decode()
    assert_safe_headers(checkout, framed_by=["'self'"])
    csp = policy(checkout)
    assert "https://js.stripe.com" in csp["script-src"]
    assert {"https://js.stripe.com", "https://checkout.stripe.com"} <= set(csp["frame-src"])
    assert "https://api.stripe.com" in csp["connect-src"]
    assert "https://js.stripe.com" not in policy(support)["script-src"]


TEMPLATES = Path(settings.BASE_DIR, "templates")
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")")
HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


def test_no_template_has_inline_script_or_event_handlers():
    offenders = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text()
        name = path.relative_to(settings.BASE_DIR)
        offenders += [f"{name}: inline <script>" for _ in INLINE_SCRIPT.finditer(text)]
        offenders += [f"{name}: {m.group(0)[-30:]}" for m in HANDLER.finditer(text)]
        if "javascript:" in text.lower():
            offenders.append(f"{name}: javascript: URL")
    assert offenders == []


def test_no_python_code_renders_inline_script():
    offenders = []
    for app in ("antiabuse", "campaigns", "config", "finance", "payments", "staff", "surveys"):
        for path in Path(settings.BASE_DIR, app).rglob("*.py"):
            if "tests" in path.parts:
                continue
            text = path.read_text()
            if INLINE_SCRIPT.search(text) or HANDLER.search(text):
                offenders.append(str(path.relative_to(settings.BASE_DIR)))
    assert offenders == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_reader_pages_run_under_the_policy_without_violations(page, live_server):
    """The demo article (which embeds the appeal), the support, thank-you and survey pages."""
    from campaigns.tests.factories import CampaignFactory, VariantFactory

    campaign = CampaignFactory.create(
        slug="keep-local-news-open",
        amounts={"one_off": {"presets": [2500], "default": 2500}},
    )
    VariantFactory.create(campaign=campaign, key="control", weight=1)
    survey_create(questions=[{"key": "q", "kind": "yes_no", "text": "Q?"}])
    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )

    page.goto(f"{live_server.url}/demo/")
    page.locator("[data-reader-support-host]").first.wait_for()
    page.screenshot(path=str(settings.VAR_DIR / "csp-demo.png"))
    page.goto(f"{live_server.url}/support/keep-local-news-open/?article={PUBLISHER}/story")
    page.get_by_label("E-mail", exact=True).fill("reader@example.org")
    page.locator("[data-rs-give]").click()  # its label follows the amount chosen
    page.wait_for_url("**/support/demo-checkout/**")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay €25.00").click()
    page.wait_for_url("**/support/thanks/**")
    assert page.get_by_role("heading", name="Thank you!").is_visible()
    page.goto(f"{live_server.url}/surveys/reader-survey/")
    page.get_by_text("Q?").wait_for()

    assert violations == []


PROBE_404 = """
from django.conf import settings
from django.test import Client
client = Client()
missing = client.get("/no-such-page/")
static = client.get("/static/site.css")
print(settings.DEBUG, missing.status_code, b"urlpatterns" in missing.content
      or b"URLconf" in missing.content, static.status_code)
"""


def test_the_embedded_default_serves_without_debug_and_still_serves_static_files(tmp_path):
    quiet = manage("shell", "-v", "0", "-c", PROBE_404, env={"VAR_DIR": str(tmp_path)})
    debug = manage(
        "shell", "-v", "0", "-c", PROBE_404, env={"VAR_DIR": str(tmp_path), "DJANGO_DEBUG": "true"}
    )

    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.splitlines()[-1].split() == ["False", "404", "False", "200"]
    assert debug.stdout.splitlines()[-1].split() == [
        "True",
        "404",
        "True",
        "200",
    ]  # opt-in, and it shows


@pytest.mark.django_db
def test_a_logo_on_the_publishers_cdn_may_be_shown(client, settings):
    settings.BRAND = {**settings.BRAND, "logo": "https://cdn.news.example.com/logo.svg"}

    csp = policy(client.get("/demo/"))

    assert csp["img-src"] == ["'self'", "data:", "https://cdn.news.example.com"]


@pytest.mark.django_db
def test_forms_answered_by_a_redirect_to_stripe_may_go_there(client):
    """Browsers apply form-action to the redirect a form post gets, not only to the post."""
    form_action = policy(client.get("/support/account/"))["form-action"]

    assert form_action == [
        "'self'",
        "https://checkout.stripe.com",  # the hosted Checkout fallback
        "https://billing.stripe.com",  # "Update payment method": the Billing Portal
    ]
