"""Question types, conditions, shuffling, the public page flow and versioning."""

import re

import pytest

from surveys.definition import choices_for_reader, definition_build
from surveys.forms import SurveyPageForm
from surveys.models import Answer, Question, Response, SurveyDraft, SurveyVersion
from surveys.services.surveys import survey_version_publish
from surveys.tests.factories import (
    generous_rate_limits,  # noqa: F401 - fixture
    survey_create,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_rate_limits")]


def page_form(survey, page, data, earlier=None, token="reader-1"):  # noqa: S107 - a reader token
    version = survey.versions.get()
    questions = version.definition["pages"][page - 1]["questions"]
    return SurveyPageForm(
        data, questions=questions, earlier_answers=earlier or {}, reader_token=token
    )


@pytest.mark.parametrize(
    ("kind", "extra", "good", "expected", "bad", "message"),
    [
        ("single", {"choices": "a | A\nb | B"}, "b", "b", "c", "Select a valid choice"),
        ("dropdown", {"choices": "a | A\nb | B"}, "a", "a", "zzz", "Select a valid choice"),
        ("short_text", {}, "hello", "hello", "x" * 201, "at most 200 characters"),
        ("long_text", {}, "a longer text", "a longer text", "x" * 5001, "at most 5000"),
        ("rating", {}, "5", 5, "6", "Select a valid choice"),
        ("nps", {}, "0", 0, "11", "Select a valid choice"),
        ("yes_no", {}, "yes", "yes", "maybe", "Select a valid choice"),
    ],
)
def test_each_single_value_question_type_accepts_good_and_explains_bad(
    kind, extra, good, expected, bad, message
):
    survey = survey_create(questions=[{"key": "q", "kind": kind, "text": "Q?", **extra}])

    form = page_form(survey, 1, {"q": good})
    assert form.is_valid(), form.errors
    assert form.page_answers == {"q": expected}

    form = page_form(survey, 1, {"q": bad})
    assert not form.is_valid()
    assert message in str(form.errors["q"])


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("single", "Please choose an answer."),
        ("multiple", "Please choose at least one answer."),
        ("short_text", "Please answer this question."),
    ],
)
def test_required_questions_say_what_is_missing(kind, message):
    survey = survey_create(questions=[{"key": "q", "kind": kind, "text": "Q?", "choices": "A\nB"}])

    form = page_form(survey, 1, {})

    assert not form.is_valid()
    assert form.errors["q"] == [message]


def test_optional_question_may_be_left_empty():
    survey = survey_create(
        questions=[{"key": "q", "kind": "short_text", "text": "Q?", "required": False}]
    )

    form = page_form(survey, 1, {})

    assert form.is_valid()
    assert form.page_answers == {}


def test_multiple_choice_enforces_min_and_max_selections():
    survey = survey_create(
        questions=[
            {
                "key": "q",
                "kind": "multiple",
                "text": "Q?",
                "choices": "A\nB\nC\nD",
                "min_choices": 2,
                "max_choices": 3,
            }
        ]
    )

    assert page_form(survey, 1, {"q": ["a"]}).errors["q"] == ["Please choose at least 2 answers."]
    assert page_form(survey, 1, {"q": ["a", "b", "c", "d"]}).errors["q"] == [
        "Please choose no more than 3 answers."
    ]
    form = page_form(survey, 1, {"q": ["a", "c"]})
    assert form.is_valid()
    assert form.page_answers == {"q": ["a", "c"]}


def test_other_choice_needs_what_other_is():
    survey = survey_create(
        questions=[
            {"key": "q", "kind": "single", "text": "Q?", "choices": "A", "allow_other": True}
        ]
    )

    form = page_form(survey, 1, {"q": Answer.OTHER})
    assert not form.is_valid()
    assert form.errors["q__other"] == ["Please say what “other” is."]

    form = page_form(survey, 1, {"q": Answer.OTHER, "q__other": "Podcasts"})
    assert form.is_valid()
    assert form.page_answers == {"q": Answer.OTHER, "q__other": "Podcasts"}


def test_conditional_question_is_required_only_when_shown():
    survey = survey_create()

    hidden = page_form(survey, 2, {"score": "9", "member": "yes"})
    assert hidden.is_valid(), hidden.errors
    assert "why" not in hidden.page_answers

    shown = page_form(survey, 2, {"score": "9", "member": "no"})
    assert not shown.is_valid()
    assert shown.errors["why"] == ["Please answer this question."]


def test_condition_on_an_earlier_page_uses_the_draft_answers():
    survey = survey_create(
        questions=[
            {"key": "a", "page": 1, "kind": "yes_no", "text": "A?"},
            {
                "key": "b",
                "page": 2,
                "kind": "short_text",
                "text": "B?",
                "show_if_key": "a",
                "show_if_value": "yes",
            },
        ]
    )

    assert page_form(survey, 2, {}, earlier={"a": "no"}).is_valid()
    assert not page_form(survey, 2, {}, earlier={"a": "yes"}).is_valid()


def test_shuffled_choices_are_stable_per_reader_and_differ_between_readers():
    question = {
        "key": "q",
        "shuffle": True,
        "choices": [{"value": str(i), "label": str(i)} for i in range(12)],
    }

    first = choices_for_reader(question, reader_token="reader-a")
    assert first == choices_for_reader(question, reader_token="reader-a")
    orders = {
        tuple(c["value"] for c in choices_for_reader(question, reader_token=f"r{i}"))
        for i in range(5)
    }
    assert len(orders) > 1
    assert sorted(c["value"] for c in first) == sorted(str(i) for i in range(12))
    fixed = {**question, "shuffle": False}
    assert [c["value"] for c in choices_for_reader(fixed, reader_token="x")] == [
        str(i) for i in range(12)
    ]


def answer_whole_survey(client, slug="reader-survey"):
    page1 = client.post(
        f"/surveys/{slug}/",
        {"often": "daily", "topics": ["politics"], "page": "1", "draft": "tok-123456"},
    )
    assert page1.status_code == 302
    page2 = client.post(
        page1["Location"],
        {"score": "9", "member": "no", "why": "Money is tight", "page": "2", "draft": "tok-123456"},
    )
    assert page2.status_code == 302
    return page2


def test_reader_answers_page_by_page_and_a_reload_keeps_the_answers(client):
    survey_create()

    first = client.post(
        "/surveys/reader-survey/",
        {"often": "weekly", "topics": ["sport"], "page": "1", "draft": "tok-123456"},
    )
    assert first.status_code == 302
    assert first["Location"] == "/surveys/reader-survey/?draft=tok-123456"

    reloaded = client.get(first["Location"])
    assert reloaded.status_code == 200
    assert "Page 2 of 2" in reloaded.content.decode()

    back = client.post(first["Location"], {"page": "2", "back": "1", "draft": "tok-123456"})
    page_one = client.get(back["Location"])
    html = page_one.content.decode()
    assert "Page 1 of 2" in html
    assert re.search(r'value="weekly"[^>]*checked', html)
    assert not re.search(r'value="daily"[^>]*checked', html)
    assert re.search(r'value="sport"[^>]*checked', html)


def test_validation_errors_are_shown_next_to_the_field(client):
    survey_create()

    response = client.post("/surveys/reader-survey/", {"page": "1", "draft": "tok-123456"})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="err-often"' in html
    assert "Please choose an answer." in html
    assert 'aria-invalid="true"' in html


def test_completed_survey_is_stored_as_response_with_answers(client):
    survey = survey_create()

    done = answer_whole_survey(client)

    assert done["Location"] == "/surveys/reader-survey/thanks/?draft=tok-123456"
    response = Response.objects.get()
    assert response.version == survey.versions.get()
    assert response.flagged_fast  # answered within a second in the test
    rows = set(Answer.objects.values_list("question_key", "value", "text"))
    assert rows == {
        ("often", "daily", ""),
        ("topics", "politics", ""),
        ("score", "9", ""),
        ("member", "no", ""),
        ("why", "", "Money is tight"),
    }
    assert SurveyDraft.objects.get().response == response
    # Coming back to the survey shows the thank-you page, never a second response.
    again = client.get("/surveys/reader-survey/?draft=tok-123456")
    assert again.status_code == 302
    assert Response.objects.count() == 1


def test_answer_to_a_condition_changed_later_drops_the_hidden_answer(client):
    survey_create(
        questions=[
            {"key": "a", "page": 1, "kind": "yes_no", "text": "A?"},
            {
                "key": "b",
                "page": 1,
                "kind": "short_text",
                "text": "B?",
                "show_if_key": "a",
                "show_if_value": "yes",
                "required": False,
            },
        ]
    )

    client.post(
        "/surveys/reader-survey/", {"a": "no", "b": "leftover", "page": "1", "draft": "tok-abcdef"}
    )

    assert list(Answer.objects.values_list("question_key", flat=True)) == ["a"]


def test_survey_page_can_be_framed_by_the_publisher_only(client, settings):
    settings.PUBLISHER_ORIGINS = ["https://news.example"]
    survey_create()

    response = client.get("/surveys/reader-survey/")

    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert response["Content-Security-Policy"].endswith(
        "; frame-ancestors 'self' https://news.example"
    )
    assert client.get("/admin/login/")["X-Frame-Options"] == "DENY"


def test_closed_or_unknown_survey_answers_politely(client):
    survey = survey_create()
    survey.status = "closed"
    survey.save()

    assert client.get("/surveys/reader-survey/").status_code == 410
    assert client.get("/surveys/nope/").status_code == 404
    assert client.post("/surveys/reader-survey/", {"page": "abc"}).status_code == 410


def test_garbage_page_number_never_breaks_the_page(client):
    survey_create()

    response = client.post("/surveys/reader-survey/", {"page": "abc", "draft": "tok-zzzzzz"})

    assert response.status_code == 400
    assert "Page 1 of 2" in response.content.decode()


def test_editing_a_survey_without_responses_updates_its_version_in_place():
    survey = survey_create()
    question = survey.questions.get(key="often")
    question.text = "How often do you read us?"
    question.save()

    version = survey_version_publish(survey=survey)

    assert version.number == 1
    assert SurveyVersion.objects.count() == 1
    assert version.definition["pages"][0]["questions"][0]["text"] == "How often do you read us?"


def test_editing_a_survey_with_responses_publishes_a_new_version(client):
    survey = survey_create()
    answer_whole_survey(client)
    Question.objects.filter(survey=survey, key="often").update(text="Changed wording")

    version = survey_version_publish(survey=survey)

    assert version.number == 2
    old = survey.versions.get(number=1)
    assert old.definition["pages"][0]["questions"][0]["text"] == "How often?"
    assert Response.objects.get().version == old
    # Publishing again without edits keeps version 2.
    assert survey_version_publish(survey=survey).pk == version.pk


def test_definition_groups_questions_into_pages_in_order():
    survey = survey_create()

    definition = definition_build(questions=survey.questions.all())

    assert [[q["key"] for q in p["questions"]] for p in definition["pages"]] == [
        ["often", "topics"],
        ["score", "member", "why"],
    ]
    assert definition["pages"][1]["questions"][2]["show_if"] == {"key": "member", "value": "no"}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"kind": "single", "choices": ""}, "choices", "at least one choice"),
        ({"kind": "short_text", "min_choices": 1}, "min_choices", "multiple choice only"),
        (
            {"kind": "multiple", "choices": "A", "min_choices": 3, "max_choices": 2},
            "max_choices",
            "below the minimum",
        ),
        ({"kind": "yes_no", "show_if_key": "often"}, "show_if_value", "Give both"),
        ({"kind": "yes_no", "show_if_key": "q", "show_if_value": "yes"}, "show_if_key", "itself"),
    ],
)
def test_editors_are_told_what_is_wrong_with_a_question(fields, field, message):
    from django.core.exceptions import ValidationError

    survey = survey_create(questions=[])
    question = Question(survey=survey, key="q", text="Q?", **fields)

    with pytest.raises(ValidationError) as error:
        question.full_clean()

    assert message in str(error.value.message_dict[field])


def test_editor_builds_a_survey_in_the_admin_and_it_is_published(client):
    from django.contrib.auth.models import Group, User

    editor = User.objects.create_user(username="ed", password="x", is_staff=True)
    editor.groups.add(Group.objects.get(name="editorial"))
    client.force_login(editor)
    prefix = "questions"
    data = {
        "title": "New survey",
        "slug": "new-survey",
        "status": "open",
        "intro": "",
        "thank_you": "Thanks",
        "fast_completion_seconds": "10",
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
        f"{prefix}-0-key": "colour",
        f"{prefix}-0-kind": "single",
        f"{prefix}-0-page": "1",
        f"{prefix}-0-position": "0",
        f"{prefix}-0-required": "on",
        f"{prefix}-0-text": "Favourite colour?",
        f"{prefix}-0-choices": "Red\nBlue",
    }

    response = client.post("/admin/surveys/survey/add/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    version = SurveyVersion.objects.get(survey__slug="new-survey")
    assert version.definition["pages"][0]["questions"][0]["choices"] == [
        {"value": "red", "label": "Red"},
        {"value": "blue", "label": "Blue"},
    ]
    assert "Favourite colour?" in client.get("/surveys/new-survey/").content.decode()


def test_demo_seed_is_idempotent():
    from surveys.demo import demo_seed
    from surveys.models import PrizeDraw, Survey

    first = demo_seed()
    second = demo_seed()

    assert first == second
    survey = Survey.objects.get(slug="reader-survey")
    assert survey.status == "open"
    assert survey.versions.count() == 1
    draw = PrizeDraw.objects.get(survey=survey)
    assert draw.status == "open" and draw.commitment
    assert draw.prizes.exists() and draw.terms.exists()


def test_only_implausibly_fast_completions_are_flagged():
    from datetime import timedelta

    from django.utils import timezone

    from surveys.services.surveys import draft_page_save, response_submit

    survey = survey_create(
        questions=[{"key": "q", "kind": "yes_no", "text": "Q?"}], fast_completion_seconds=20
    )

    def submit(token, started_seconds_ago):
        draft = draft_page_save(
            survey=survey,
            token=token,
            page=1,
            page_answers={"q": "yes"},
            next_page=1,
            attribution={},
        )
        SurveyDraft.objects.filter(pk=draft.pk).update(
            started_at=timezone.now() - timedelta(seconds=started_seconds_ago)
        )
        return response_submit(draft_id=draft.pk)

    assert submit("fast-reader", 3).flagged_fast
    slow = submit("slow-reader", 60)
    assert not slow.flagged_fast
    assert slow.duration_seconds >= 60
    assert response_submit(draft_id=slow.draft.pk).pk == slow.pk  # submitting twice is harmless


def test_attribution_parameters_are_recorded_on_the_response(client):
    survey_create(questions=[{"key": "q", "kind": "yes_no", "text": "Q?"}])

    client.post(
        "/surveys/reader-survey/?campaign=spring&variant=b&placement=survey"
        "&article=https://news.example/story&unknown=x",
        {"q": "yes", "page": "1", "draft": "tok-attrib"},
    )

    response = Response.objects.get()
    assert (response.campaign, response.variant, response.placement) == ("spring", "b", "survey")
    assert response.article_url == "https://news.example/story"


def test_a_malformed_draft_token_is_replaced_not_trusted(client):
    survey_create(questions=[{"key": "q", "kind": "yes_no", "text": "Q?"}])

    done = client.post("/surveys/reader-survey/", {"q": "yes", "page": "1", "draft": "a b&c=d"})

    assert done.status_code == 302
    token = SurveyDraft.objects.get().token
    assert re.fullmatch(r"[A-Za-z0-9_-]{20,64}", token)
    assert done["Location"] == f"/surveys/reader-survey/thanks/?draft={token}"


def test_other_box_sits_inside_its_question_and_shows_its_error(client):
    survey_create()

    page = client.post(
        "/surveys/reader-survey/",
        {"often": "daily", "topics": [Answer.OTHER], "page": "1", "draft": "tok-other1"},
    )

    assert page.status_code == 400
    html = page.content.decode()
    fieldset = html[html.index('id="q-topics"') :]
    fieldset = fieldset[: fieldset.index("</fieldset>")]
    assert 'name="topics__other"' in fieldset
    assert 'id="err-topics__other"' in fieldset
    assert "Please say what “other” is." in fieldset
