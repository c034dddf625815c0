"""The thank-you page while a payment is being confirmed: it asks quietly, never reloads itself,
and announces the result in a live region."""

import uuid

import pytest
from django.utils import timezone

from payments.models import Contribution
from tests.test_reader_pages import appeal  # noqa: F401 - fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_thank_you_page_polls_quietly_and_announces_the_confirmation(page, live_server, appeal):  # noqa: F811
    email = f"r-{uuid.uuid4().hex[:8]}@example.org"
    page.goto(f"{live_server.url}/support/keep-local-news-open/?amount=2500")
    page.get_by_label("E-mail", exact=True).fill(email)
    page.locator("form[data-rs-support] button[type=submit]").click()
    page.wait_for_url("**/support/demo-checkout/**")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay €25.00").click()
    page.wait_for_url("**/support/thanks/**")

    assert page.locator("meta[http-equiv=refresh]").count() == 0
    region = page.locator("[data-rs-thanks]")
    assert region.get_attribute("aria-live") == "polite"
    assert "We are confirming" in region.inner_text()
    page.evaluate("() => { window.sameDocument = true; }")
    page.wait_for_timeout(4000)  # a reload every 3 s would have happened by now
    assert page.evaluate("() => window.sameDocument === true")

    # No worker runs here: the payment is confirmed behind the page's back.
    Contribution.objects.filter(supporter__email=email).update(first_paid_at=timezone.now())

    page.wait_for_function(
        "() => document.querySelector('[data-rs-thanks]').innerText.includes('is confirmed')",
        timeout=20000,
    )
    assert page.evaluate("() => window.sameDocument === true")  # announced, not reloaded
    assert "€25.00 is confirmed" in region.inner_text()
