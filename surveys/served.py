"""The surveys as this web process serves them: each survey row with its current version,
kept in memory so that a reader's page costs no query to find its survey and questions.

A front-page burst asks for one survey hundreds of times a second, and its row and frozen
definition change only when staff edit them. Any save or delete of a survey, a question or a
version drops this process's copies at once (and again when the edit commits) and bumps a token
in the shared cache; every other process reads that token at most every
`SURVEYS_REFRESH_SECONDS` and drops its copies when it changed, so an edit (closing a survey, a
new version) reaches every reader within those seconds. A copy is re-read at least every
`MAX_AGE_SECONDS` too, so an edit made while the cache was down still arrives.
"""

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from surveys.models import Survey, SurveyVersion
from surveys.selectors import survey_version_current

logger = logging.getLogger(__name__)

EDITED_KEY = "surveys:edited"
MAX_AGE_SECONDS = 60.0
# Survey slugs served at once are few; this only bounds memory against a flood of made-up ones
# (which are not kept anyway: only surveys that exist are).
MAX_SURVEYS = 1000


@dataclass(frozen=True, slots=True)
class ServedSurvey:
    """A survey and the version readers answer now (None: it has no questions yet).

    Shared by every request of the process: read it, never change it.
    """

    survey: Survey
    version: SurveyVersion | None
    loaded_at: float


class ServedSurveys:
    def __init__(self) -> None:
        self._copies: dict[str, ServedSurvey] = {}
        self._token: str | None = None
        self._checked_at = float("-inf")
        self._generation = 0  # moves on each time the copies are dropped
        self._lock = threading.Lock()

    def get(self, slug: str) -> ServedSurvey | None:
        """Return the survey with this slug and its current version, or None if there is none."""
        now = time.monotonic()
        if now - self._checked_at >= settings.SURVEYS_REFRESH_SECONDS:
            self._check_token(now)
        served = self._copies.get(slug)
        if served is not None and now - served.loaded_at < MAX_AGE_SECONDS:
            return served
        generation = self._generation
        survey = Survey.objects.filter(slug=slug).first()
        if survey is None:
            return None
        served = ServedSurvey(survey, survey_version_current(survey=survey), now)
        with self._lock:
            # Rows read before an edit dropped the copies must not be kept as fresh ones.
            if generation == self._generation:
                if len(self._copies) >= MAX_SURVEYS:
                    self._copies.clear()
                self._copies[slug] = served
        return served

    def _check_token(self, now: float) -> None:
        with self._lock:
            if now - self._checked_at < settings.SURVEYS_REFRESH_SECONDS:
                return  # another thread just checked
            try:
                token = cache.get(EDITED_KEY)
            except Exception:  # the cache's client raises its own errors while Redis is down
                # No word of other processes' edits: read the surveys again at each check.
                logger.warning("survey edit token unreadable; cache down?", exc_info=True)
                token = uuid.uuid4().hex
            if token != self._token:
                self._forget_locked()
                self._token = token
            self._checked_at = now

    def forget(self) -> None:
        """Drop every copy this process holds (the next request reads the database)."""
        with self._lock:
            self._forget_locked()

    def _forget_locked(self) -> None:
        self._copies.clear()
        self._generation += 1


served_surveys = ServedSurveys()


def survey_edited(**kwargs: Any) -> None:
    """Signal receiver: a survey, question or version changed; stop serving the old copies.

    Dropped now (this process, this transaction's own reads) and again once the edit commits
    (a request of this process may have read the old rows meanwhile), when the other processes
    are told too.
    """
    served_surveys.forget()
    transaction.on_commit(_edit_committed)


def _edit_committed() -> None:
    served_surveys.forget()
    try:
        cache.set(EDITED_KEY, uuid.uuid4().hex, timeout=None)
    except Exception:
        logger.warning(
            "survey edit token not bumped; other processes see the edit within %.0f s",
            MAX_AGE_SECONDS,
            exc_info=True,
        )
