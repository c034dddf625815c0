"""A survey's frozen definition: how it is built from the editors' questions, and read back.

A definition is plain JSON so that a SurveyVersion keeps exactly what readers saw:
{"pages": [{"number": 1, "questions": [{"key", "kind", "text", "help_text", "required",
"choices": [{"value", "label"}], "allow_other", "shuffle", "min", "max", "show_if"}]}]}
"""

import hashlib
import random
from collections.abc import Iterable
from typing import Any

from django.utils.text import slugify

from surveys.models import Question

CHOICE_KINDS = {Question.Kind.SINGLE, Question.Kind.MULTIPLE, Question.Kind.DROPDOWN}
TEXT_KINDS = {Question.Kind.SHORT_TEXT, Question.Kind.LONG_TEXT}
SCALE_KINDS = {Question.Kind.RATING: range(1, 6), Question.Kind.NPS: range(0, 11)}
YES_NO_CHOICES = [{"value": "yes", "label": "Yes"}, {"value": "no", "label": "No"}]

Definition = dict[str, Any]
QuestionDef = dict[str, Any]


def choices_parse(text: str) -> list[dict[str, str]]:
    """Return the choices written one per line as 'value | label' or just 'label'."""
    choices = []
    for line in text.splitlines():
        if not line.strip():
            continue
        value, sep, label = line.partition("|")
        if sep:
            value, label = value.strip(), label.strip()
        else:
            label = line.strip()
            value = slugify(label)[:200] or label[:200]
        choices.append({"value": value, "label": label})
    return choices


def definition_build(*, questions: Iterable[Question]) -> Definition:
    """Return the definition of these questions, grouped into pages in order."""
    pages: dict[int, list[QuestionDef]] = {}
    for question in sorted(questions, key=lambda q: (q.page, q.position, q.pk or 0)):
        if question.kind in CHOICE_KINDS:
            choices = choices_parse(question.choices)
        elif question.kind == Question.Kind.YES_NO:
            choices = list(YES_NO_CHOICES)
        elif question.kind in SCALE_KINDS:
            scale = SCALE_KINDS[Question.Kind(question.kind)]
            choices = [{"value": str(n), "label": str(n)} for n in scale]
        else:
            choices = []
        show_if = (
            {"key": question.show_if_key, "value": question.show_if_value}
            if question.show_if_key
            else None
        )
        pages.setdefault(question.page, []).append(
            {
                "key": question.key,
                "kind": str(question.kind),
                "text": question.text,
                "help_text": question.help_text,
                "required": question.required,
                "choices": choices,
                "allow_other": question.allow_other and question.kind in CHOICE_KINDS,
                "shuffle": question.shuffle_choices and question.kind in CHOICE_KINDS,
                "min": question.min_choices,
                "max": question.max_choices,
                "show_if": show_if,
            }
        )
    return {
        "pages": [
            {"number": index, "questions": pages[number]}
            for index, number in enumerate(sorted(pages), start=1)
        ]
    }


def definition_questions(definition: Definition) -> list[QuestionDef]:
    """Return every question of the definition, in order."""
    return [q for page in definition["pages"] for q in page["questions"]]


def answer_matches(answer: object, value: str) -> bool:
    """Return whether an answer equals `value` (or, for a multiple choice, includes it)."""
    if isinstance(answer, list):
        return value in [str(a) for a in answer]
    return answer is not None and str(answer) == value


def question_visible(question: QuestionDef, answers: dict[str, Any]) -> bool:
    """Return whether the question is shown, given the answers so far."""
    condition = question.get("show_if")
    if not condition:
        return True
    return answer_matches(answers.get(condition["key"]), condition["value"])


def choices_for_reader(question: QuestionDef, *, reader_token: str) -> list[dict[str, str]]:
    """Return the choices in the order this reader sees them (stable across reloads)."""
    choices = list(question["choices"])
    if question.get("shuffle"):
        seed = hashlib.sha256(f"{reader_token}:{question['key']}".encode()).digest()
        # Not security-sensitive: only the display order, stable per reader.
        random.Random(seed).shuffle(choices)  # noqa: S311
    return choices


def answer_is_empty(answer: object) -> bool:
    return answer is None or answer == "" or answer == []


def page_first_unanswered(
    definition: Definition, answers: dict[str, Any], *, before: int
) -> int | None:
    """Return the first page before page `before` with a required question, shown given the
    answers, that has no answer; None when every earlier page is answered."""
    for number, page in enumerate(definition["pages"][: before - 1], start=1):
        for question in page["questions"]:
            shown = question_visible(question, answers)
            if shown and question.get("required") and answer_is_empty(answers.get(question["key"])):
                return number
    return None
