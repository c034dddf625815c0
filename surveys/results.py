"""Reads behind the admin's results page and the response exports.

Everything is aggregated by the database (GROUP BY on the answers table) so that a survey with
100,000 responses renders in well under a second; per version, or across versions by question key.
"""

import csv
import io
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate

from finance.exports import neutralise
from surveys.definition import TEXT_KINDS, definition_questions
from surveys.models import Answer, Entry, Response, Survey, SurveyVersion

FREE_TEXT_SHOWN = 50
CHOICE_KINDS_FOR_CROSSTAB = {"single", "dropdown", "yes_no", "rating", "nps"}


@dataclass
class Bar:
    value: str
    label: str
    count: int
    percent: float


@dataclass
class QuestionResult:
    key: str
    text: str
    kind: str
    answered: int
    bars: list[Bar] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)

    @property
    def is_text(self) -> bool:
        return self.kind in TEXT_KINDS


def questions_for(survey: Survey, version: SurveyVersion | None) -> list[dict[str, Any]]:
    """Return the questions to report: the version's, or across versions the latest wording
    of every key ever asked."""
    if version is not None:
        return definition_questions(version.definition)
    seen: dict[str, dict[str, Any]] = {}
    for older in survey.versions.order_by("number"):
        for question in definition_questions(older.definition):
            seen[question["key"]] = question
    return list(seen.values())


def _answers(survey: Survey, version: SurveyVersion | None) -> QuerySet[Answer]:
    answers = Answer.objects.filter(survey=survey)
    return answers.filter(version=version) if version is not None else answers


def _responses(survey: Survey, version: SurveyVersion | None) -> QuerySet[Response]:
    responses = Response.objects.filter(survey=survey)
    return responses.filter(version=version) if version is not None else responses


def _latest_texts(answers: QuerySet[Answer]) -> list[str]:
    return list(
        answers.exclude(text="")
        .order_by("-response_id")
        .values_list("text", flat=True)[:FREE_TEXT_SHOWN]
    )


def survey_results(*, survey: Survey, version: SurveyVersion | None = None) -> dict[str, Any]:
    """Return counts and percentages per question, the latest free texts and the totals."""
    questions = questions_for(survey, version)
    answers = _answers(survey, version)
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    answered: dict[str, int] = defaultdict(int)
    # One pass over the answers: counts per value, and respondents per question.
    rows = answers.values("question_key", "value").annotate(
        n=Count("id"), respondents=Count("id", filter=Q(first_value=True))
    )
    for row in rows:
        counts[row["question_key"]][row["value"]] = row["n"]
        answered[row["question_key"]] += row["respondents"]
    texts: dict[str, list[str]] = {}
    for question in questions:
        key = question["key"]
        if question["kind"] in TEXT_KINDS:
            texts[key] = _latest_texts(answers.filter(question_key=key, value=""))
        elif question.get("allow_other"):
            texts[key] = _latest_texts(answers.filter(question_key=key, value=Answer.OTHER))
    results = []
    for question in questions:
        key = question["key"]
        total = answered.get(key, 0)
        result = QuestionResult(
            key=key, text=question["text"], kind=question["kind"], answered=total
        )
        if question["kind"] in TEXT_KINDS:
            result.texts = texts.get(key, [])
        else:
            labels = [(c["value"], c["label"]) for c in question["choices"]]
            if question.get("allow_other"):
                labels.append((Answer.OTHER, "Other"))
                result.others = texts.get(key, [])
            for value, label in labels:
                n = counts[key].get(value, 0)
                result.bars.append(Bar(value, label, n, 100.0 * n / total if total else 0.0))
        results.append(result)
    totals = _responses(survey, version).aggregate(
        responses=Count("id"), flagged=Count("id", filter=Q(flagged_fast=True))
    )
    return {"questions": results, **totals}


def responses_per_day(
    *, survey: Survey, version: SurveyVersion | None = None
) -> list[dict[str, Any]]:
    rows = (
        _responses(survey, version)
        .annotate(day=TruncDate("submitted_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    return [{"day": row["day"], "n": row["n"]} for row in rows]


def crosstab(
    *, survey: Survey, row_key: str, column_key: str, version: SurveyVersion | None = None
) -> dict[str, dict[str, int]]:
    """Return how many responses gave each pair of answers to two choice questions."""
    version_clause = "AND a.version_id = %s" if version is not None else ""
    params: list[Any] = [survey.pk, row_key, column_key]
    if version is not None:
        params.append(version.pk)
    sql = f"""
        SELECT a.value, b.value, COUNT(*)
        FROM surveys_answer a
        JOIN surveys_answer b ON b.response_id = a.response_id AND b.survey_id = a.survey_id
        WHERE a.survey_id = %s AND a.question_key = %s AND b.question_key = %s
              {version_clause}
        GROUP BY a.value, b.value
    """  # noqa: S608 - only the fixed clause is interpolated; values are parameters
    table: dict[str, dict[str, int]] = defaultdict(dict)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row_value, column_value, n in cursor.fetchall():
            table[row_value][column_value] = n
    return table


def export_header(questions: list[dict[str, Any]], *, personal: bool) -> list[str]:
    header = ["response", "version", "submitted_at", "duration_seconds", "flagged_fast"]
    header += ["campaign", "variant", "placement", "article_url"]
    for question in questions:
        header.append(question["key"])
        if question.get("allow_other"):
            header.append(question["key"] + " (other)")
    if personal:
        header.append("draw_entry_email")
    return header


def export_rows(
    *, survey: Survey, version: SurveyVersion | None, personal: bool
) -> Iterator[list[Any]]:
    """Yield the header, then one row per response, reading both tables in id order."""
    questions = questions_for(survey, version)
    yield export_header(questions, personal=personal)
    emails: dict[int, str] = {}
    if personal:
        emails = dict(
            Entry.objects.filter(response__survey=survey)
            .exclude(email="")
            .values_list("response_id", "email")
        )
    version_numbers = dict(survey.versions.values_list("pk", "number"))
    answers = (
        _answers(survey, version)
        .order_by("response_id", "id")
        .values_list("response_id", "question_key", "value", "text")
        .iterator(chunk_size=5000)
    )
    pending = next(answers, None)
    responses = (
        _responses(survey, version)
        .order_by("id")
        .values_list(
            "id",
            "version_id",
            "submitted_at",
            "duration_seconds",
            "flagged_fast",
            "campaign",
            "variant",
            "placement",
            "article_url",
        )
        .iterator(chunk_size=5000)
    )
    for response_id, version_id, submitted, duration, flagged, *attribution in responses:
        values: dict[str, list[str]] = defaultdict(list)
        others: dict[str, str] = {}
        while pending is not None and pending[0] <= response_id:
            if pending[0] == response_id:
                _, key, value, text = pending
                if value == Answer.OTHER:
                    others[key] = text
                    values[key].append("other")
                else:
                    values[key].append(value or text)
            pending = next(answers, None)
        row: list[Any] = [response_id, version_numbers.get(version_id), submitted.isoformat()]
        row += [duration, "yes" if flagged else "no", *attribution]
        for question in questions:
            row.append("; ".join(values.get(question["key"], [])))
            if question.get("allow_other"):
                row.append(others.get(question["key"], ""))
        if personal:
            row.append(emails.get(response_id, ""))
        yield row


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cells(row: list[Any]) -> list[Any]:
    """Return the row with every text cell neutralised (finance's rule: one for all exports)."""
    return [neutralise(cell) if isinstance(cell, str) else cell for cell in row]


def csv_stream(rows: Iterator[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in rows:
        yield writer.writerow(_cells(row))


def xlsx_file(rows: Iterator[list[Any]]) -> io.BufferedRandom:
    """Write the rows to a temporary XLSX file (row by row, constant memory); return it rewound.

    Text is written as text: never read as a formula or turned into a link.
    """
    import xlsxwriter

    handle = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the response, which closes it
    workbook = xlsxwriter.Workbook(
        handle,
        {
            "constant_memory": True,
            "in_memory": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    sheet = workbook.add_worksheet("Responses")
    for index, row in enumerate(rows):
        sheet.write_row(index, 0, _cells(row))
    workbook.close()
    handle.seek(0)
    return handle
