"""The writes of a front-page burst as one SQL statement each, on PostgreSQL: a new reader's first
page (their draft made with no read before it) and the last page (the draft marked as
submitted, the response and its answers written together), one round trip and one commit each.

A burst of readers is bounded by round trips and commits, not by the work each does. Each
statement writes only if the draft is as the caller expects (no draft yet for a new reader; not
submitted and not changed since it was read for the last page): otherwise it writes nothing and
returns None, and the caller takes its usual path, which decides what happens (another tab's
answers, a second submission). PostgreSQL re-checks those conditions on the row's latest version
when another transaction updated it first, so two submissions of one draft cannot both write.

The response's id is taken from its sequence inside the statement, so the draft can point at it
in the same statement (the foreign key is checked at commit, as Django declares it deferred).
"""

import json
from datetime import datetime
from typing import Any

from django.db import connection

from surveys.models import Answer, Response, SurveyDraft

AnswerValues = list[tuple[str, str, str, bool]]  # question key, value, text, first value

_RESPONSE_COLUMNS = (
    "survey_id",
    "version_id",
    "started_at",
    "submitted_at",
    "duration_seconds",
    "flagged_fast",
    "campaign",
    "variant",
    "placement",
    "article_url",
)

# Table names come from the models; every value is a parameter.
_WRITE_RESPONSE_AND_ANSWERS = f"""
response AS (
    INSERT INTO {Response._meta.db_table} (id, {", ".join(_RESPONSE_COLUMNS)})
    SELECT claimed.id, {", ".join(["%s"] * len(_RESPONSE_COLUMNS))} FROM claimed
    RETURNING id
), answers AS (
    INSERT INTO {Answer._meta.db_table}
        (survey_id, version_id, response_id, question_key, value, text, first_value)
    SELECT %s, %s, response.id, given.key, given.value, given.text, given.first_value
    FROM response,
         unnest(%s::text[], %s::text[], %s::text[], %s::boolean[])
             AS given(key, value, text, first_value)
)
SELECT id FROM response
"""  # noqa: S608

_NEXT_RESPONSE_ID = f"nextval(pg_get_serial_sequence('{Response._meta.db_table}', 'id'))"

_SUBMIT_SEEN_DRAFT = f"""
WITH claimed AS (
    UPDATE {SurveyDraft._meta.db_table}
    SET response_id = {_NEXT_RESPONSE_ID}, answers = %s::jsonb, page = %s, updated_at = %s
    WHERE id = %s AND response_id IS NULL AND updated_at = %s
    RETURNING response_id AS id
), {_WRITE_RESPONSE_AND_ANSWERS}"""  # noqa: S608

_SUBMIT_NEW_DRAFT = f"""
WITH claimed AS (
    INSERT INTO {SurveyDraft._meta.db_table}
        (token, survey_id, version_id, answers, page, attribution, started_at, updated_at,
         response_id)
    VALUES (%s, %s, %s, %s::jsonb, %s, %s::jsonb, %s, %s, {_NEXT_RESPONSE_ID})
    ON CONFLICT (token) DO NOTHING
    RETURNING response_id AS id
), {_WRITE_RESPONSE_AND_ANSWERS}"""  # noqa: S608


_START_DRAFT = f"""
INSERT INTO {SurveyDraft._meta.db_table}
    (token, survey_id, version_id, answers, page, attribution, started_at, updated_at)
VALUES (%s, %s, %s, %s::jsonb, %s, %s::jsonb, %s, %s)
ON CONFLICT (token) DO NOTHING
RETURNING id
"""  # noqa: S608


def available() -> bool:
    """Return whether this database runs the statement (PostgreSQL; the embedded SQLite not)."""
    return connection.vendor == "postgresql"


def _response_and_answers(response: Response, answers: AnswerValues) -> list[Any]:
    columns = [getattr(response, column) for column in _RESPONSE_COLUMNS]
    return [
        *columns,
        response.survey_id,
        response.version_id,
        [row[0] for row in answers],
        [row[1] for row in answers],
        [row[2] for row in answers],
        [row[3] for row in answers],
    ]


def start_draft(
    *,
    token: str,
    survey_id: int,
    version_id: int,
    answers: dict[str, Any],
    next_page: int,
    attribution: dict[str, str],
    now: datetime,
) -> int | None:
    """Make the reader's draft with their first page's answers; return its id, or None if the
    token has a draft already (nothing was written)."""
    params = [
        token,
        survey_id,
        version_id,
        json.dumps(answers),
        next_page,
        json.dumps(attribution),
        now,
        now,
    ]
    return _run(_START_DRAFT, params)


def submit_seen_draft(
    *,
    draft: SurveyDraft,
    seen_updated_at: datetime,
    final_answers: dict[str, Any],
    page: int,
    response: Response,
    answers: AnswerValues,
) -> int | None:
    """Submit `draft` if it is still unsubmitted and unchanged since `seen_updated_at`; return
    the new response's id, or None if nothing was written."""
    params = [
        json.dumps(final_answers),
        page,
        response.submitted_at,
        draft.pk,
        seen_updated_at,
        *_response_and_answers(response, answers),
    ]
    return _run(_SUBMIT_SEEN_DRAFT, params)


def submit_new_draft(
    *,
    token: str,
    final_answers: dict[str, Any],
    page: int,
    attribution: dict[str, str],
    response: Response,
    answers: AnswerValues,
) -> int | None:
    """Make the reader's draft already submitted, with its response; return the response's id,
    or None if the token has a draft by now (nothing was written)."""
    params = [
        token,
        response.survey_id,
        response.version_id,
        json.dumps(final_answers),
        page,
        json.dumps(attribution),
        response.started_at,
        response.submitted_at,
        *_response_and_answers(response, answers),
    ]
    return _run(_SUBMIT_NEW_DRAFT, params)


def _run(sql: str, params: list[Any]) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[0]) if row else None
