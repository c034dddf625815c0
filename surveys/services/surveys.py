"""Writes for surveys: frozen versions, readers' drafts and submitted responses."""

import secrets
from datetime import timedelta
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
    this token: the draft is then made by one INSERT, with no transaction and no lock around it
    (each round trip counts in a burst of new readers); should the token be taken meanwhile (the
    same reader in another tab), the page goes into that draft as usual.
    """
    if expect_new and version is not None and not transaction.get_connection().in_atomic_block:
        draft = SurveyDraft(
            token=token,
            survey=survey,
            version=version,
            attribution=attribution,
            answers=dict(page_answers),
            page=next_page,
        )
        try:
            draft.save(force_insert=True)
        except IntegrityError:
            pass  # the token's draft exists now: store into it below
        else:
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


@transaction.atomic
def draft_submit(
    *,
    survey: Survey,
    token: str,
    page: int,
    page_answers: dict[str, Any],
    attribution: dict[str, str],
    version: SurveyVersion | None = None,
) -> Response:
    """Store the last page's answers and submit the draft as a response, in one transaction."""
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
    page_def = draft.version.definition["pages"][page - 1]
    for question in page_def["questions"]:
        draft.answers.pop(question["key"], None)
        draft.answers.pop(question["key"] + OTHER_SUFFIX, None)
    draft.answers.update(page_answers)
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


def answer_rows(
    *, response: Response, definition: dict[str, Any], answers: dict[str, Any]
) -> list[Answer]:
    """Return the Answer rows for a response: one per choice, rating or text."""
    rows = []
    common = {
        "survey_id": response.survey_id,
        "version_id": response.version_id,
        "response": response,
    }
    for question in definition_questions(definition):
        key = question["key"]
        if key not in answers:
            continue
        value = answers[key]
        other = answers.get(key + OTHER_SUFFIX, "")
        if question["kind"] in TEXT_KINDS:
            rows.append(Answer(question_key=key, value="", text=value, **common))
            continue
        for index, item in enumerate(value if isinstance(value, list) else [value]):
            text = other if item == Answer.OTHER else ""
            rows.append(
                Answer(
                    question_key=key,
                    value=str(item),
                    text=text,
                    first_value=index == 0,
                    **common,
                )
            )
    return rows


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
    now = timezone.now()
    duration = max(0, int((now - draft.started_at).total_seconds()))
    attribution = draft.attribution or {}
    response = Response.objects.create(
        survey=draft.survey,
        version=draft.version,
        started_at=draft.started_at,
        submitted_at=now,
        duration_seconds=duration,
        flagged_fast=duration < draft.survey.fast_completion_seconds,
        campaign=attribution.get("campaign", "")[:80],
        variant=attribution.get("variant", "")[:40],
        placement=attribution.get("placement", "")[:20],
        article_url=reader_url_clean(
            attribution.get("article"), max_length=ATTRIBUTION_FIELDS["article"]
        ),
    )
    Answer.objects.bulk_create(
        answer_rows(response=response, definition=definition, answers=answers)
    )
    draft.response = response
    draft.answers = answers
    draft.save(update_fields=["response", "answers", "page", "updated_at"])
    return response
