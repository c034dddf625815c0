"""Each web process serves surveys from its own copy (see surveys/served.py): a staff edit
reaches readers at once in the process that made it, and within SURVEYS_REFRESH_SECONDS in
every other one."""

import subprocess
import sys

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from surveys.models import Question, Survey
from surveys.services.surveys import survey_version_publish
from surveys.tests.factories import survey_create
from tests.conftest import BASE_DIR, _test_database_env

PATH = "/surveys/reader-survey/"


@pytest.mark.django_db
def test_a_served_survey_costs_no_query_to_find(client):
    survey_create()
    assert client.get(PATH).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get(PATH).status_code == 200
    assert not any("surveys_survey" in q["sql"] for q in queries.captured_queries)


@pytest.mark.django_db
def test_closing_a_survey_reaches_readers_at_once(client):
    survey = survey_create()
    assert client.get(PATH).status_code == 200

    survey.status = Survey.Status.CLOSED
    survey.save()

    assert client.get(PATH).status_code == 410


@pytest.mark.django_db
def test_a_new_wording_published_reaches_readers_at_once(client):
    survey = survey_create()
    assert b"How often?" in client.get(PATH).content

    question = survey.questions.get(key="often")
    question.text = "How often do you read us?"
    question.save()
    survey_version_publish(survey=survey)

    assert b"How often do you read us?" in client.get(PATH).content


@pytest.mark.django_db
def test_a_survey_deleted_is_no_longer_served(client):
    survey = survey_create()
    assert client.get(PATH).status_code == 200
    survey.versions.all().delete()
    Question.objects.filter(survey=survey).delete()
    survey.delete()
    assert client.get(PATH).status_code == 404


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_edit_in_another_process_reaches_this_one_at_its_next_check(client, settings):
    survey_create()
    settings.SURVEYS_REFRESH_SECONDS = 0
    assert client.get(PATH).status_code == 200  # checked the token, and keeps a copy
    settings.SURVEYS_REFRESH_SECONDS = 3600
    close = (
        "from surveys.models import Survey; s = Survey.objects.get(slug='reader-survey'); "
        "s.status = 'closed'; s.save()"
    )
    subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "manage.py", "shell", "-c", close],
        cwd=BASE_DIR,
        env=_test_database_env(),
        check=True,
        timeout=120,
    )
    # Before its next check this process still serves its copy (that is the price of the copy) ...
    assert client.get(PATH).status_code == 200
    # ... and at the check it sees the other process's edit.
    settings.SURVEYS_REFRESH_SECONDS = 0
    assert client.get(PATH).status_code == 410


@pytest.mark.django_db
def test_with_the_cache_down_surveys_are_read_again_at_each_check(client, settings):
    survey = survey_create()
    settings.SURVEYS_REFRESH_SECONDS = 0
    assert client.get(PATH).status_code == 200
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.CLOSED)  # as elsewhere
    settings.CACHES = {
        "default": {
            "BACKEND": "config.redis_cache.ReusedClientRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens: Redis is down
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    with pytest.raises(Exception):  # noqa: B017 - whatever the client raises
        cache.get("probe")

    assert client.get(PATH).status_code == 410
