"""Writes for surveys: frozen versions, readers' drafts and submitted responses."""

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from antiabuse.reader_urls import reader_url_clean
from surveys.definition import (
    TEXT_KINDS,
    answer_is_empty,
    definition_build,
    definition_questions,
    question_visible,
)
from surveys.forms import OTHER_SUFFIX
from surveys.models import Answer, Response, Survey, SurveyDraft, SurveyVersion
from surveys.services import draft_statements

ATTRIBUTION_FIELDS = {"campaign": 80, "variant": 40, "placement": 20, "article": 500}


class SurveyError(Exception):
    """A reader-facing reason the survey cannot be answered."""


@transaction.atomic
def survey_version_publish(*, survey: Survey) -> SurveyVersion:
    """Freeze the survey's current questions as its latest version and return it.

    A version nobody has answered yet is updated in place; once a version has responses an edit
    publishes a new version, so every response keeps the exact questions it answered.
    """
    Survey.objects.select_for_update().get(pk=survey.pk)
    definition = definition_build(questions=survey.questions.all())
    latest = survey.versions.order_by("-number").first()
    if latest is not None and latest.definition == definition:
        return latest
    if latest is not None and not latest.responses.exists():
        latest.definition = definition
        latest.save(update_fields=["definition"])
        return latest
    number = latest.number + 1 if latest is not None else 1
    return SurveyVersion.objects.create(survey=survey, number=number, definition=definition)


def draft_token_new() -> str:
    return secrets.token_urlsafe(24)


def attribution_clean(params: Any) -> dict[str, str]:
    """Keep the known attribution parameters, trimmed; ignore anything else.

    The article URL is kept only if it is a safe http(s) URL (and not cut short)."""
    kept = {
        name: str(params.get(name, ""))[:limit]
        for name, limit in ATTRIBUTION_FIELDS.items()
        if params.get(name) and name != "article"
    }
    article = reader_url_clean(params.get("article"), max_length=ATTRIBUTION_FIELDS["article"])
    if article:
        kept["article"] = article
    return kept


def draft_start(
    *,
    survey: Survey,
    token: str,
    version: SurveyVersion,
    page_answers: dict[str, Any],
    next_page: int,
    attribution: dict[str, str],
) -> SurveyDraft | None:
    """Make a new reader's draft holding their first answers, with one INSERT and no read or
    lock before it (each round trip counts in a burst of new readers); return None if this
    token has a draft already (the same reader in another tab) or, inside a transaction on a
    database without ON CONFLICT, when it cannot be tried: the caller then stores the page into
    the draft under its lock."""
    now = timezone.now()
    draft = SurveyDraft(
        token=token,
        survey=survey,
        version=version,
        answers=dict(page_answers),
        page=next_page,
        attribution=attribution,
        started_at=now,
        updated_at=now,
    )
    if draft_statements.available():
        draft_id = draft_statements.start_draft(
            token=token,
            survey_id=survey.pk,
            version_id=version.pk,
            answers=draft.answers,
            next_page=next_page,
            attribution=attribution,
            now=now,
        )
        if draft_id is None:
            return None
        draft.pk = draft_id
        draft._state.adding = False
        return draft
    if transaction.get_connection().in_atomic_block:
        return None  # a refused INSERT would break the caller's transaction
    try:
        draft.save(force_insert=True)
    except IntegrityError:
        return None
    return draft


def draft_page_save(
    *,
    survey: Survey,
    token: str,
    page: int,
    page_answers: dict[str, Any],
    next_page: int,
    attribution: dict[str, str],
    version: SurveyVersion | None = None,
    expect_new: bool = False,
) -> SurveyDraft:
    """Store one page's answers in the reader's draft (created on the first page).

    `version` is the survey's current version, when the caller has it already: a new draft
    answers it (otherwise it is looked up). `expect_new` says the caller found no draft for
    this token: the draft is then made by `draft_start`; should the token be taken meanwhile
    (the same reader in another tab), the page goes into that draft as usual.
    """
    if expect_new and version is not None:
        draft = draft_start(
            survey=survey,
            token=token,
            version=version,
            page_answers=page_answers,
            next_page=next_page,
            attribution=attribution,
        )
        if draft is not None:
            return draft
    return _draft_page_save_locked(
        survey=survey,
        token=token,
        page=page,
        page_answers=page_answers,
        next_page=next_page,
        attribution=attribution,
        version=version,
    )


@transaction.atomic
def _draft_page_save_locked(
    *,
    survey: Survey,
    token: str,
    page: int,
    page_answers: dict[str, Any],
    next_page: int,
    attribution: dict[str, str],
    version: SurveyVersion | None,
) -> SurveyDraft:
    draft = _draft_page_store(
        survey=survey,
        token=token,
        page=page,
        page_answers=page_answers,
        attribution=attribution,
        version=version,
    )
    draft.page = next_page
    if draft.pk is None:
        draft.save()
    else:
        draft.save(update_fields=["answers", "page", "updated_at"])
    return draft


def draft_submit(
    *,
    survey: Survey,
    token: str,
    page: int,
    page_answers: dict[str, Any],
    attribution: dict[str, str],
    version: SurveyVersion | None = None,
    seen: SurveyDraft | None = None,
    expect_new: bool = False,
) -> Response:
    """Store the last page's answers and submit the draft as a response, all or nothing.

    `seen` is the reader's draft as the caller read it (unlocked), with `version` the version it
    answers; `expect_new` says the caller found no draft for this token. Either way, on
    PostgreSQL the submission is then one statement (see `draft_statements`), written only
    if the draft is still as read; otherwise, and on other databases, it is done under the
    draft's lock.
    """
    one_statement = (
        version is not None and (seen is not None or expect_new) and draft_statements.available()
    )
    if one_statement:
        assert version is not None  # for the type checker: checked just above
        response = _response_in_one_statement(
            survey=survey,
            token=token,
            page=page,
            page_answers=page_answers,
            attribution=attribution,
            version=version,
            seen=seen,
        )
        if response is not None:
            return response
    return _draft_submit_locked(
        survey=survey,
        token=token,
        page=page,
        page_answers=page_answers,
        attribution=attribution,
        version=version,
    )


def _response_in_one_statement(
    *,
    survey: Survey,
    token: str,
    page: int,
    page_answers: dict[str, Any],
    attribution: dict[str, str],
    version: SurveyVersion,
    seen: SurveyDraft | None,
) -> Response | None:
    """Submit through one statement; return the response, or None if nothing was written."""
    if seen is not None and seen.response_id is not None:
        return None  # the locked path says it was sent already
    answers = _answers_with_page(
        dict(seen.answers) if seen is not None else {},
        definition=version.definition,
        page=page,
        page_answers=page_answers,
    )
    final = answers_final(definition=version.definition, answers=answers)
    now = timezone.now()
    started_at = seen.started_at if seen is not None else now
    response = _response_unsaved(
        survey=survey,
        version=version,
        started_at=started_at,
        now=now,
        attribution=(seen.attribution if seen is not None else attribution) or {},
    )
    values = answer_values(definition=version.definition, answers=final)
    if seen is not None:
        response_id = draft_statements.submit_seen_draft(
            draft=seen,
            seen_updated_at=seen.updated_at,
            final_answers=final,
            page=page,
            response=response,
            answers=values,
        )
    else:
        response_id = draft_statements.submit_new_draft(
            token=token,
            final_answers=final,
            page=page,
            attribution=attribution,
            response=response,
            answers=values,
        )
    if response_id is None:
        return None
    response.pk = response_id
    response._state.adding = False
    return response


@transaction.atomic
def _draft_submit_locked(
    *,
    survey: Survey,
    token: str,
    page: int,
    page_answers: dict[str, Any],
    attribution: dict[str, str],
    version: SurveyVersion | None = None,
) -> Response:
    draft = _draft_page_store(
        survey=survey,
        token=token,
        page=page,
        page_answers=page_answers,
        attribution=attribution,
        version=version,
    )
    draft.page = page
    if draft.pk is None:
        draft.save()
    return _response_from_draft(draft)


def _answers_with_page(
    answers: dict[str, Any], *, definition: dict[str, Any], page: int, page_answers: dict[str, Any]
) -> dict[str, Any]:
    """Return the draft's answers with this page's replaced by `page_answers` (in place)."""
    for question in definition["pages"][page - 1]["questions"]:
        answers.pop(question["key"], None)
        answers.pop(question["key"] + OTHER_SUFFIX, None)
    answers.update(page_answers)
    return answers


def _draft_page_store(
    *,
    survey: Survey,
    token: str,
    page: int,
    page_answers: dict[str, Any],
    attribution: dict[str, str],
    version: SurveyVersion | None,
) -> SurveyDraft:
    """Lock the reader's draft (or make a new one, unsaved) and put one page's answers in it."""
    # Lock the draft only (not its version, which every reader's draft shares).
    draft = (
        SurveyDraft.objects.select_for_update(of=("self",))
        .select_related("version")
        .filter(token=token, survey=survey)
        .first()
    )
    if draft is None:
        version = version or survey.versions.order_by("-number").first()
        if version is None:
            raise SurveyError("This survey has no questions yet.")
        draft = SurveyDraft(token=token, survey=survey, version=version, attribution=attribution)
    draft.survey = survey  # the caller's, already loaded
    if draft.response_id is not None:
        raise SurveyError("You have already sent your answers to this survey.")
    _answers_with_page(
        draft.answers, definition=draft.version.definition, page=page, page_answers=page_answers
    )
    return draft


def answers_final(*, definition: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """Return the answers to the questions that were shown, in order (conditions re-checked)."""
    final: dict[str, Any] = {}
    for question in definition_questions(definition):
        key = question["key"]
        if not question_visible(question, final) or answer_is_empty(answers.get(key)):
            continue
        final[key] = answers[key]
        if key + OTHER_SUFFIX in answers:
            final[key + OTHER_SUFFIX] = answers[key + OTHER_SUFFIX]
    return final


def answer_values(
    *, definition: dict[str, Any], answers: dict[str, Any]
) -> list[tuple[str, str, str, bool]]:
    """Return a response's answers as rows (question key, value, text, first value): one per
    choice, rating or text."""
    rows = []
    for question in definition_questions(definition):
        key = question["key"]
        if key not in answers:
            continue
        value = answers[key]
        other = answers.get(key + OTHER_SUFFIX, "")
        if question["kind"] in TEXT_KINDS:
            rows.append((key, "", value, True))
            continue
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            rows.append((key, str(item), other if item == Answer.OTHER else "", index == 0))
    return rows


def answer_rows(
    *, response: Response, definition: dict[str, Any], answers: dict[str, Any]
) -> list[Answer]:
    """Return the Answer rows for a response (see `answer_values`)."""
    return [
        Answer(
            survey_id=response.survey_id,
            version_id=response.version_id,
            response=response,
            question_key=key,
            value=value,
            text=text,
            first_value=first_value,
        )
        for key, value, text, first_value in answer_values(definition=definition, answers=answers)
    ]


def drafts_abandoned_delete(*, older_than: timedelta) -> int:
    """Delete unfinished drafts nobody touched for `older_than`; return how many."""
    cutoff = timezone.now() - older_than
    deleted, _ = SurveyDraft.objects.filter(response__isnull=True, updated_at__lt=cutoff).delete()
    return deleted


@transaction.atomic
def response_submit(*, draft_id: int) -> Response:
    """Turn a completed draft into a response (once: a second call returns the same response)."""
    # Lock the draft only: locking the joined survey and version rows too would make every
    # reader's submission of this survey wait for the one before it.
    draft = (
        SurveyDraft.objects.select_for_update(of=("self",))
        .select_related("survey", "version")
        .get(pk=draft_id)
    )
    if draft.response_id is not None:
        return Response.objects.get(pk=draft.response_id)
    return _response_from_draft(draft)


def _response_from_draft(draft: SurveyDraft) -> Response:
    """Create the response and its answers from a locked, saved draft; link the draft to it."""
    definition = draft.version.definition
    answers = answers_final(definition=definition, answers=draft.answers)
    response = _response_unsaved(
        survey=draft.survey,
        version=draft.version,
        started_at=draft.started_at,
        now=timezone.now(),
        attribution=draft.attribution or {},
    )
    response.save(force_insert=True)
    Answer.objects.bulk_create(
        answer_rows(response=response, definition=definition, answers=answers)
    )
    draft.response = response
    draft.answers = answers
    draft.save(update_fields=["response", "answers", "page", "updated_at"])
    return response


def _response_unsaved(
    *,
    survey: Survey,
    version: SurveyVersion,
    started_at: datetime,
    now: datetime,
    attribution: dict[str, str],
) -> Response:
    duration = max(0, int((now - started_at).total_seconds()))
    return Response(
        survey=survey,
        version=version,
        started_at=started_at,
        submitted_at=now,
        duration_seconds=duration,
        flagged_fast=duration < survey.fast_completion_seconds,
        campaign=attribution.get("campaign", "")[:80],
        variant=attribution.get("variant", "")[:40],
        placement=attribution.get("placement", "")[:20],
        article_url=reader_url_clean(
            attribution.get("article"), max_length=ATTRIBUTION_FIELDS["article"]
        ),
    )
