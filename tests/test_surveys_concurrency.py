"""Readers answering the same survey at the same moment must not wait for each other.

Against PostgreSQL's real row locks: a submission holds a lock on its own draft only, never on
the survey or its version, which every other reader's submission needs too (their foreign keys
are checked with a share lock on those rows at commit).
"""

import threading
from typing import Any

import pytest
from django.db import connection, transaction

from surveys.models import Response, Survey
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
def test_a_submission_is_few_queries_and_the_last_page_one_statement(client):
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
    assert client.get(path).status_code == 200  # the reader opens the survey first
    with CaptureQueriesContext(connection) as page_one:
        assert client.post(path, first).status_code == 302
    with CaptureQueriesContext(connection) as page_two:
        assert client.post(path, last).status_code == 302
    statements = [query["sql"].split()[0] for query in page_two.captured_queries]
    # The survey and its questions come from the process's copy: a new reader's page one is the
    # draft's INSERT alone; the last page reads the draft and writes everything in one statement
    # (its own transaction: the draft submitted, the response and its answers together).
    assert [q["sql"].split()[0] for q in page_one.captured_queries] == ["INSERT"]
    assert statements == ["SELECT", "WITH"], [q["sql"] for q in page_two.captured_queries]
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


def _page_one(survey, token: str, answers: dict) -> None:
    draft_page_save(
        survey=survey, token=token, page=1, page_answers=answers, next_page=2, attribution={}
    )


def test_a_last_page_sent_after_another_tab_changed_the_draft_keeps_that_tabs_answers():
    """The one-statement submission writes only the draft as the reader's request read it; if
    another tab saved a page meanwhile, the locked path submits with that tab's answers."""
    from surveys.models import SurveyDraft
    from surveys.services.surveys import draft_submit

    survey = survey_create()
    _page_one(survey, "two-tabs", {"often": "daily", "topics": ["Sport"]})
    seen = SurveyDraft.objects.get(token="two-tabs")
    _page_one(survey, "two-tabs", {"often": "weekly", "topics": ["Culture"]})  # the other tab

    response = draft_submit(
        survey=survey,
        token="two-tabs",
        page=2,
        page_answers={"score": 8, "member": "yes"},
        attribution={},
        version=survey.versions.get(),
        seen=seen,
    )

    chosen = dict(response.answers.filter(first_value=True).values_list("question_key", "value"))
    assert chosen == {"often": "weekly", "topics": "Culture", "score": "8", "member": "yes"}
    assert SurveyDraft.objects.get(token="two-tabs").response == response


def test_a_last_page_sent_twice_at_once_makes_one_response():
    """Both requests read the draft unsubmitted; the second statement finds it submitted and
    writes nothing, and the locked path tells the reader."""
    from surveys.models import SurveyDraft
    from surveys.services.surveys import SurveyError, draft_submit

    survey = survey_create()
    _page_one(survey, "double-click", {"often": "daily", "topics": ["Sport"]})
    first_seen = SurveyDraft.objects.get(token="double-click")
    second_seen = SurveyDraft.objects.get(token="double-click")
    last: dict[str, Any] = {
        "survey": survey,
        "token": "double-click",
        "page": 2,
        "page_answers": {"score": 8, "member": "yes"},
        "attribution": {},
        "version": survey.versions.get(),
    }

    draft_submit(**last, seen=first_seen)
    with pytest.raises(SurveyError, match="already sent"):
        draft_submit(**last, seen=second_seen)

    assert Response.objects.filter(survey=survey).count() == 1


@pytest.mark.usefixtures("generous_rate_limits")
def test_a_one_page_survey_is_sent_in_one_statement_even_when_the_token_is_taken(client):
    from django.test.utils import CaptureQueriesContext

    from surveys.models import SurveyDraft

    survey_create(slug="one-page", questions=[{"key": "q", "kind": "yes_no", "text": "Q?"}])
    path = "/surveys/one-page/"
    assert client.get(path).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        sent = client.post(path, {"q": "yes", "page": "1", "draft": "tok-single"})
    assert sent.status_code == 302
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["SELECT", "WITH"]
    assert Response.objects.get().answers.get().value == "yes"
    assert SurveyDraft.objects.get(token="tok-single").response == Response.objects.get()

    # A new reader whose token gets a draft between the read and the write (their other tab):
    # the statement writes nothing and the locked path submits that draft.
    from surveys.services.surveys import draft_submit

    version = Survey.objects.get(slug="one-page").versions.get()
    draft_page_save(
        survey=version.survey,
        token="tok-race",
        page=1,
        page_answers={"q": "no"},
        next_page=1,
        attribution={},
    )
    response = draft_submit(
        survey=version.survey,
        token="tok-race",
        page=1,
        page_answers={"q": "yes"},
        attribution={},
        version=version,
        expect_new=True,
    )
    assert response.answers.get().value == "yes"
    assert SurveyDraft.objects.get(token="tok-race").response == response


@pytest.mark.usefixtures("generous_rate_limits")
def test_a_first_page_sent_again_goes_into_the_readers_draft_not_a_new_one(client):
    """Page one is stored by an INSERT that reads nothing first; a token that has a draft
    already (the reader came back to page one) takes the usual path into that draft."""
    from surveys.models import SurveyDraft

    survey_create()
    path = "/surveys/reader-survey/"
    page_one = {"often": "daily", "topics": ["politics"], "page": "1", "draft": "tok-again"}
    assert client.post(path, page_one).status_code == 302
    assert client.post(path, {**page_one, "often": "weekly"}).status_code == 302

    draft = SurveyDraft.objects.get(token="tok-again")
    assert draft.answers == {"often": "weekly", "topics": ["politics"]}
    assert draft.page == 2

    last = {"score": "9", "member": "yes", "page": "2", "draft": "tok-again"}
    assert client.post(path, last).status_code == 302
    again = client.post(path, page_one)
    assert again.status_code == 302
    assert again["Location"] == "/surveys/reader-survey/thanks/?draft=tok-again"
    assert SurveyDraft.objects.count() == 1
    assert Response.objects.count() == 1
