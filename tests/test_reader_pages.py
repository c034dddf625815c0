"""Every page a reader sees, in headless Chromium on a desktop and a 390x844 phone: axe-core finds
no critical or serious violation, the brand is applied, and a screenshot of each is kept under
var/screenshots/ for a person to look at."""

import re
import uuid

import pytest
from django.contrib.auth.models import User

from branding.brand import brand_get
from campaigns.models import Campaign, Variant
from payments.models import Contribution, Subscription
from payments.services import sign_in_link_create
from payments.tests.fixtures import AMOUNTS, contribution_make
from surveys.models import DrawPlacement, Entry, SurveyDraft
from surveys.services.draws import draw_run
from surveys.tests.factories import (
    draw_closed,
    draw_create,
    entries_confirmed,
    generous_rate_limits,  # noqa: F401 - fixture
    survey_create,
)
from surveys.tokens import claim_token, confirmation_token
from tests.axe import check_page, screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("generous_rate_limits"),
]


@pytest.fixture
def appeal(transactional_db):
    return Campaign.objects.create(
        name="Keep local news open",
        slug="keep-local-news-open",
        status="live",
        currency="EUR",
        amounts=AMOUNTS,
        body="Our reporters cover every council meeting.\n\nNobody else does.",
        why_it_matters="Your contribution pays for a reporter at every council meeting, "
        "so the decisions made there are reported, checked and explained.",
    )


def branded(page) -> None:
    """The publisher's logo heads the page and its accent colour is on the buttons."""
    logo = page.locator(".rs-masthead img")
    assert logo.get_attribute("alt") == brand_get().name
    assert logo.evaluate("img => img.naturalWidth") > 0  # the logo loaded
    accent = page.evaluate(
        "() => getComputedStyle(document.documentElement).getPropertyValue('--rs-brand-accent')"
    )
    assert accent.strip() == brand_get().accent


def test_support_checkout_and_thank_you_pages(page, live_server, appeal):
    page.goto(f"{live_server.url}/support/keep-local-news-open/")
    branded(page)
    assert page.locator(".rs-why").inner_text().startswith("Your contribution pays")
    check_page(page, "support")

    page.get_by_role(
        "button", name=re.compile("^(Give|Continue)")
    ).click()  # nothing chosen, no e-mail: errors
    check_page(page, "support-errors")

    page.goto(f"{live_server.url}/support/keep-local-news-open/?amount=2500")
    page.get_by_label("E-mail", exact=True).fill(f"r-{uuid.uuid4().hex[:8]}@example.org")
    page.get_by_role("button", name=re.compile("^(Give|Continue)")).click()
    page.wait_for_url("**/support/demo-checkout/**")
    check_page(page, "demo-checkout")

    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay €25.00").click()
    page.wait_for_url("**/support/thanks/**")
    check_page(page, "thanks-processing")

    page.goto(f"{live_server.url}/support/account/")
    check_page(page, "account-sign-in")


def test_account_pages(page, live_server, appeal):
    contribution = contribution_make(appeal, frequency="monthly", amount_minor=500)
    Contribution.objects.filter(pk=contribution.pk).update(status=Contribution.Status.ACTIVE)
    Subscription.objects.create(
        contribution=contribution,
        stripe_subscription_id="sub_demo_tour",
        status="active",
        amount_minor=500,
        currency="EUR",
    )
    created = sign_in_link_create(email="reader@example.org")
    assert created is not None
    page.goto(f"{live_server.url}/support/account/sign-in/{created[1]}/")
    check_page(page, "account-sign-in-button")
    page.get_by_role("button", name="Sign in").click()
    check_page(page, "account")
    page.get_by_role("link", name="Change amount").click()
    check_page(page, "account-amount")
    page.get_by_role("button", name="Save").click()  # empty: the error
    check_page(page, "account-amount-errors")
    page.goto(f"{live_server.url}/support/account/contributions/{contribution.pk}/cancel/")
    check_page(page, "account-cancel")


def test_survey_entry_confirmation_claim_and_draw_pages(page, live_server):
    draw = draw_create(survey=survey_create(), prizes=(1,))
    page.goto(f"{live_server.url}/surveys/reader-survey/")
    branded(page)
    check_page(page, "survey-page-1")
    page.get_by_role("button", name="Next").click()
    check_page(page, "survey-errors")
    page.get_by_label("Weekly").check()
    page.get_by_label("Sport").check()
    page.get_by_role("button", name="Next").click()
    check_page(page, "survey-page-2")
    page.get_by_label("9", exact=True).check()
    page.get_by_label("Yes", exact=True).check()
    page.get_by_role("button", name="Send my answers").click()
    check_page(page, "survey-thanks-entry-form")

    with page.expect_navigation():  # to the page's load: its deferred script has run
        page.get_by_role("button", name="Enter the draw").click()
    assert page.locator("#rs-errors").evaluate("el => el === document.activeElement")
    check_page(page, "draw-entry-errors")
    page.get_by_label("Your e-mail address").fill(f"r-{uuid.uuid4().hex[:8]}@example.com")
    page.get_by_label("Country you live in").select_option("GB")
    page.get_by_label("I am 18 or older.").check()
    page.get_by_label("I accept the terms and conditions of the prize draw.").check()
    page.get_by_role("button", name="Enter the draw").click()
    check_page(page, "draw-entry-sent")

    entry = Entry.objects.get(draw=draw)
    token = confirmation_token(public_id=entry.public_id)
    page.goto(f"{live_server.url}/surveys/entry/confirm/{token}/")
    check_page(page, "draw-entry-confirm")
    page.get_by_role("button", name="Confirm my entry").click()
    check_page(page, "draw-entry-confirmed")

    page.goto(f"{live_server.url}/surveys/reader-survey/draw/")
    check_page(page, "draw-open")

    entries_confirmed(draw=draw, count=5)
    draw_closed(draw=draw)
    draw_run(draw_id=draw.pk)
    winner = DrawPlacement.objects.get(draw=draw, status=DrawPlacement.Status.NOTIFIED)
    page.goto(
        f"{live_server.url}/surveys/prize/claim/"
        f"{claim_token(placement_id=winner.pk, nonce=winner.claim_nonce)}/"
    )
    check_page(page, "draw-claim")
    page.get_by_role("button", name="Claim my prize").click()
    assert page.locator("#rs-errors").get_by_role("link").count() == 2
    check_page(page, "draw-claim-errors")
    page.get_by_label("Your first name").fill("Robin")
    page.get_by_label("Your county (or region)").fill("Cork")
    page.get_by_role("button", name="Claim my prize").click()
    check_page(page, "draw-claimed")

    page.goto(f"{live_server.url}/surveys/reader-survey/draw/")
    assert page.get_by_role("heading", name="Winners").is_visible()
    check_page(page, "draw-winners")


def test_the_demo_article_page_with_its_banner_and_epic(page, live_server, appeal):
    User.objects.all().delete()
    Campaign.objects.filter(pk=appeal.pk).update(
        headline="Support local reporting",
        counter_text="{supporters} readers like you have already stepped up",
        show_in_banner_and_epic=True,  # both placements in one view, to look at both
    )
    page.goto(f"{live_server.url}/demo/")
    for placement in ("banner", "epic"):
        page.locator(f"[data-reader-support-host] section.is-{placement}").wait_for()
    # The appeal wears the brand: its accent on the button, its heading font on the headline.
    epic = page.locator("[data-reader-support-host] section.is-epic")
    assert epic.locator(".cta").evaluate("el => getComputedStyle(el).backgroundColor") == (
        "rgb(199, 0, 0)"  # BRAND_COLOR_ACCENT's default, #c70000
    )
    assert "Georgia" in epic.locator("h2").evaluate("el => getComputedStyle(el).fontFamily")
    check_page(page, "demo-article")
    screenshot(page, "demo-article-phone-first-screen", full_page=False)  # check_page ends on it


def test_a_variants_amounts_on_the_support_page(page, live_server, appeal):
    Variant.objects.create(
        campaign=appeal,
        key="b",
        amounts={"one_off": {"presets": [700, 1500, 4000], "default": 1500}},
    )
    page.goto(f"{live_server.url}/support/keep-local-news-open/?variant=b&amount=700")
    assert page.get_by_label("€7.00").is_checked()
    assert page.locator("[data-rs-give]").inner_text() == "Give €7.00 once"
    check_page(page, "support-variant-amounts")


def test_a_last_page_whose_first_page_was_lost_asks_for_it_again(page, live_server):
    survey_create()
    page.goto(f"{live_server.url}/surveys/reader-survey/")
    page.get_by_label("Weekly").check()
    page.get_by_label("Sport").check()
    page.get_by_role("button", name="Next").click()
    SurveyDraft.objects.all().delete()  # expired (SURVEYS_DRAFT_DAYS) while page 2 was open
    page.get_by_label("9", exact=True).check()
    page.get_by_label("Yes", exact=True).check()
    page.get_by_role("button", name="Send my answers").click()
    assert page.get_by_role("alert").inner_text().startswith("We no longer have your answers")
    assert page.get_by_text("Page 1 of 2").is_visible()
    check_page(page, "survey-earlier-answers-lost")
