"""Demo data: the reader survey with a prize draw open for entries, and a way to run a whole
draw now (`manage.py demo_draw`) instead of waiting for its entry period to end."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from surveys.models import DrawTerms, Entry, Prize, PrizeDraw, Question, Survey
from surveys.services.draws import draw_audit_record, draw_close, draw_open, draw_run
from surveys.services.surveys import survey_version_publish

SLUG = "reader-survey"
QUESTIONS = [
    {
        "key": "how-often",
        "page": 1,
        "kind": Question.Kind.SINGLE,
        "text": "How often do you read us?",
        "choices": (
            "daily | Every day\nweekly | A few times a week\n"
            "monthly | A few times a month\nrarely | Rarely"
        ),
    },
    {
        "key": "topics",
        "page": 1,
        "kind": Question.Kind.MULTIPLE,
        "text": "Which topics do you read most?",
        "help_text": "Choose up to three.",
        "choices": "Local news\nPolitics\nBusiness\nCulture\nSport",
        "allow_other": True,
        "shuffle_choices": True,
        "max_choices": 3,
    },
    {
        "key": "recommend",
        "page": 2,
        "kind": Question.Kind.NPS,
        "text": "How likely are you to recommend us to a friend?",
    },
    {
        "key": "supporter",
        "page": 2,
        "kind": Question.Kind.YES_NO,
        "text": "Have you ever supported us financially?",
        "required": False,
    },
    {
        "key": "why-not",
        "page": 2,
        "kind": Question.Kind.LONG_TEXT,
        "text": "What would make you consider supporting us?",
        "required": False,
        "show_if_key": "supporter",
        "show_if_value": "no",
    },
]
TERMS = (
    "1. Entry is free and open to residents of the United Kingdom and Ireland aged 18 or over.\n"
    "2. One entry per person. Entries count once confirmed from the e-mail we send.\n"
    "3. Winners are drawn at random by the published, checkable method after entries close.\n"
    "4. Winners have 14 days to claim; unclaimed prizes pass to the next reserve.\n"
    "5. Staff of the publisher may not enter."
)


@transaction.atomic
def demo_seed() -> list[str]:
    """Create the open reader survey and its open prize draw (idempotent)."""
    survey, created = Survey.objects.get_or_create(
        slug=SLUG,
        defaults={
            "title": "Take our survey • Win a prize",
            "status": Survey.Status.OPEN,
            "intro": "Five short questions about how you read us. It takes about a minute.",
            "thank_you": "Thank you! Your answers help us do better journalism.",
        },
    )
    if created:
        for position, question in enumerate(QUESTIONS):
            Question.objects.create(survey=survey, position=position, **question)
    survey_version_publish(survey=survey)
    draw = survey.draws.first()
    if draw is None:
        draw = _demo_draw_create(survey)
    if draw.status == PrizeDraw.Status.DRAFT:
        draw = draw_open(draw_id=draw.pk)
    site = settings.SITE_URL
    return [
        f"Survey:            {site}/surveys/{SLUG}/",
        f"Prize draw:        {site}/surveys/{SLUG}/draw/ (commitment {draw.commitment[:16]}…)",
        "Run the whole draw now: .venv/bin/python manage.py demo_draw",
    ]


def _demo_draw_create(survey: Survey) -> PrizeDraw:
    now = timezone.now()
    draw = PrizeDraw.objects.create(
        survey=survey,
        title="Win a year of print delivery",
        opens_at=now - timedelta(minutes=1),
        closes_at=now + timedelta(days=30),
        reserves_count=3,
        allowed_countries="GB,IE",
        excluded_email_domains="example.org",
    )
    Prize.objects.create(draw=draw, name="A year of print delivery", quantity=1)
    Prize.objects.create(draw=draw, name="A signed book by our editors", quantity=2, position=1)
    DrawTerms.objects.create(draw=draw, version=1, text=TERMS)
    return draw


@dataclass(frozen=True)
class DemoDrawResult:
    draw: PrizeDraw
    entries_added: int
    entries_count: int
    winners: list[str]  # public entry ids, in prize order


def demo_draw_run(*, entrants: int) -> DemoDrawResult:
    """Run the demo survey's open draw to the end now: add `entrants` confirmed demo entries,
    end the entry period, freeze the entries and draw. Winners are mailed their claim links by
    the worker, as in production. With no open draw, a new one is opened first.

    Only for the embedded demo: a real draw's entry period is part of its published terms.
    """
    if not settings.EMBEDDED:
        raise DemoDrawRefused("demo_draw only runs in the embedded demo (no DATABASE_URL).")
    survey = Survey.objects.filter(slug=SLUG).first()
    if survey is None:
        raise DemoDrawRefused("There is no demo survey: run `manage.py seed_demo` first.")
    with transaction.atomic():
        draw = survey.draws.filter(status=PrizeDraw.Status.OPEN).order_by("-opens_at").first()
        if draw is None:
            draw = draw_open(draw_id=_demo_draw_create(survey).pk)
        terms = draw.terms.order_by("-version").first()
        now = timezone.now()
        Entry.objects.bulk_create(
            [
                Entry(
                    draw=draw,
                    public_id=secrets.token_hex(8),
                    email=f"demo-entrant-{draw.pk}-{number}@example.net",
                    email_normalised=f"demo-entrant-{draw.pk}-{number}@example.net",
                    country="GB",
                    age_confirmed=True,
                    terms=terms,
                    status=Entry.Status.CONFIRMED,
                    confirmed_at=now,
                )
                for number in range(1, entrants + 1)
            ],
            ignore_conflicts=True,
        )
        PrizeDraw.objects.filter(pk=draw.pk).update(closes_at=now)
        draw_audit_record(draw=draw, action="entry_period_ended_for_demo", entrants_added=entrants)
        draw = draw_close(draw_id=draw.pk, now=now)
        draw = draw_run(draw_id=draw.pk)
    winners = list(
        draw.placements.filter(prize__isnull=False)
        .order_by("rank")
        .values_list("entry__public_id", flat=True)
    )
    return DemoDrawResult(
        draw=draw,
        entries_added=entrants,
        entries_count=draw.entries_count or 0,
        winners=winners,
    )


class DemoDrawRefused(Exception):
    """Why the demo draw cannot run here, in plain words."""
