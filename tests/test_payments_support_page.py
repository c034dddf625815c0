"""The support page in Chromium: the total the reader will pay and how often, on the button too;
the campaign's copy; an error summary at the top that takes focus, and fields that say they are
wrong to assistive technology."""

import uuid

import pytest

from campaigns.models import Campaign
from payments.money import fee_cover_minor, money_format
from payments.tests.fixtures import AMOUNTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def appeal(transactional_db):
    return Campaign.objects.create(
        name="Keep local news open",
        slug="keep-local-news-open",
        status="live",
        currency="EUR",
        amounts=AMOUNTS,
        body="Our reporters cover every council meeting. Nobody else does.",
    )


def test_the_button_says_how_much_and_how_often(page, live_server, appeal):
    page.goto(f"{live_server.url}/support/keep-local-news-open/")
    assert page.get_by_text("Our reporters cover every council meeting.").is_visible()
    give = page.locator("[data-rs-give]")
    total = page.locator("[data-rs-total]")
    assert give.inner_text() == "Give €10.00 once"
    assert total.inner_text() == "You will pay €10.00 once."
    assert total.get_attribute("aria-live") == "polite"

    page.get_by_label("Monthly").check()  # its own suggested amount: €5.00
    assert give.inner_text() == "Give €5.00 monthly"

    page.get_by_label("Cover the card fees").check()
    assert give.inner_text() == "Give €5.41 monthly"
    assert total.inner_text() == "You will pay €5.41 monthly: €5.00 and €0.41 for the card fees."

    other_amount = page.get_by_label("Other amount (€)")
    assert not other_amount.is_visible()  # asked only once "Other" is picked
    page.locator(".rs-frequency-panel:not([hidden])").get_by_label("Other", exact=True).check()
    assert other_amount.is_visible()
    other_amount.fill("1e3")  # not a thousand euros
    assert give.inner_text() == "Continue to payment"
    page.get_by_label("Other amount (€)").fill("12,50")
    # The same gross-up as the server's.
    assert give.inner_text() == f"Give {money_format(1250 + fee_cover_minor(1250), 'EUR')} monthly"


def test_errors_are_summarised_at_the_top_and_tied_to_their_fields(page, live_server, appeal):
    page.goto(f"{live_server.url}/support/keep-local-news-open/")
    page.locator(".rs-frequency-panel:not([hidden])").get_by_label("Other", exact=True).check()
    page.get_by_label("Other amount (€)").fill("abc")
    page.locator("[data-rs-give]").click()

    summary = page.locator("#rs-errors")
    assert summary.evaluate("el => el === document.activeElement")
    assert summary.get_attribute("role") == "alert"
    links = summary.get_by_role("link")
    assert links.all_inner_texts() == [
        "Enter the amount as a number in EUR, like 12.50.",
        "Please enter your e-mail address so we can send your receipt.",
    ]
    email = page.get_by_label("E-mail", exact=True)
    assert email.get_attribute("aria-invalid") == "true"
    described = email.get_attribute("aria-describedby").split()
    assert page.locator(f"#{described[0]}").inner_text() == (
        "Please enter your e-mail address so we can send your receipt."
    )
    amount = page.get_by_label("Other amount (€)")
    assert amount.get_attribute("aria-invalid") == "true"
    assert "err-custom_amount" in amount.get_attribute("aria-describedby")

    links.nth(1).click()
    assert email.evaluate("el => el === document.activeElement")

    page.get_by_label("Other amount (€)").fill("12.50")
    email.fill(f"r-{uuid.uuid4().hex[:8]}@example.org")
    page.locator("[data-rs-give]").click()
    page.wait_for_url("**/support/demo-checkout/**")
    assert page.get_by_role("heading", name="Pay €12.50").is_visible()
