"""Admin: results (charts, cross-tab, over time), exports with and without personal data, roles."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from staff.roles import EDITORIAL, FINANCE, SUPPORT
from surveys.models import Answer, DrawAuditEvent, Entry, Response
from surveys.tests.factories import (
    draw_create,
    entries_confirmed,
    generous_rate_limits,  # noqa: F401 - fixture
    survey_create,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_rate_limits")]


def staff_member(role):
    user = User.objects.create_user(username=f"{role}-user", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


def add_responses(survey, rows):
    """rows: list of dicts question_key -> value (list for multiple, str for text)."""
    version = survey.versions.get()
    now = timezone.now()
    for index, answers in enumerate(rows):
        response = Response.objects.create(
            survey=survey,
            version=version,
            started_at=now,
            submitted_at=now - timedelta(days=index % 2),
            duration_seconds=30,
        )
        for key, value in answers.items():
            values = value if isinstance(value, list) else [value]
            for index, item in enumerate(values):
                text = item if key == "why" else ""
                Answer.objects.create(
                    survey=survey,
                    version=version,
                    response=response,
                    question_key=key,
                    value="" if text else item,
                    text=text,
                    first_value=index == 0,
                )
    return version


@pytest.fixture
def survey_with_answers():
    survey = survey_create()
    add_responses(
        survey,
        [
            {"often": "daily", "topics": ["politics", "sport"], "member": "yes"},
            {"often": "daily", "topics": ["sport"], "member": "no", "why": "Too expensive"},
            {
                "often": "weekly",
                "topics": ["culture"],
                "member": "no",
                "why": "Never thought of it",
            },
            {"often": "weekly", "topics": ["sport"], "member": "yes"},
        ],
    )
    return survey


def test_results_show_counts_percentages_texts_and_over_time(client, survey_with_answers):
    client.force_login(staff_member(EDITORIAL))

    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/admin/surveys/survey/{survey_with_answers.pk}/results/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>4</strong> responses" in html
    assert "2 (50.0%)" in html  # daily
    assert "3 (75.0%)" in html  # sport, of 4 who answered topics
    assert "Too expensive" in html and "Never thought of it" in html
    assert "<svg" in html and "cdn" not in html.lower()
    assert html.count('class="bar"') >= 2
    assert len(queries) < 30  # a fixed number of aggregate queries, not one per response


def test_query_count_does_not_grow_with_responses(client, survey_with_answers):
    client.force_login(staff_member(EDITORIAL))
    url = f"/admin/surveys/survey/{survey_with_answers.pk}/results/"
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    add_responses(survey_with_answers, [{"often": "daily", "topics": ["politics"]}] * 20)

    with CaptureQueriesContext(connection) as after:
        client.get(url)

    assert len(after) == len(before)


def test_crosstab_of_two_choice_questions(client, survey_with_answers):
    client.force_login(staff_member(EDITORIAL))

    page = client.get(
        f"/admin/surveys/survey/{survey_with_answers.pk}/results/?row=often&column=member"
    )

    html = page.content.decode()
    table = html[html.index('class="rs-crosstab"') :]
    assert '<th scope="row">Daily</th><td>1</td><td>1</td>' in table
    assert '<th scope="row">Weekly</th><td>1</td><td>1</td>' in table


def test_results_per_version_and_across_versions(client, survey_with_answers):
    from surveys.models import Question
    from surveys.services.surveys import survey_version_publish

    Question.objects.filter(survey=survey_with_answers, key="often").update(
        text="Reading frequency"
    )
    version2 = survey_version_publish(survey=survey_with_answers)
    now = timezone.now()
    response = Response.objects.create(
        survey=survey_with_answers,
        version=version2,
        started_at=now,
        submitted_at=now,
        duration_seconds=9,
    )
    Answer.objects.create(
        survey=survey_with_answers,
        version=version2,
        response=response,
        question_key="often",
        value="daily",
    )
    client.force_login(staff_member(EDITORIAL))
    url = f"/admin/surveys/survey/{survey_with_answers.pk}/results/"

    across = client.get(url).content.decode()
    only_v2 = client.get(url + "?version=2").content.decode()

    assert "<strong>5</strong> responses" in across
    assert "3 (60.0%)" in across  # daily across both versions, by key
    assert "Reading frequency" in across
    assert "<strong>1</strong> responses" in only_v2


def read_csv(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_export_is_streamed_without_personal_data_for_editorial(client, survey_with_answers):
    draw = draw_create(survey=survey_with_answers)
    entry = entries_confirmed(draw=draw, count=1)[0]
    Entry.objects.filter(pk=entry.pk).update(response=Response.objects.order_by("id").first())
    client.force_login(staff_member(EDITORIAL))

    response = client.get(f"/admin/surveys/survey/{survey_with_answers.pk}/export.csv")

    assert response.streaming
    rows = read_csv(response)
    assert rows[0][:3] == ["response", "version", "submitted_at"]
    assert "draw_entry_email" not in rows[0]
    assert len(rows) == 5
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["often"] == "daily"
    assert first["topics"] == "politics; sport"
    assert "reader0@example.com" not in str(rows)


def test_csv_export_includes_emails_only_with_the_permission(client, survey_with_answers):
    draw = draw_create(survey=survey_with_answers)
    entry = entries_confirmed(draw=draw, count=1)[0]
    Entry.objects.filter(pk=entry.pk).update(response=Response.objects.order_by("id").first())
    client.force_login(staff_member(SUPPORT))
    assert (
        client.get(f"/admin/surveys/survey/{survey_with_answers.pk}/export.csv").status_code == 403
    )

    user = staff_member(EDITORIAL)
    user.groups.add(Group.objects.get(name=SUPPORT))
    client.force_login(user)
    rows = read_csv(client.get(f"/admin/surveys/survey/{survey_with_answers.pk}/export.csv"))

    assert rows[0][-1] == "draw_entry_email"
    assert rows[1][-1] == "reader0@example.com"


def test_xlsx_export(client, survey_with_answers):
    import zipfile

    client.force_login(staff_member(EDITORIAL))

    response = client.get(f"/admin/surveys/survey/{survey_with_answers.pk}/export.xlsx")

    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    sheet = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<row ") == 5


def test_roles_for_draws_and_entries(client):
    draw = draw_create(survey=survey_create())
    entries_confirmed(draw=draw, count=1)

    client.force_login(staff_member(EDITORIAL))
    page = client.get("/admin/surveys/entry/")
    assert page.status_code == 200
    assert "reader0@example.com" not in page.content.decode()
    assert client.get(f"/admin/surveys/prizedraw/{draw.pk}/change/").status_code == 200
    assert client.get("/admin/surveys/drawauditevent/").status_code == 200

    client.force_login(staff_member(SUPPORT))
    page = client.get("/admin/surveys/entry/")
    assert "reader0@example.com" in page.content.decode()
    assert client.get("/admin/surveys/survey/").status_code == 403
    assert client.get("/admin/surveys/prizedraw/add/").status_code == 403

    client.force_login(staff_member(FINANCE))
    assert client.get("/admin/surveys/entry/").status_code == 403


def test_nobody_can_edit_or_delete_the_audit_log_in_the_admin(client):
    draw = draw_create(survey=survey_create())
    event = DrawAuditEvent.objects.get(draw=draw)
    admin_user = User.objects.create_superuser("root", "root@example.com", "x")
    client.force_login(admin_user)

    assert client.get("/admin/surveys/drawauditevent/add/").status_code == 403
    assert client.post(f"/admin/surveys/drawauditevent/{event.pk}/delete/").status_code == 403
    client.post(f"/admin/surveys/drawauditevent/{event.pk}/change/", {"action": "tampered"})
    event.refresh_from_db()
    assert event.action == "opened"


def test_staff_runs_the_draw_from_the_admin(client):
    from surveys.tests.factories import draw_closed

    draw = draw_create(survey=survey_create())
    entries_confirmed(draw=draw, count=3)
    draw_closed(draw=draw)
    client.force_login(staff_member(EDITORIAL))

    client.post(
        "/admin/surveys/prizedraw/",
        {"action": "run_draw", "_selected_action": [draw.pk]},
    )
    draw.refresh_from_db()
    assert draw.status == "drawn"
    audit = DrawAuditEvent.objects.filter(draw=draw, action="drawn").get()
    assert audit.actor == "editorial-user"

    page = client.post(
        "/admin/surveys/prizedraw/",
        {"action": "run_draw", "_selected_action": [draw.pk]},
        follow=True,
    )
    assert "can never run again" in page.content.decode()


def test_draw_page_in_the_admin_lists_draw_steps_not_every_entry(client):
    from surveys.services.entries import Consents, entry_confirm, entry_create

    draw = draw_create(survey=survey_create())
    entry = entry_create(
        draw=draw,
        email="one@example.com",
        country="GB",
        age_confirmed=True,
        consents=Consents(
            marketing=False, marketing_wording="m", publish_name=False, publish_wording="p"
        ),
    )
    entry_confirm(public_id=entry.public_id)
    client.force_login(staff_member(EDITORIAL))

    html = client.get(f"/admin/surveys/prizedraw/{draw.pk}/change/").content.decode()

    assert "opened" in html
    assert "entry_confirmed" not in html
    assert DrawAuditEvent.objects.filter(draw=draw, action="entry_confirmed").count() == 1
    assert "entry_confirmed" in client.get("/admin/surveys/drawauditevent/").content.decode()


def test_export_query_count_does_not_grow_with_responses(client, survey_with_answers):
    client.force_login(staff_member(EDITORIAL))
    url = f"/admin/surveys/survey/{survey_with_answers.pk}/export.csv"
    with CaptureQueriesContext(connection) as before:
        rows_before = read_csv(client.get(url))
    add_responses(survey_with_answers, [{"often": "weekly", "topics": ["culture"]}] * 25)

    with CaptureQueriesContext(connection) as after:
        rows_after = read_csv(client.get(url))

    assert len(rows_after) == len(rows_before) + 25
    assert len(after) == len(before)
