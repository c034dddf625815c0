from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class Survey(models.Model):
    """A survey readers answer at /surveys/<slug>/."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    intro = models.TextField(blank=True, help_text=_("Shown above the first page."))
    thank_you = models.TextField(
        blank=True, default="Thank you for your answers.", help_text=_("Shown after the last page.")
    )
    fast_completion_seconds = models.PositiveIntegerField(
        default=10,
        help_text=_(
            "Responses completed faster than this are flagged for review (never rejected)."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    """One question as editors build it; readers answer a frozen copy in a SurveyVersion."""

    class Kind(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        DROPDOWN = "dropdown", _("Dropdown")
        SHORT_TEXT = "short_text", _("Short text")
        LONG_TEXT = "long_text", _("Long text")
        RATING = "rating", _("Rating 1-5")
        NPS = "nps", _("Rating 0-10 (NPS)")
        YES_NO = "yes_no", _("Yes / no")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    key = models.SlugField(
        max_length=50,
        help_text=_(
            "Stable name of the question; results are compared across versions by this key."
        ),
    )
    page = models.PositiveSmallIntegerField(default=1)
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    text = models.CharField(max_length=500)
    help_text = models.CharField(max_length=500, blank=True)
    required = models.BooleanField(default=True)
    choices = models.TextField(
        blank=True,
        help_text=_("One choice per line, as 'value | label' or just the label (choice types)."),
    )
    allow_other = models.BooleanField(
        default=False, help_text=_("Add an 'Other (please say)' choice with a text box.")
    )
    shuffle_choices = models.BooleanField(
        default=False, help_text=_("Show the choices in a different order to each reader.")
    )
    min_choices = models.PositiveSmallIntegerField(null=True, blank=True)
    max_choices = models.PositiveSmallIntegerField(null=True, blank=True)
    show_if_key = models.SlugField(
        max_length=50, blank=True, help_text=_("Show only when this earlier question ...")
    )
    show_if_value = models.CharField(
        max_length=200, blank=True, help_text=_("... was answered with this value.")
    )

    class Meta:
        ordering = ["page", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "key"], name="question_key_unique"),
            models.CheckConstraint(
                condition=models.Q(min_choices__isnull=True)
                | models.Q(max_choices__isnull=True)
                | models.Q(min_choices__lte=models.F("max_choices")),
                name="question_min_le_max",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.text}"

    def clean(self) -> None:
        errors: dict[str, object] = {}
        choice_kinds = {self.Kind.SINGLE, self.Kind.MULTIPLE, self.Kind.DROPDOWN}
        if self.kind in choice_kinds and not self.choices.strip():
            errors["choices"] = _("Give at least one choice, one per line.")
        if self.kind != self.Kind.MULTIPLE and (self.min_choices or self.max_choices):
            errors["min_choices"] = _("Minimum and maximum apply to multiple choice only.")
        if self.min_choices and self.max_choices and self.min_choices > self.max_choices:
            errors["max_choices"] = _("The maximum must not be below the minimum.")
        if bool(self.show_if_key) != bool(self.show_if_value):
            errors["show_if_value"] = _("Give both the earlier question's key and the value.")
        if self.show_if_key and self.show_if_key == self.key:
            errors["show_if_key"] = _("A question cannot depend on itself.")
        if errors:
            raise ValidationError(errors)


class SurveyVersion(models.Model):
    """A frozen copy of the survey's pages and questions; responses point at the one answered."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    definition = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["survey", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "number"], name="survey_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.survey} v{self.number}"


class SurveyDraft(models.Model):
    """A reader's answers so far, kept server-side so a reload or a later visit resumes them."""

    token = models.CharField(max_length=64, unique=True)
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="drafts")
    version = models.ForeignKey(SurveyVersion, on_delete=models.CASCADE, related_name="drafts")
    answers = models.JSONField(default=dict)
    page = models.PositiveSmallIntegerField(default=1)
    attribution = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    response = models.OneToOneField(
        "surveys.Response", null=True, blank=True, on_delete=models.SET_NULL, related_name="draft"
    )

    def __str__(self) -> str:
        return f"draft of {self.survey_id} page {self.page}"


class Response(models.Model):
    """One reader's submitted answers. Holds no personal data: the draw entry is separate."""

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    version = models.ForeignKey(SurveyVersion, on_delete=models.PROTECT, related_name="responses")
    started_at = models.DateTimeField()
    submitted_at = models.DateTimeField(db_index=True)
    duration_seconds = models.PositiveIntegerField()
    flagged_fast = models.BooleanField(
        default=False, help_text=_("Completed implausibly fast: for staff review.")
    )
    campaign = models.CharField(max_length=80, blank=True)
    variant = models.CharField(max_length=40, blank=True)
    placement = models.CharField(max_length=20, blank=True)
    article_url = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [models.Index(fields=["survey", "submitted_at"], name="response_survey_time")]

    def __str__(self) -> str:
        return f"response {self.pk} to {self.survey_id}"


class Answer(models.Model):
    """One answer value: a choice (one row per selected choice), a rating, or a text.

    `value` holds the choice value or the number; free text and 'other' go in `text`
    (with `value` empty for text questions and OTHER for the 'other' choice).
    """

    OTHER = "__other__"

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(SurveyVersion, on_delete=models.PROTECT, related_name="+")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question_key = models.CharField(max_length=50)
    value = models.CharField(max_length=200, blank=True)
    text = models.TextField(blank=True)
    # True on one row per response and question: counting these counts respondents, which
    # spares results a COUNT(DISTINCT response) over every answer.
    first_value = models.BooleanField(default=True)

    class Meta:
        # Results read only these columns, so PostgreSQL answers them from the index alone
        # (counts per value, respondents, and the cross-tab's join on the response).
        indexes = [
            models.Index(
                fields=["survey", "question_key", "value", "first_value", "response"],
                name="answer_survey_key",
            ),
            models.Index(
                fields=["version", "question_key", "value", "first_value", "response"],
                name="answer_version_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question_key}={self.value}"
