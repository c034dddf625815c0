"""Public forms: one page of a survey, a draw entry, a prize claim."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from antiabuse.honeypot import HoneypotMixin
from surveys.definition import (
    SCALE_KINDS,
    TEXT_KINDS,
    QuestionDef,
    answer_is_empty,
    choices_for_reader,
    question_visible,
)
from surveys.models import Answer, Question

OTHER_SUFFIX = "__other"
OTHER_LABEL = _("Other (please say)")
TEXT_MAX_LENGTH = {Question.Kind.SHORT_TEXT: 200, Question.Kind.LONG_TEXT: 5000}


def _field_for(question: QuestionDef, reader_token: str) -> forms.Field:
    kind = question["kind"]
    label = question["text"]
    help_text = question["help_text"]
    choices = [
        (c["value"], c["label"]) for c in choices_for_reader(question, reader_token=reader_token)
    ]
    if question["allow_other"]:
        choices.append((Answer.OTHER, str(OTHER_LABEL)))
    if kind in TEXT_KINDS:
        widget = forms.Textarea(attrs={"rows": 4}) if kind == Question.Kind.LONG_TEXT else None
        return forms.CharField(
            label=label,
            help_text=help_text,
            required=False,
            max_length=TEXT_MAX_LENGTH[Question.Kind(kind)],
            widget=widget,
        )
    if kind == Question.Kind.MULTIPLE:
        return forms.MultipleChoiceField(
            label=label,
            help_text=help_text,
            required=False,
            choices=choices,
            widget=forms.CheckboxSelectMultiple,
        )
    if kind == Question.Kind.DROPDOWN:
        return forms.ChoiceField(
            label=label,
            help_text=help_text,
            required=False,
            choices=[("", _("Choose…")), *choices],
        )
    widget_class = forms.RadioSelect
    field = forms.ChoiceField(
        label=label, help_text=help_text, required=False, choices=choices, widget=widget_class
    )
    if kind in SCALE_KINDS:
        field.widget.attrs["class"] = "rs-scale"
    return field


class SurveyPageForm(HoneypotMixin, forms.Form):
    """The questions of one page. Conditions are checked against earlier answers and this page."""

    def __init__(
        self,
        *args: Any,
        questions: list[QuestionDef],
        earlier_answers: dict[str, Any],
        reader_token: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.questions = questions
        self.earlier_answers = earlier_answers
        for question in questions:
            self.fields[question["key"]] = _field_for(question, reader_token)
            self.fields[question["key"]].question = question  # type: ignore[attr-defined]
            if question["allow_other"]:
                self.fields[question["key"] + OTHER_SUFFIX] = forms.CharField(
                    label=_("Please say"), required=False, max_length=500
                )

    def question_rows(self) -> list[tuple[forms.BoundField, forms.BoundField | None]]:
        """Return each question's field with its 'other (please say)' box, if it has one."""
        return [
            (
                self[question["key"]],
                self[question["key"] + OTHER_SUFFIX] if question["allow_other"] else None,
            )
            for question in self.questions
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        answers = dict(self.earlier_answers)
        page_answers: dict[str, Any] = {}
        for question in self.questions:
            key = question["key"]
            if not question_visible(question, answers):
                continue
            value: Any = cleaned.get(key)
            if question["kind"] in SCALE_KINDS and not answer_is_empty(value):
                value = int(value)
            if answer_is_empty(value):
                if question["required"]:
                    self.add_error(key, self._missing_message(question))
                continue
            if question["kind"] == Question.Kind.MULTIPLE:
                count = len(value)
                if question["min"] and count < question["min"]:
                    self.add_error(key, self._too_few(question["min"]))
                if question["max"] and count > question["max"]:
                    self.add_error(key, self._too_many(question["max"]))
            page_answers[key] = value
            answers[key] = value
            chose_other = value == Answer.OTHER or (
                isinstance(value, list) and Answer.OTHER in value
            )
            if chose_other:
                other = (cleaned.get(key + OTHER_SUFFIX) or "").strip()
                if not other:
                    self.add_error(key + OTHER_SUFFIX, _("Please say what “other” is."))
                page_answers[key + OTHER_SUFFIX] = other
        self.page_answers = page_answers
        return cleaned

    @staticmethod
    def _missing_message(question: QuestionDef) -> str:
        if question["kind"] in TEXT_KINDS:
            return str(_("Please answer this question."))
        if question["kind"] == Question.Kind.MULTIPLE:
            return str(_("Please choose at least one answer."))
        return str(_("Please choose an answer."))

    @staticmethod
    def _too_few(minimum: int) -> str:
        return ngettext(
            "Please choose at least %(n)d answer.", "Please choose at least %(n)d answers.", minimum
        ) % {"n": minimum}

    @staticmethod
    def _too_many(maximum: int) -> str:
        return ngettext(
            "Please choose no more than %(n)d answer.",
            "Please choose no more than %(n)d answers.",
            maximum,
        ) % {"n": maximum}


# Asked the same way, an unticked box the reader ticks, when entering and again when claiming.
PUBLISH_WORDING = _("If I win, you may publish my first name and county on the winners page.")


class EntryForm(HoneypotMixin, forms.Form):
    email = forms.EmailField(
        label=_("Your e-mail address"),
        max_length=254,
        error_messages={
            "required": _("Please give your e-mail address."),
            "invalid": _("This does not look like an e-mail address. Please check it."),
        },
    )
    country = forms.ChoiceField(label=_("Country you live in"), choices=[])
    age_confirmed = forms.BooleanField(
        error_messages={"required": _("Please confirm your age to enter.")},
    )
    accept_terms = forms.BooleanField(
        label=_("I accept the terms and conditions of the prize draw."),
        error_messages={"required": _("You need to accept the terms to enter.")},
    )
    marketing = forms.BooleanField(required=False)
    publish_name = forms.BooleanField(required=False, label=PUBLISH_WORDING)

    def __init__(
        self,
        *args: Any,
        countries: list[tuple[str, str]],
        minimum_age: int,
        marketing_wording: str,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        country = self.fields["country"]
        assert isinstance(country, forms.ChoiceField)
        country.choices = [("", _("Choose…")), *countries]
        self.fields["country"].error_messages["required"] = _("Please choose your country.")
        self.fields["age_confirmed"].label = _("I am %(age)d or older.") % {"age": minimum_age}
        self.fields["marketing"].label = marketing_wording


class ClaimForm(forms.Form):
    first_name = forms.CharField(
        label=_("Your first name"),
        max_length=100,
        error_messages={"required": _("Please give your first name.")},
    )
    county = forms.CharField(
        label=_("Your county (or region)"),
        max_length=100,
        error_messages={"required": _("Please give your county or region.")},
    )
    publish_name = forms.BooleanField(required=False, label=PUBLISH_WORDING)
