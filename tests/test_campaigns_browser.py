"""The appeal on the sample article page, in a real headless Chromium."""

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings

from campaigns import events
from campaigns.models import EventCount
from campaigns.tests.factories import CampaignFactory, VariantFactory
from campaigns.tests.fixtures import fixture_fresh_registry  # noqa: F401
from tests.axe import axe_assert_clean, screenshot
from tests.conftest import wait_for

EMBED = settings.BASE_DIR / "static" / "campaigns" / "embed.js"
BANNER = "[data-reader-support-host] section.is-banner"
EPIC = "[data-reader-support-host] section.is-epic"
SURVEY = "[data-reader-support-host] section.is-survey"


def test_embed_script_is_under_8_kb_gzipped():
    size = len(gzip.compress(EMBED.read_bytes(), compresslevel=9))

    assert size < 8 * 1024, f"embed.js is {size} bytes gzipped"


@pytest.fixture
def live_campaign(transactional_db):
    from surveys.models import Survey

    survey = Survey.objects.create(title="Reader survey", slug="reader-survey", status="open")
    campaign = CampaignFactory.create(
        slug="support-us",
        survey=survey,
        placement_survey=True,
        counter_text="{supporters} readers like you have already stepped up",
        goal_kind="supporters",
        goal_target=7500,
        goal_baseline=5000,
        amounts={
            "monthly": {"presets": [500, 1000], "default": 1000},
            "one_off": {"presets": [2500], "default": 2500},
        },
    )
    VariantFactory.create(campaign=campaign, key="control", weight=1)
    return campaign


def wait_for_decision(page, url):
    with page.expect_response(lambda r: "/api/decision/" in r.url) as response:
        page.goto(url)
    assert response.value.status == 200
    return response.value.json()


@pytest.mark.browser
def test_banner_shows_closes_and_stays_closed(page, live_server, live_campaign):
    wait_for_decision(page, f"{live_server.url}/demo/")
    banner = page.locator(BANNER)
    banner.wait_for()

    assert banner.get_by_role("heading", name="Support us").is_visible()
    assert "5,000 readers like you have already stepped up" in banner.inner_text()
    # One page view shows a campaign once: the epic does not repeat the banner.
    assert page.locator(EPIC).count() == 0
    close = page.get_by_role("button", name="Close")
    close.focus()
    page.keyboard.press("Enter")  # keyboard reachable
    assert page.locator(BANNER).count() == 0

    # Closing the banner closes the banner: the in-article epic may still ask.
    answer = wait_for_decision(page, f"{live_server.url}/demo/?page=2")
    assert set(answer["appeals"]) == {"epic", "survey"}
    page.locator(EPIC).wait_for()
    assert page.locator(BANNER).count() == 0


@pytest.mark.browser
def test_preset_amount_opens_the_support_page_with_that_amount(page, live_server, live_campaign):
    page.goto(f"{live_server.url}/demo/")
    banner = page.locator(BANNER)
    banner.wait_for()

    banner.get_by_role("button", name="Monthly").click()
    with page.expect_navigation():
        banner.get_by_role("link", name="€10 / month").click()

    url = urlsplit(page.url)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.path == "/support/support-us/"
    assert query["amount"] == "1000"
    assert query["frequency"] == "monthly"
    assert query["variant"] == "control"
    assert query["placement"] == "banner"
    assert query["article"] == f"{live_server.url}/demo/"
    # The support page opens with that frequency and amount selected.
    assert page.locator('input[name="frequency"][value="monthly"]').is_checked()
    assert page.locator(
        '[data-frequency="monthly"] input[name="amount"][value="1000"]'
    ).is_checked()


@pytest.mark.browser
def test_survey_prompt_opens_the_survey(page, live_server, live_campaign):
    page.goto(f"{live_server.url}/demo/")
    prompt = page.locator(SURVEY)
    prompt.wait_for()

    with page.expect_navigation():
        prompt.get_by_role("link", name="Take our survey • Win a prize").click()

    url = urlsplit(page.url)
    assert url.path == "/surveys/reader-survey/"
    assert parse_qs(url.query)["campaign"] == ["support-us"]


@pytest.mark.browser
def test_nothing_appears_on_a_page_flagged_sensitive(page, live_server, live_campaign):
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/api/decision/" in r.url else None)

    page.goto(f"{live_server.url}/demo/?sensitive=1")
    page.wait_for_load_state("networkidle")

    assert page.locator("[data-reader-support-host]").count() == 0
    assert asked == []


@pytest.mark.browser
def test_supporters_are_not_asked_again(page, live_server, live_campaign):
    page.goto(f"{live_server.url}/demo/#rs-supporter")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-reader-support-host]").count() == 0

    answer = wait_for_decision(page, f"{live_server.url}/demo/?page=2")
    assert answer == {"appeals": {}}


@pytest.mark.browser
def test_supporter_message_from_the_thank_you_page_removes_the_appeal(
    page, live_server, live_campaign
):
    page.goto(f"{live_server.url}/demo/")
    page.locator(BANNER).wait_for()

    page.evaluate("window.postMessage({type: 'reader-support:supporter'}, '*')")

    page.wait_for_function("!document.querySelector('[data-reader-support-host]')")
    assert "sup" in page.evaluate("JSON.parse(localStorage.getItem('reader-support'))")


@pytest.mark.browser
def test_an_impression_is_counted_once_the_banner_was_seen(page, live_server, live_campaign):
    page.goto(f"{live_server.url}/demo/")
    page.locator(BANNER).wait_for()

    with page.expect_request(lambda r: "/api/events/" in r.url) as request:
        pass
    assert '"event":"view"' in request.value.post_data

    def counted():
        if events.uses_redis():
            return events.pending_total()
        return sum(EventCount.objects.filter(kind="view").values_list("count", flat=True))

    wait_for(counted, timeout=5, what="the impression to be counted")


@pytest.mark.browser
def test_the_page_survives_the_service_being_down(page, live_server):
    errors = []
    page.on("pageerror", lambda error: errors.append(error))
    page.route("**/api/decision/**", lambda route: route.fulfill(status=503, body="down"))

    page.goto(f"{live_server.url}/demo/")
    page.wait_for_load_state("networkidle")

    assert page.locator("h1").inner_text() == "Town council approves new riverside park"
    assert page.locator("[data-reader-support-host]").count() == 0
    assert errors == []


@pytest.mark.browser
def test_never_more_than_one_banner_even_if_the_tag_is_there_twice(
    page, live_server, live_campaign
):
    page.goto(f"{live_server.url}/demo/")
    page.locator(BANNER).wait_for()

    page.evaluate(
        """() => {
            const tag = document.createElement("script");
            tag.src = "/embed.js";
            document.body.appendChild(tag);
        }"""
    )
    page.wait_for_load_state("networkidle")

    assert page.locator(BANNER).count() == 1


@pytest.mark.browser
def test_keyboard_users_reach_the_amounts_and_focus_leaves_a_closed_banner(
    page, live_server, live_campaign
):
    page.goto(f"{live_server.url}/demo/")
    banner = page.locator(BANNER)
    banner.wait_for()

    amount = banner.get_by_role("link", name="€5 / month")
    amount.focus()
    assert amount.evaluate("a => a.getRootNode().activeElement === a")
    page.get_by_role("button", name="Close").focus()
    page.keyboard.press("Enter")

    assert page.evaluate("document.activeElement === document.body")


STRICT_CSP_ARTICLE = """<!doctype html><html lang="en"><head><title>Publisher</title>
<link rel="stylesheet" href="/hostile.css"></head><body><main><h1>An article</h1>
<p>Text of the article.</p></main>
<script src="{service}/embed.js" async data-section="news"></script></body></html>"""
HOSTILE_CSS = "*{color:red !important;font-size:60px !important}"


@pytest.fixture
def strict_publisher(live_server):
    """Serve a publisher's article on an origin of its own, with a Content-Security-Policy that
    allows the service's script and API but no inline style, and a style sheet that shouts."""
    service = live_server.url
    policy = f"default-src 'none'; script-src {service}; connect-src {service}; style-src 'self'"

    class Publisher(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/hostile.css":
                body, kind = HOSTILE_CSS, "text/css"
            else:
                body, kind = STRICT_CSP_ARTICLE.format(service=service), "text/html"
            self.send_response(200)
            self.send_header("Content-Type", f"{kind}; charset=utf-8")
            self.send_header("Content-Security-Policy", policy)
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Publisher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
def test_the_appeal_keeps_its_look_under_a_strict_publisher_csp(
    page, live_campaign, strict_publisher, settings
):
    settings.PUBLISHER_ORIGINS = [strict_publisher]
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else 0)

    page.goto(f"{strict_publisher}/article")
    banner = page.locator(BANNER)
    banner.wait_for()

    heading = banner.get_by_role("heading", name="Support us")
    assert heading.evaluate("h => getComputedStyle(h).fontSize") == "20px"
    assert heading.evaluate("h => getComputedStyle(h).color") == "rgb(18, 18, 18)"
    cta = banner.get_by_role("link", name="Contribute")
    # The publisher's accent (BRAND_COLOR_ACCENT, #c70000), carried by the script itself.
    assert cta.evaluate("a => getComputedStyle(a).backgroundColor") == "rgb(199, 0, 0)"
    assert refused == []
    screenshot(page, "appeal-strict-csp-desktop", full_page=False)


@pytest.mark.browser
def test_on_a_phone_the_banner_takes_at_most_a_third_of_the_screen(
    browser, live_server, live_campaign
):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/demo/")
        banner = page.locator(BANNER)
        banner.wait_for()
        page.wait_for_timeout(400)  # the slide-in animation

        compact = banner.bounding_box()
        assert compact["height"] <= 844 / 3, compact
        assert compact["y"] + compact["height"] == pytest.approx(844, abs=1)
        assert banner.get_by_role("link", name="Contribute").is_visible()
        assert banner.get_by_role("button", name="Close").is_visible()
        assert not banner.get_by_role("link", name="€10 / month").is_visible()
        screenshot(page, "appeal-banner-phone-compact", full_page=False)
        axe_assert_clean(page, what="the compact phone banner")

        more = banner.get_by_role("button", name="More")
        more.click()
        assert banner.get_by_role("button", name="Less").get_attribute("aria-expanded") == "true"
        banner.get_by_role("button", name="Monthly").click()
        assert banner.get_by_role("link", name="€10 / month").is_visible()
        screenshot(page, "appeal-banner-phone-open", full_page=False)
        axe_assert_clean(page, what="the opened phone banner")
    finally:
        context.close()


@pytest.mark.browser
def test_staff_can_show_one_campaign_in_banner_and_epic(page, live_server, live_campaign):
    live_campaign.show_in_banner_and_epic = True
    live_campaign.save()

    page.goto(f"{live_server.url}/demo/")
    page.locator(BANNER).wait_for()
    page.locator(EPIC).wait_for()

    assert page.locator(EPIC).count() == 1
