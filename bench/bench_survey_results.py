"""The admin results page of a survey with 100,000 responses must render in under 1 second;
response submission throughput is reported.

Baselines in the same run: the admin's survey list (a plain admin page) for the results page, and
the bare services (no HTTP) for submissions.

    BENCH_SURVEY_RESPONSES=100000 BENCH_SURVEY_SUBMISSIONS=300 \\
        .venv/bin/python -m bench bench_survey_results
"""

import os
import random
import statistics
import time
from datetime import timedelta
from typing import Any

from bench.bench_draw import bench_database, copy_rows

TARGET_SECONDS = 1.0
QUESTIONS: list[dict[str, Any]] = [
    {"key": "often", "kind": "single", "text": "How often?",
     "choices": "daily\nweekly\nmonthly\nrarely"},
    {"key": "topics", "kind": "multiple", "text": "Topics?",
     "choices": "politics\nsport\nculture\nbusiness", "allow_other": True},
    {"key": "score", "kind": "nps", "text": "Recommend?", "page": 2},
    {"key": "member", "kind": "yes_no", "text": "Supporter?", "page": 2},
    {"key": "why", "kind": "long_text", "text": "Why?", "page": 2, "required": False},
]  # fmt: skip


def build(responses: int):
    from django.db import connection
    from django.utils import timezone

    from surveys.models import Answer, Question, Response, Survey
    from surveys.services.surveys import survey_version_publish

    survey = Survey.objects.create(title="Bench survey", slug="bench-survey", status="open")
    for position, question in enumerate(QUESTIONS):
        Question.objects.create(survey=survey, position=position, **question)
    version = survey_version_publish(survey=survey)
    now = timezone.now()
    rng = random.Random(7)
    copy_rows(
        "surveys_response",
        ["survey_id", "version_id", "started_at", "submitted_at", "duration_seconds",
         "flagged_fast", "campaign", "variant", "placement", "article_url"],
        (
            (survey.pk, version.pk, now, now - timedelta(minutes=rng.randrange(60 * 24 * 60)),
             rng.randrange(5, 600), False, "", "", "", "")
            for _ in range(responses)
        ),
        Response,
    )  # fmt: skip
    first_id = Response.objects.filter(survey=survey).order_by("id").values_list("id", flat=True)[0]

    def answers():
        for response_id in range(first_id, first_id + responses):
            base = (survey.pk, version.pk, response_id)
            yield (*base, "often", rng.choice(["daily", "weekly", "monthly", "rarely"]), "", True)
            topics = rng.sample(["politics", "sport", "culture", "business"], rng.randint(1, 3))
            for index, topic in enumerate(topics):
                yield (*base, "topics", topic, "", index == 0)
            yield (*base, "score", str(rng.randrange(11)), "", True)
            yield (*base, "member", rng.choice(["yes", "no"]), "", True)
            if rng.random() < 0.2:
                yield (*base, "why", "", "Some words about why, as readers write them.", True)

    copy_rows(
        "surveys_answer",
        ["survey_id", "version_id", "response_id", "question_key", "value", "text", "first_value"],
        answers(),
        Answer,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # What autovacuum does to insert-only tables in production: statistics, and the
            # visibility map that lets results be read from the indexes alone.
            cursor.execute("VACUUM ANALYZE surveys_response")
            cursor.execute("VACUUM ANALYZE surveys_answer")
    return survey


def timed_get(client, url: str, runs: int = 5) -> float:
    client.get(url)  # warm up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
    return statistics.median(times)


def submissions(survey, count: int) -> tuple[float, float]:
    """Return submissions per second through HTTP (two pages each) and through services only."""
    from django.test import Client

    from surveys.models import SurveyDraft
    from surveys.services.surveys import draft_page_save, response_submit

    client = Client()
    started = time.perf_counter()
    for i in range(count):
        token = f"bench-http-{i:08d}"
        first = client.post(
            "/surveys/bench-survey/",
            {"often": "daily", "topics": ["sport"], "page": "1", "draft": token},
        )
        second = client.post(
            first["Location"], {"score": "8", "member": "yes", "page": "2", "draft": token}
        )
        assert second.status_code == 302, second.status_code
    http_rate = count / (time.perf_counter() - started)

    started = time.perf_counter()
    for i in range(count):
        token = f"bench-svc-{i:08d}"
        draft_page_save(
            survey=survey,
            token=token,
            page=1,
            page_answers={"often": "weekly", "topics": ["culture"]},
            next_page=2,
            attribution={},
        )
        draft = draft_page_save(
            survey=survey,
            token=token,
            page=2,
            page_answers={"score": 3, "member": "no"},
            next_page=2,
            attribution={},
        )
        response_submit(draft_id=draft.pk)
    service_rate = count / (time.perf_counter() - started)
    assert SurveyDraft.objects.filter(response__isnull=False).count() == 2 * count
    return http_rate, service_rate


def main() -> None:
    responses = int(os.environ.get("BENCH_SURVEY_RESPONSES", "100000"))
    count = int(os.environ.get("BENCH_SURVEY_SUBMISSIONS", "300"))
    with bench_database("bench_surveys_results"):
        from django.conf import settings
        from django.contrib.auth.models import User
        from django.test import Client

        settings.SURVEYS_RATE_LIMIT_PER_IP = 10**9
        # Plain HTTP and unhashed static files, as in the tests (no proxy, no collectstatic).
        settings.SECURE_SSL_REDIRECT = False
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        started = time.perf_counter()
        survey = build(responses)
        print(f"built {responses:,} responses in {time.perf_counter() - started:.1f}s")

        client = Client()
        client.force_login(User.objects.create_superuser("bench", "bench@example.com", "x"))
        baseline = timed_get(client, "/admin/surveys/survey/")
        results = timed_get(client, f"/admin/surveys/survey/{survey.pk}/results/")
        crosstab = timed_get(
            client, f"/admin/surveys/survey/{survey.pk}/results/?row=often&column=member"
        )
        print(f"baseline: admin survey list                 {baseline * 1000:7.0f} ms")
        print(f"results page, {responses:,} responses       {results * 1000:7.0f} ms")
        print(f"results page with a cross-tab               {crosstab * 1000:7.0f} ms")
        verdict = "OK" if max(results, crosstab) < TARGET_SECONDS else "TOO SLOW"
        print(f"results page: target < {TARGET_SECONDS * 1000:.0f} ms: {verdict}")

        http_rate, service_rate = submissions(survey, count)
        print(f"submissions through HTTP (2 pages each)     {http_rate:7.0f} responses/s")
        print(f"baseline: the same through services only    {service_rate:7.0f} responses/s")


if __name__ == "__main__":
    main()
