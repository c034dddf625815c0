"""A last page whose earlier pages' answers are not held (the reader's draft expired after
SURVEYS_DRAFT_DAYS, or a request skipped a page) is not recorded as a response with required
answers missing: the reader is taken back to the first page that needs answers, and told why."""

import uuid

import pytest

from surveys.models import Response, SurveyDraft
from surveys.tests.factories import survey_create

pytestmark = pytest.mark.django_db

PAGE_ONE = {"often": "daily", "topics": ["sport"], "page": "1"}
PAGE_TWO = {"score": "9", "member": "yes", "page": "2"}


@pytest.fixture
def client(client):
    client.defaults["REMOTE_ADDR"] = f"10.88.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    return client


@pytest.fixture
def survey():
    return survey_create()


def test_the_last_page_without_a_draft_asks_for_the_first_page_again(client, survey):
    page = client.post("/surveys/reader-survey/", {**PAGE_TWO, "draft": "tok-expired"})

    assert Response.objects.count() == 0
    html = page.content.decode()
    assert 'name="page" value="1"' in html
    assert "We no longer have your answers to the earlier questions" in html
    assert "How often?" in html


def test_a_skipped_page_is_asked_for_before_the_last_one_is_taken(client, survey):
    SurveyDraft.objects.create(
        token="tok-skipped", survey=survey, version=survey.versions.get(), answers={}, page=2
    )
    page = client.post("/surveys/reader-survey/", {**PAGE_TWO, "draft": "tok-skipped"})

    assert Response.objects.count() == 0
    assert 'name="page" value="1"' in page.content.decode()


def test_a_reader_who_answered_every_page_is_recorded(client, survey):
    assert (
        client.post("/surveys/reader-survey/", {**PAGE_ONE, "draft": "tok-whole"}).status_code
        == 302
    )
    done = client.post("/surveys/reader-survey/", {**PAGE_TWO, "draft": "tok-whole"})

    assert done.status_code == 302
    response = Response.objects.get()
    assert set(response.answers.values_list("question_key", flat=True)) == {
        "often",
        "topics",
        "score",
        "member",
    }
