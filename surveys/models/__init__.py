"""Surveys (questions, frozen versions, responses) and their prize draws."""

from surveys.models.draw import (
    ConsentRecord,
    DrawAuditEvent,
    DrawPlacement,
    DrawTerms,
    Entry,
    Prize,
    PrizeDraw,
)
from surveys.models.survey import Answer, Question, Response, Survey, SurveyDraft, SurveyVersion

__all__ = [
    "Answer",
    "ConsentRecord",
    "DrawAuditEvent",
    "DrawPlacement",
    "DrawTerms",
    "Entry",
    "Prize",
    "PrizeDraw",
    "Question",
    "Response",
    "Survey",
    "SurveyDraft",
    "SurveyVersion",
]
