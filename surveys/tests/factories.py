"""Builders for surveys and draws in tests."""

import secrets
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from surveys.models import DrawTerms, Entry, Prize, PrizeDraw, Question, Survey
from surveys.services.draws import draw_open
from surveys.services.surveys import survey_version_publish

QUESTIONS: list[dict[str, Any]] = [
    {
        "key": "often",
        "page": 1,
        "kind": "single",
        "text": "How often?",
        "choices": "daily | Daily\nweekly | Weekly",
    },
    {
        "key": "topics",
        "page": 1,
        "kind": "multiple",
        "text": "Topics?",
        "choices": "Politics\nSport\nCulture",
        "allow_other": True,
        "min_choices": 1,
        "max_choices": 2,
    },
    {"key": "score", "page": 2, "kind": "nps", "text": "Recommend?"},
    {"key": "member", "page": 2, "kind": "yes_no", "text": "Supporter?"},
    {
        "key": "why",
        "page": 2,
        "kind": "long_text",
        "text": "Why not?",
        "show_if_key": "member",
        "show_if_value": "no",
    },
]


def survey_create(
    *, slug: str = "reader-survey", questions: list[dict[str, Any]] | None = None, **fields: Any
) -> Survey:
    survey = Survey.objects.create(
        title=fields.pop("title", "Reader survey"), slug=slug, status=Survey.Status.OPEN, **fields
    )
    for position, question in enumerate(questions if questions is not None else QUESTIONS):
        Question.objects.create(survey=survey, position=position, **question)
    survey_version_publish(survey=survey)
    return survey


def draw_create(
    *, survey: Survey, prizes: tuple[int, ...] = (1,), opened: bool = True, **fields: Any
) -> PrizeDraw:
    now = timezone.now()
    draw = PrizeDraw.objects.create(
        survey=survey,
        title=fields.pop("title", "Win a prize"),
        opens_at=fields.pop("opens_at", now - timedelta(hours=1)),
        closes_at=fields.pop("closes_at", now + timedelta(days=7)),
        **fields,
    )
    for position, quantity in enumerate(prizes):
        Prize.objects.create(
            draw=draw, name=f"Prize {position + 1}", quantity=quantity, position=position
        )
    DrawTerms.objects.create(draw=draw, version=1, text="The rules.")
    if opened:
        draw = draw_open(draw_id=draw.pk)
    return draw


def entries_confirmed(*, draw: PrizeDraw, count: int) -> list[Entry]:
    terms = draw.terms.get()
    now = timezone.now()
    return Entry.objects.bulk_create(
        [
            Entry(
                draw=draw,
                public_id=secrets.token_hex(8),
                email=f"reader{i}@example.com",
                email_normalised=f"reader{i}@example.com",
                country="GB",
                age_confirmed=True,
                terms=terms,
                status=Entry.Status.CONFIRMED,
                confirmed_at=now,
            )
            for i in range(count)
        ]
    )


def draw_closed(*, draw: PrizeDraw) -> PrizeDraw:
    """Move the close time into the past and close the draw."""
    from surveys.services.draws import draw_close

    PrizeDraw.objects.filter(pk=draw.pk).update(closes_at=timezone.now() - timedelta(seconds=1))
    return draw_close(draw_id=draw.pk)


@pytest.fixture
def generous_rate_limits(settings: Any) -> None:
    """Lift the per-address limit: every test client posts from 127.0.0.1 into a shared cache."""
    settings.SURVEYS_RATE_LIMIT_PER_IP = 1_000_000
