"""A draw an entrant can check: their entry id by mail, the frozen entries, the verifier, the
publish-my-name question asked the same way on entry and claim, and the check in a browser."""

import json
import re
import subprocess
import sys

import pytest
from django.core import mail
from django.utils import timezone

from surveys import proof
from surveys.forms import PUBLISH_WORDING
from surveys.models import DrawPlacement, Entry
from surveys.selectors import draw_proof_bundle
from surveys.services import draws as draw_services
from surveys.services.entries import Consents, entry_create
from surveys.tasks import entry_confirmation_send
from surveys.tests.factories import (
    draw_closed,
    draw_create,
    entries_confirmed,
    generous_rate_limits,  # noqa: F401 - fixture
    survey_create,
)
from surveys.tokens import claim_token
from tests.axe import check_page

pytestmark = pytest.mark.usefixtures("generous_rate_limits")


def consents(publish_name=False):
    return Consents(
        marketing=False,
        marketing_wording="Send me news.",
        publish_name=publish_name,
        publish_wording=str(PUBLISH_WORDING),
    )


def drawn(draw, count=12):
    entries = entries_confirmed(draw=draw, count=count)
    draw_closed(draw=draw)
    draw_services.draw_run(draw_id=draw.pk)
    draw.refresh_from_db()
    return entries


@pytest.fixture
def draw(db):
    return draw_create(survey=survey_create(), prizes=(1, 1), reserves_count=2)


@pytest.mark.django_db
def test_the_confirmation_mail_gives_the_entry_id_and_the_draw_page(
    draw, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks():
        entry = entry_create(
            draw=draw,
            email="ann@example.com",
            country="GB",
            age_confirmed=True,
            consents=consents(),
        )
    entry_confirmation_send(entry.pk)

    body = mail.outbox[0].body
    assert f"Your entry id is {entry.public_id}." in body
    assert f"/surveys/reader-survey/draw/{draw.pk}/" in body


@pytest.mark.django_db
def test_the_frozen_entries_are_published_at_close_and_match_the_fingerprint(client, draw):
    url = f"/surveys/reader-survey/draw/{draw.pk}/entries.json"
    entries = entries_confirmed(draw=draw, count=5)
    assert client.get(url).status_code == 404  # still open: the set is not frozen yet

    draw_closed(draw=draw)
    answer = client.get(url).json()

    draw.refresh_from_db()
    assert sorted(answer["entries"]) == sorted(e.public_id for e in entries)
    assert proof.fingerprint_of(answer["entries"]) == draw.entries_fingerprint
    assert "email" not in json.dumps(answer)


@pytest.mark.django_db
def test_the_offered_verifier_checks_a_bundle_with_the_standard_library_alone(
    client, draw, tmp_path
):
    drawn(draw)
    verifier = tmp_path / "verify_draw.py"
    download = client.get("/surveys/verify_draw.py")
    verifier.write_bytes(
        b"".join(download.streaming_content) if download.streaming else download.content
    )
    bundle = tmp_path / "bundle.json"
    bundle.write_text(json.dumps(draw_proof_bundle(draw=draw)))

    # -I: isolated from the project and its packages, as on an entrant's own computer.
    command = [sys.executable, "-I", str(verifier), str(bundle)]
    run = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603

    assert download["Content-Disposition"] == 'attachment; filename="verify_draw.py"'
    assert (run.returncode, run.stdout.strip()) == (0, "verified")


@pytest.mark.django_db
@pytest.mark.parametrize("agreed", [True, False])
def test_the_claim_form_asks_to_publish_the_name_as_the_entry_form_did(client, draw, agreed):
    entry = entry_create(
        draw=draw,
        email="bo@example.com",
        country="GB",
        age_confirmed=True,
        consents=consents(publish_name=agreed),
    )
    Entry.objects.filter(pk=entry.pk).update(
        status=Entry.Status.CONFIRMED, confirmed_at=timezone.now()
    )
    drawn(draw, count=0)
    winner = DrawPlacement.objects.get(draw=draw, entry=entry)
    token = claim_token(placement_id=winner.pk, nonce=winner.claim_nonce)

    page = client.get(f"/surveys/prize/claim/{token}/").content.decode()

    found = re.search(r'<input[^>]*name="publish_name"[^>]*>', page)
    assert found is not None
    box = found.group(0)
    assert str(PUBLISH_WORDING) in page
    assert ("checked" in box) is agreed  # what they said when entering, asked the same way
    assert "Do not publish" not in page
    client.post(f"/surveys/prize/claim/{token}/", {"first_name": "Bo", "county": "Fife"})
    winner.refresh_from_db()
    assert winner.publish_name is False  # an unticked box is a no, whatever was said before


@pytest.mark.browser
def test_an_entrant_checks_their_entry_and_the_whole_draw_in_the_browser(
    page, live_server, transactional_db
):
    draw = draw_create(survey=survey_create(), prizes=(1, 1), reserves_count=2)
    mine = drawn(draw)[3].public_id
    url = f"{live_server.url}/surveys/reader-survey/draw/{draw.pk}/"
    page.goto(url)

    page.get_by_label("Your entry id (in your confirmation e-mail)").fill(mine)
    page.get_by_role("button", name="Check my entry").click()
    page.get_by_text(f"Yes: entry {mine} is one of the 12 entries").wait_for()

    page.get_by_label("Your entry id (in your confirmation e-mail)").fill("0000000000000000")
    page.get_by_role("button", name="Check my entry").click()
    page.get_by_text("Entry 0000000000000000 is not among the 12 entries").wait_for()

    page.get_by_role("button", name="Verify this draw in my browser").click()
    page.get_by_text("Verified: this draw was run as published.").wait_for()
    check_page(page, "draw-verified")


@pytest.mark.browser
def test_a_tampered_bundle_is_not_verified_in_the_browser(page, live_server, transactional_db):
    draw = draw_create(survey=survey_create(), prizes=(1, 1), reserves_count=2)
    drawn(draw)
    bundle = draw_proof_bundle(draw=draw)
    bundle["ranking"] = list(reversed(bundle["ranking"]))  # same ids, another order
    page.route(
        "**/proof.json",
        lambda route: route.fulfill(content_type="application/json", body=json.dumps(bundle)),
    )
    page.goto(f"{live_server.url}/surveys/reader-survey/draw/{draw.pk}/")

    page.get_by_role("button", name="Verify this draw in my browser").click()

    page.get_by_text("Not verified: see the step marked ✗.").wait_for()
    assert page.locator(".rs-check-steps .is-bad").count() == 1
