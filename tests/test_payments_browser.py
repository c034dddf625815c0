"""The demo giving flow in headless Chromium, with a real Celery worker applying the events."""

import uuid

import pytest
from django.contrib.auth.models import User

from campaigns.models import Campaign
from payments.models import Contribution, Payment
from payments.tests.fixtures import AMOUNTS, receipts_on_disk
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def appeal(transactional_db):
    return Campaign.objects.create(
        name="Keep local news open",
        slug="keep-local-news-open",
        status="live",
        currency="EUR",
        amounts=AMOUNTS,
    )


def receipt_on_disk(email: str) -> str | None:
    return next(iter(receipts_on_disk(email)), None)


def give(page, live_server, email: str, card: str) -> None:
    page.goto(
        f"{live_server.url}/support/keep-local-news-open/"
        "?amount=2500&article=https://news.example.com/story&placement=epic"
    )
    assert page.get_by_text("Demo payments.").is_visible()
    page.get_by_label("€25.00").check()
    page.get_by_label("E-mail", exact=True).fill(email)
    page.get_by_role("button", name="Give €25.00 once").click()
    page.wait_for_url("**/support/demo-checkout/**")
    page.get_by_label("Card number").fill(card)
    page.get_by_role("button", name="Pay €25.00").click()


def test_demo_contribution_from_support_page_to_receipt_and_admin(
    page, live_server, appeal, celery_worker_process
):
    email = f"reader-{uuid.uuid4().hex[:8]}@example.org"

    give(page, live_server, email, "4242 4242 4242 4242")

    page.wait_for_url("**/support/thanks/**")
    assert page.get_by_role("heading", name="Thank you!").is_visible()
    link = page.get_by_role("link", name="Back to the article")
    assert link.get_attribute("href") == "https://news.example.com/story#rs-supporter"

    # Inside the publisher's iframe, the thank-you page tells the parent page (embed.js).
    thanks_url = page.url
    page.goto(f"{live_server.url}/demo/")
    page.evaluate(
        """url => {
            window.received = [];
            addEventListener("message", event => window.received.push(event.data));
            const frame = document.createElement("iframe");
            frame.src = url;
            document.body.append(frame);
        }""",
        thanks_url,
    )
    # Polled from here: `wait_for_function` evaluates a string, which the page's CSP forbids.
    wait_for(lambda: page.evaluate("window.received.length") > 0, what="the supporter message")
    assert page.evaluate("window.received") == [{"type": "reader-support:supporter"}]

    receipt = wait_for(lambda: receipt_on_disk(email), timeout=30, what="the receipt on disk")
    assert "€25.00" in str(receipt)
    contribution = Contribution.objects.get(supporter__email=email)
    assert contribution.status == Contribution.Status.PAID
    assert Payment.objects.get(contribution=contribution).status == Payment.Status.SUCCEEDED

    User.objects.create_superuser("boss", "boss@example.org", "a-long-test-password")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/payments/contribution/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/payments/contribution/")
    row = page.locator("#result_list tbody tr").first
    assert email in row.inner_text()
    assert "Paid" in row.inner_text()


def test_demo_declined_card_shows_a_clear_error_and_nothing_is_paid(
    page, live_server, appeal, celery_worker_process
):
    email = f"declined-{uuid.uuid4().hex[:8]}@example.org"

    give(page, live_server, email, "4000 0000 0000 0002")

    assert page.get_by_role("alert").inner_text().startswith("Your card was declined.")
    assert "/support/demo-checkout/" in page.url
    contribution = Contribution.objects.get(supporter__email=email)
    assert contribution.status == Contribution.Status.PENDING
    assert not Payment.objects.filter(status=Payment.Status.SUCCEEDED).exists()
