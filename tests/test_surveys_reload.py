"""A reload after a validation error shows the page as it stands, not the answers that were
refused (it used to send the refused form again)."""

import pytest

from surveys.tests.factories import (
    draw_create,
    generous_rate_limits,  # noqa: F401 - fixture
    survey_create,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("generous_rate_limits"),
]


def test_a_reload_after_a_validation_error_does_not_bring_back_the_refused_answers(
    page, live_server
):
    draw_create(survey=survey_create())
    page.goto(f"{live_server.url}/surveys/reader-survey/")
    page.get_by_label("Weekly").check()
    for topic in ("Politics", "Sport", "Culture"):  # at most two are allowed
        page.get_by_label(topic).check()
    page.get_by_role("button", name="Next").click()
    assert page.locator("#rs-errors").is_visible()
    assert page.locator("#rs-errors").evaluate("el => el === document.activeElement")

    page.reload()

    assert page.locator("#rs-errors").count() == 0
    for topic in ("Politics", "Sport", "Culture"):
        assert not page.get_by_label(topic).is_checked()
    assert "draft=" in page.url  # the reader's draft is still theirs

    # What the reader changes after the error is kept across a reload, as before sending.
    page.get_by_label("Daily").check()
    page.get_by_label("Sport").check()
    page.reload()
    assert page.get_by_label("Daily").is_checked()
    assert page.get_by_label("Sport").is_checked()
    assert not page.get_by_label("Politics").is_checked()
