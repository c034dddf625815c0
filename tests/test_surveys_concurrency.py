"""Readers answering the same survey at the same moment must not wait for each other.

Against PostgreSQL's real row locks: a submission holds a lock on its own draft only, never on
the survey or its version, which every other reader's submission needs too (their foreign keys
are checked with a share lock on those rows at commit).
"""

import threading

import pytest
from django.db import connection, transaction

from surveys.models import Response
from surveys.services.surveys import draft_page_save, response_submit
from surveys.tests.factories import (
    generous_rate_limits,  # noqa: F401 - fixture
    survey_create,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def draft_for(survey, token: str):
    draft_page_save(
        survey=survey,
        token=token,
        page=1,
        page_answers={"often": "daily", "topics": ["Sport"]},
        next_page=2,
        attribution={},
    )
    return draft_page_save(
        survey=survey,
        token=token,
        page=2,
        page_answers={"score": 8, "member": "yes"},
        next_page=2,
        attribution={},
    )


def test_a_submission_in_progress_does_not_block_another_readers():
    survey = survey_create()
    first, second = draft_for(survey, "reader-one"), draft_for(survey, "reader-two")
    holding, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def slow_submission() -> None:
        try:
            with transaction.atomic():
                response_submit(draft_id=first.pk)
                holding.set()
                release.wait(timeout=30)
        except BaseException as error:  # reported by the test
            failures.append(error)
            holding.set()
        finally:
            connection.close()

    thread = threading.Thread(target=slow_submission)
    thread.start()
    try:
        assert holding.wait(timeout=30)
        with transaction.atomic():
            with connection.cursor() as cursor:
                # Blocked by a lock on the survey or version, this fails instead of waiting.
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            response_submit(draft_id=second.pk)
    finally:
        release.set()
        thread.join(timeout=30)
    assert failures == []
    assert Response.objects.filter(survey=survey).count() == 2


@pytest.mark.usefixtures("generous_rate_limits")
def test_a_submission_is_few_queries_and_the_last_page_one_transaction(client):
    """A front-page burst is bounded by database round trips: keep them counted."""
    from django.test.utils import CaptureQueriesContext

    survey_create()
    path = "/surveys/reader-survey/"
    first = {"often": "daily", "topics": ["politics"], "page": "1", "draft": "tok-123456"}
    last = {
        "score": "9",
        "member": "no",
        "why": "Money is tight",
        "page": "2",
        "draft": "tok-123456",
    }
    with CaptureQueriesContext(connection) as page_one:
        assert client.post(path, first).status_code == 302
    with CaptureQueriesContext(connection) as page_two:
        assert client.post(path, last).status_code == 302
    statements = [query["sql"].split()[0] for query in page_two.captured_queries]
    assert len(page_one.captured_queries) <= 4, [q["sql"] for q in page_one.captured_queries]
    assert len(page_two.captured_queries) <= 8, [q["sql"] for q in page_two.captured_queries]
    assert statements.count("COMMIT") == 1  # the last page's answers and the response together
    response = Response.objects.get(survey__slug="reader-survey")
    assert response.answers.filter(question_key="why").get().text == "Money is tight"


def test_a_new_readers_first_page_into_a_draft_made_meanwhile_keeps_both():
    """The first page of a new draft is one INSERT; if the token is taken by then (the same
    reader's other tab), the page is stored into that draft instead of failing."""
    survey = survey_create()
    version = survey.versions.get()
    draft_page_save(
        survey=survey,
        token="reader-tab",
        page=2,
        page_answers={"score": 8, "member": "yes"},
        next_page=2,
        attribution={},
        version=version,
        expect_new=True,
    )
    draft = draft_page_save(
        survey=survey,
        token="reader-tab",
        page=1,
        page_answers={"often": "daily", "topics": ["Sport"]},
        next_page=2,
        attribution={},
        version=version,
        expect_new=True,
    )
    draft.refresh_from_db()
    assert draft.answers == {"score": 8, "member": "yes", "often": "daily", "topics": ["Sport"]}


@pytest.mark.usefixtures("generous_rate_limits")
def test_a_draw_entry_after_the_survey_is_few_queries(client):
    from django.test.utils import CaptureQueriesContext

    from surveys.models import Entry
    from surveys.tests.factories import draw_create

    survey = survey_create()
    draw_create(survey=survey)
    path = "/surveys/reader-survey/"
    client.post(
        path, {"often": "daily", "topics": ["politics"], "page": "1", "draft": "tok-123456"}
    )
    client.post(path, {"score": "9", "member": "yes", "page": "2", "draft": "tok-123456"})
    entry = {
        "email": "reader@example.com",
        "country": "GB",
        "age_confirmed": "on",
        "accept_terms": "on",
        "draft": "tok-123456",
    }
    with CaptureQueriesContext(connection) as queries:
        assert client.post(f"{path}draw/enter/", entry).status_code == 200
    assert len(queries.captured_queries) <= 8, [q["sql"] for q in queries.captured_queries]
    assert Entry.objects.get().response == Response.objects.get()
