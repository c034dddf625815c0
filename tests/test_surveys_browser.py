"""End to end in headless Chromium, with a real Celery worker sending the mail to disk:
answer the survey, enter the draw, confirm from the e-mail, run the draw, claim as the winner."""

import email
import email.policy
import re
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from surveys.models import DrawPlacement, Entry, PrizeDraw
from surveys.services.draws import draw_run
from surveys.tests.factories import (
    draw_closed,
    draw_create,
    generous_rate_limits,  # noqa: F401 - fixture
    survey_create,
)
from tests.conftest import wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("generous_rate_limits"),
]


def mail_to(address: str, containing: str, since: float) -> str | None:
    """Return the body of a message on disk to `address` that contains `containing`."""
    folder = Path(settings.EMAIL_FILE_PATH)
    if not folder.exists():
        return None
    for path in sorted(folder.glob("*.log")):
        if path.stat().st_mtime < since:
            continue
        for raw in path.read_text().split("-" * 79):
            if address not in raw:
                continue
            message = email.message_from_string(raw.strip(), policy=email.policy.default)
            plain = message.get_body(preferencelist=("plain",))  # the text part of text + HTML
            text = plain.get_content() if plain is not None else ""
            if containing in text:
                return text
    return None


def link_path(body: object, marker: str) -> str:
    assert isinstance(body, str)
    found = re.search(rf"https?://[^/\s]+(/\S*{marker}\S*/)", body)
    assert found, body
    return found.group(1)


def test_reader_answers_enters_confirms_and_claims(live_server, page, celery_worker_process):
    draw = draw_create(survey=survey_create(), prizes=(1,))
    reader = f"reader-{uuid.uuid4().hex[:8]}@example.com"
    started = time.time() - 1

    page.goto(f"{live_server.url}/surveys/reader-survey/")
    assert page.get_by_role("progressbar").get_attribute("value") == "1"
    page.get_by_role("button", name="Next").click()
    assert page.locator("#err-often").inner_text() == "Please choose an answer."
    page.get_by_label("Weekly").check()
    page.get_by_label("Sport").check()
    page.get_by_role("button", name="Next").click()
    page.reload()  # pages already sent are kept by the server
    assert "Page 2 of 2" in page.content()
    page.get_by_label("9", exact=True).check()
    page.get_by_label("No", exact=True).check()
    page.get_by_label("Why not?").fill("Not sure yet")  # shown by the condition
    page.reload()  # before sending this page: kept in the browser until sent
    assert page.get_by_label("9", exact=True).is_checked()
    assert page.get_by_label("Why not?").input_value() == "Not sure yet"
    page.get_by_role("button", name="Send my answers").click()

    page.get_by_label("Your e-mail address").fill(reader)
    page.get_by_label("Country you live in").select_option("GB")
    page.get_by_label("I am 18 or older.").check()
    page.get_by_label("I accept the terms and conditions of the prize draw.").check()
    page.get_by_label("If I win, you may publish my first name and county").check()
    page.get_by_role("button", name="Enter the draw").click()
    assert page.get_by_role("heading", name="Check your inbox").is_visible()

    confirmation = wait_for(
        lambda: mail_to(reader, "/surveys/entry/confirm/", started),
        timeout=30,
        what="the worker to write the confirmation mail",
    )
    page.goto(live_server.url + link_path(confirmation, "/entry/confirm/"))
    assert Entry.objects.get(draw=draw).status == Entry.Status.PENDING  # opening is not confirming
    page.get_by_role("button", name="Confirm my entry").click()
    assert "Your entry is confirmed" in page.content()
    assert Entry.objects.get(draw=draw).status == Entry.Status.CONFIRMED

    draw_closed(draw=draw)
    draw_run(draw_id=draw.pk)

    claim = wait_for(
        lambda: mail_to(reader, "/surveys/prize/claim/", started),
        timeout=30,
        what="the worker to write the winner's mail",
    )
    page.goto(live_server.url + link_path(claim, "/prize/claim/"))
    page.get_by_label("Your first name").fill("Robin")
    page.get_by_label("Your county (or region)").fill("Cork")
    page.get_by_role("button", name="Claim my prize").click()
    assert "is claimed" in page.content()
    assert DrawPlacement.objects.get(draw=draw).status == DrawPlacement.Status.CLAIMED
    assert PrizeDraw.objects.get(pk=draw.pk).status == PrizeDraw.Status.COMPLETE

    page.goto(f"{live_server.url}/surveys/reader-survey/draw/")
    assert "Robin, Cork" in page.content()
    assert draw.seed in page.content()  # revealed after the draw
