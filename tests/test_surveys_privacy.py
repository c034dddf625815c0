"""Entering through the page (abuse defences), retention, export and erasure of one address."""

import json
import re
import secrets
import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from surveys.models import Answer, ConsentRecord, DrawPlacement, Entry, PrizeDraw, Response
from surveys.services import draws as draw_services
from surveys.services.personal_data import draws_due_erasure
from surveys.tasks import draws_retention_erase
from surveys.tests.factories import draw_closed, draw_create, entries_confirmed, survey_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader_ip():
    """A fresh client address per test: rate-limit counters live in a cache shared by tests."""
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{secrets.randbelow(254) + 1}"


@pytest.fixture
def client(client, reader_ip):
    client.defaults["REMOTE_ADDR"] = reader_ip
    return client


def entry_data(**overrides):
    return {
        "email": f"reader-{uuid.uuid4().hex[:8]}@example.com",
        "country": "GB",
        "age_confirmed": "on",
        "accept_terms": "on",
        "marketing": "on",
        **overrides,
    }


def answered(client):
    client.post(
        "/surveys/reader-survey/",
        {"often": "daily", "topics": ["sport"], "page": "1", "draft": "tok-privacy"},
    )
    client.post(
        "/surveys/reader-survey/",
        {"score": "7", "member": "yes", "page": "2", "draft": "tok-privacy"},
    )
    return Response.objects.get()


def test_reader_enters_after_the_survey_and_the_entry_links_the_response(
    client, django_capture_on_commit_callbacks
):
    survey = survey_create()
    draw = draw_create(survey=survey)
    response = answered(client)
    thanks = client.get("/surveys/reader-survey/thanks/?draft=tok-privacy")
    assert "Enter the prize draw" in thanks.content.decode()
    assert "The rules." in thanks.content.decode()  # the terms are shown before entry

    with django_capture_on_commit_callbacks() as callbacks:
        sent = client.post("/surveys/reader-survey/draw/enter/", entry_data(draft="tok-privacy"))

    assert sent.status_code == 200
    assert "Check your inbox" in sent.content.decode()
    assert len(callbacks) == 1
    entry = Entry.objects.get(draw=draw)
    assert entry.response == response
    assert entry.flagged_fast  # the survey was answered within the test's first seconds


def test_entry_form_says_what_is_wrong_next_to_the_field(client):
    draw_create(survey=survey_create())

    page = client.post(
        "/surveys/reader-survey/draw/enter/", entry_data(email="not-an-address", age_confirmed="")
    )

    assert page.status_code == 400
    html = page.content.decode()
    for name, said in (
        ("email", "does not look like an e-mail address"),
        ("age_confirmed", "Please confirm your age"),
    ):
        # The field says it is wrong, and names the message that says why (it pointed at none).
        found = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
        assert found is not None, name
        field = found.group(0)
        assert 'aria-invalid="true"' in field
        described = re.search(r'aria-describedby="([^"]+)"', field)
        assert described is not None, field
        messages = [
            html.split(f'id="{ref}">', 1)[1].split("<", 1)[0]
            for ref in described.group(1).split()
            if f'id="{ref}">' in html
        ]
        assert any(said in message for message in messages), (name, messages)
    assert 'id="rs-errors"' in html  # the summary above the form
    assert not Entry.objects.exists()


def test_honeypot_filled_is_refused_with_a_neutral_message(client):
    draw_create(survey=survey_create())

    page = client.post("/surveys/reader-survey/draw/enter/", entry_data(website="http://spam"))

    assert page.status_code == 400
    assert "We could not accept this form" in page.content.decode()
    assert not Entry.objects.exists()


def test_rate_limit_per_email(client, settings, django_capture_on_commit_callbacks):
    settings.SURVEYS_RATE_LIMIT_PER_EMAIL = 2
    draw_create(survey=survey_create())
    same = f"Same-{uuid.uuid4().hex[:8]}@Example.com"

    with django_capture_on_commit_callbacks():
        codes = [
            client.post("/surveys/reader-survey/draw/enter/", entry_data(email=same)).status_code
            for _ in range(3)
        ]

    assert codes == [200, 200, 400]
    assert Entry.objects.count() == 1


def test_rate_limit_per_address(client, settings, django_capture_on_commit_callbacks):
    settings.SURVEYS_RATE_LIMIT_PER_IP = 2
    draw_create(survey=survey_create())

    with django_capture_on_commit_callbacks():
        codes = [
            client.post(
                "/surveys/reader-survey/draw/enter/",
                entry_data(email=f"r{i}-{uuid.uuid4().hex[:8]}@example.com"),
            ).status_code
            for i in range(3)
        ]

    assert codes == [200, 200, 400]
    assert Entry.objects.count() == 2


def test_challenge_is_required_when_configured(client, settings):
    settings.TURNSTILE_SITE_KEY = "site"
    settings.TURNSTILE_SECRET_KEY = "secret"
    draw_create(survey=survey_create())

    page = client.post("/surveys/reader-survey/draw/enter/", entry_data())

    assert page.status_code == 400
    assert "not a robot" in page.content.decode()
    assert not Entry.objects.exists()


def complete_draw_with_winner():
    draw = draw_create(survey=survey_create(), reserves_count=0)
    entries = entries_confirmed(draw=draw, count=2)
    draw_closed(draw=draw)
    draw_services.draw_run(draw_id=draw.pk)
    winner = DrawPlacement.objects.get(draw=draw)
    draw_services.placement_claim(
        placement_id=winner.pk,
        nonce=winner.claim_nonce,
        first_name="Ann",
        county="Kent",
        publish_name=True,
    )
    draw.refresh_from_db()
    assert draw.status == PrizeDraw.Status.COMPLETE
    return draw, entries


def test_personal_data_is_erased_after_the_retention_period(settings):
    settings.SURVEYS_ERASE_AFTER_DAYS = 30
    draw, _ = complete_draw_with_winner()
    now = timezone.now()
    assert draws_due_erasure(now=now + timedelta(days=29)) == []
    assert draws_due_erasure(now=now + timedelta(days=31)) == [draw.pk]
    PrizeDraw.objects.filter(pk=draw.pk).update(completed_at=now - timedelta(days=31))

    draws_retention_erase()

    assert list(Entry.objects.values_list("email", flat=True)) == ["", ""]
    assert all(
        e.startswith("erased:") for e in Entry.objects.values_list("email_normalised", flat=True)
    )
    placement = DrawPlacement.objects.get()
    assert (placement.first_name, placement.county) == ("", "")
    draw.refresh_from_db()
    assert draw.personal_data_erased_at is not None
    # The draw stays checkable: anonymised ids, seed and fingerprint remain.
    from surveys.proof import bundle_verify
    from surveys.selectors import draw_proof_bundle

    assert bundle_verify(draw_proof_bundle(draw=draw)) == []


def test_answers_stay_after_erasure_but_hold_no_address(client):
    survey = survey_create()
    draw = draw_create(survey=survey)
    answered(client)
    entries_confirmed(draw=draw, count=1)
    Entry.objects.update(response=Response.objects.get())

    call_command("personal_data", "erase", "reader0@example.com")

    assert Answer.objects.count() == 4
    assert Entry.objects.get().email == ""


def test_personal_data_command_exports_everything_about_one_address(capsys):
    _, entries = complete_draw_with_winner()
    ConsentRecord.objects.create(
        entry=entries[0], kind="marketing", granted=True, wording="News please"
    )

    call_command("personal_data", "export", "READER0@example.com")

    out = json.loads(capsys.readouterr().out)
    exported = out["surveys"]["draw_entries"]
    assert len(exported) == 1
    assert exported[0]["email"] == "reader0@example.com"
    assert exported[0]["consents"][0]["wording"] == "News please"


def test_personal_data_command_erases_and_withdraws_open_entries(capsys):
    draw = draw_create(survey=survey_create())
    entries_confirmed(draw=draw, count=2)

    call_command("personal_data", "erase", "reader1@example.com")

    erased = Entry.objects.get(email="")
    assert erased.status == Entry.Status.DISQUALIFIED
    assert erased.erased_at is not None
    assert Entry.objects.filter(email="reader0@example.com").exists()
    capsys.readouterr()
    call_command("personal_data", "export", "reader1@example.com")
    assert json.loads(capsys.readouterr().out)["surveys"]["draw_entries"] == []


def test_personal_data_command_rejects_a_non_address():
    with pytest.raises(CommandError, match="not an e-mail address"):
        call_command("personal_data", "export", "nobody")


def test_personal_data_command_covers_contributions_and_keeps_finance_records(capsys):
    from payments.models import Contribution, Payment, ReceiptSend, Supporter

    supporter = Supporter.objects.create(email="Giver@Example.com", name="Gwen Giver")
    contribution = Contribution.objects.create(
        supporter=supporter,
        frequency="one_off",
        amount_minor=1000,
        currency="EUR",
        marketing_consent=True,
        marketing_consent_text="News please",
        article_url="https://news.example/a",
    )
    payment = Payment.objects.create(
        contribution=contribution, kind=Payment.Kind.ONE_OFF, gross_minor=1000, currency="EUR"
    )
    ReceiptSend.objects.create(payment=payment, kind="receipt", to_email="Giver@Example.com")

    call_command("personal_data", "export", "giver@example.com")
    exported = json.loads(capsys.readouterr().out)["payments"]["supporters"]
    assert exported[0]["name"] == "Gwen Giver"
    assert exported[0]["contributions"][0]["payments"][0]["gross_minor"] == 1000

    call_command("personal_data", "erase", "giver@example.com")

    supporter.refresh_from_db()
    assert supporter.name == ""
    assert "giver" not in supporter.email.lower()
    assert ReceiptSend.objects.get().to_email == supporter.email
    contribution.refresh_from_db()
    assert (contribution.amount_minor, contribution.article_url) == (1000, "")
    assert not contribution.marketing_consent
    assert Payment.objects.get().gross_minor == 1000  # the books keep the money


def test_abandoned_drafts_are_dropped_but_finished_ones_kept(client, settings):
    from surveys.models import SurveyDraft

    settings.SURVEYS_DRAFT_DAYS = 30
    survey_create()
    answered(client)  # finished: keeps its draft (it shows the thank-you page)
    client.post(
        "/surveys/reader-survey/",
        {"often": "daily", "topics": ["sport"], "page": "1", "draft": "tok-abandoned"},
    )
    SurveyDraft.objects.update(updated_at=timezone.now() - timedelta(days=31))

    draws_retention_erase()

    assert list(SurveyDraft.objects.values_list("token", flat=True)) == ["tok-privacy"]


def test_support_finds_an_entry_by_any_spelling_of_the_address(client):
    from django.contrib.auth.models import Group, User

    draw = draw_create(survey=survey_create())
    entries_confirmed(draw=draw, count=1)
    Entry.objects.update(email="Jane.Doe@gmail.com", email_normalised="janedoe@gmail.com")
    user = User.objects.create_user(username="helpdesk", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="support"))
    client.force_login(user)

    page = client.get("/admin/surveys/entry/", {"q": "janedoe+prize@googlemail.com"})

    assert "Jane.Doe@gmail.com" in page.content.decode()
    entry = Entry.objects.get()
    assert (
        "Jane.Doe@gmail.com"
        in client.get(f"/admin/surveys/entry/{entry.pk}/change/").content.decode()
    )
    editor = User.objects.create_user(username="ed", password="x", is_staff=True)
    editor.groups.add(Group.objects.get(name="editorial"))
    client.force_login(editor)
    assert "Jane.Doe" not in client.get(f"/admin/surveys/entry/{entry.pk}/change/").content.decode()
    assert (
        "Jane.Doe"
        not in client.get("/admin/surveys/entry/", {"q": "janedoe@gmail.com"}).content.decode()
    )
