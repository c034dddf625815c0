from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q


class Currency(models.TextChoices):
    EUR = "EUR", "Euro"
    GBP = "GBP", "Pound sterling"
    USD = "USD", "US dollar"


class Frequency(models.TextChoices):
    ONE_OFF = "one_off", "One-off"
    MONTHLY = "monthly", "Monthly"
    ANNUAL = "annual", "Annual"


class Placement(models.TextChoices):
    BANNER = "banner", "Banner"
    EPIC = "epic", "In-article epic"
    SURVEY = "survey", "Survey prompt"


class EventKind(models.TextChoices):
    VIEW = "view", "Impression (seen)"
    CLICK = "click", "Click"
    DISMISS = "dismiss", "Dismissal"


DEVICE_CLASSES = ("mobile", "tablet", "desktop")


def csv_values(text: str) -> list[str]:
    """Return the non-empty, lower-cased, stripped items of a comma-separated list."""
    return [item.strip().lower() for item in text.split(",") if item.strip()]


COUNTER_PLACEHOLDER = "{supporters}"

# The support page's "why it matters": two sentences, a few lines above the amounts on a phone,
# so the amounts stay on the first screen.
WHY_MAX_LENGTH = 240


def validate_counter_text(text: str) -> None:
    """Require the live count's placeholder, so the counter never shows a number that is stale."""
    if text and COUNTER_PLACEHOLDER not in text:
        raise ValidationError(
            f"Put {COUNTER_PLACEHOLDER} where the live number of supporters goes, e.g. "
            f"“{COUNTER_PLACEHOLDER} readers like you have already stepped up”."
        )


def validate_amounts(amounts: object) -> None:
    """Check the shape of `amounts`: {frequency: {"presets": [minor units], "default": ...}}."""
    if not isinstance(amounts, dict):
        raise ValidationError("Amounts must be an object keyed by frequency.")
    for frequency, spec in amounts.items():
        if frequency not in Frequency.values:
            raise ValidationError(
                f"Unknown frequency {frequency!r}: use one of {', '.join(Frequency.values)}."
            )
        if not isinstance(spec, dict):
            raise ValidationError(f"{frequency}: expected presets and a default.")
        presets = spec.get("presets")
        if (
            not isinstance(presets, list)
            or not 1 <= len(presets) <= 6
            or not all(isinstance(p, int) and not isinstance(p, bool) and p > 0 for p in presets)
        ):
            raise ValidationError(
                f"{frequency}: presets must be 1 to 6 positive whole amounts in minor units "
                "(e.g. 500 for 5.00)."
            )
        default = spec.get("default")
        if default not in presets:
            raise ValidationError(f"{frequency}: the default must be one of the presets.")


class Campaign(models.Model):
    """An appeal to readers: its copy, amounts, schedule, targeting and caps.

    `amounts` maps each frequency the campaign offers to its preset amounts and default, in minor
    units of `currency`: {"one_off": {"presets": [500, 1000, 2500], "default": 1000}, ...}.
    A frequency missing from it is not offered.

    Comma-separated fields (sections, tags, countries, devices) are stored normalised: lower case
    (countries upper case), no spaces, no empty items. An empty include list means "any".
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        PAUSED = "paused", "Paused"
        ENDED = "ended", "Ended"

    class BannerPosition(models.TextChoices):
        TOP = "top", "Top of the page"
        BOTTOM = "bottom", "Bottom of the page"

    class Readers(models.TextChoices):
        ANY = "any", "Any reader"
        NEW = "new", "New readers only"
        RETURNING = "returning", "Returning readers only"

    class GoalKind(models.TextChoices):
        NONE = "none", "No goal"
        MONEY = "money", "Money raised"
        SUPPORTERS = "supporters", "Number of supporters"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.EUR)
    amounts = models.JSONField(default=dict, blank=True, validators=[validate_amounts])
    survey = models.ForeignKey(
        "surveys.Survey", null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Schedule and precedence.
    starts_at = models.DateTimeField(null=True, blank=True, help_text="Empty: as soon as live.")
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until paused or ended.")
    priority = models.IntegerField(
        default=0, help_text="When several campaigns fit a page, the highest priority wins."
    )

    # Placements.
    placement_banner = models.BooleanField("banner", default=True)
    banner_position = models.CharField(
        max_length=6, choices=BannerPosition.choices, default=BannerPosition.BOTTOM
    )
    placement_epic = models.BooleanField("in-article epic", default=True)
    placement_survey = models.BooleanField(
        "survey prompt", default=False, help_text="Needs a linked survey."
    )
    show_in_banner_and_epic = models.BooleanField(
        "banner and epic together",
        default=False,
        help_text="Show this campaign in the banner and the in-article epic of the same page. "
        "Off: a page shows it once, and the epic takes the next campaign.",
    )

    # Copy.
    headline = models.CharField(max_length=120, default="Support us")
    why_it_matters = models.CharField(
        "why it matters",
        max_length=WHY_MAX_LENGTH,
        blank=True,
        help_text="One or two sentences above the amounts on the support page: what a reader's "
        f"money does. At most {WHY_MAX_LENGTH} characters. Empty: the body's first paragraph, "
        "shortened.",
    )
    body = models.TextField(blank=True)
    cta_label = models.CharField("call to action", max_length=60, default="Contribute")
    counter_text = models.CharField(
        max_length=200,
        blank=True,
        validators=[validate_counter_text],
        help_text="With the live count: “{supporters} readers like you have already stepped up”. "
        "The count is this campaign's supporters plus the goal's baseline for a supporters goal.",
    )
    goal_kind = models.CharField(max_length=10, choices=GoalKind.choices, default=GoalKind.NONE)
    goal_target = models.PositiveBigIntegerField(
        default=0, help_text="Minor units for a money goal, a count for a supporters goal."
    )
    goal_baseline = models.PositiveBigIntegerField(
        default=0, help_text="Progress made before this service counted (same unit as the goal)."
    )

    # Targeting.
    sections_include = models.CharField(max_length=500, blank=True, help_text="Comma-separated.")
    sections_exclude = models.CharField(max_length=500, blank=True, help_text="Comma-separated.")
    tags_include = models.CharField(max_length=500, blank=True, help_text="Comma-separated.")
    tags_exclude = models.CharField(max_length=500, blank=True, help_text="Comma-separated.")
    url_patterns = models.TextField(
        blank=True, help_text="One path pattern per line, * matches anything: /politics/*"
    )
    countries = models.CharField(
        max_length=500, blank=True, help_text="ISO country codes, comma-separated. Empty: all."
    )
    devices = models.CharField(
        max_length=50, blank=True, help_text="mobile, tablet, desktop; comma-separated. Empty: all."
    )
    readers = models.CharField(max_length=10, choices=Readers.choices, default=Readers.ANY)
    min_articles_read = models.PositiveIntegerField(default=0)
    articles_window_days = models.PositiveIntegerField(default=30)
    include_supporters = models.BooleanField(
        default=False, help_text="Show to readers who already gave (off: they are not asked again)."
    )

    # Frequency caps and dismissal.
    max_views = models.PositiveIntegerField(
        default=5, help_text="At most this many views per reader ... (0: no cap)"
    )
    max_views_days = models.PositiveIntegerField(default=7, help_text="... in this many days.")
    min_gap_minutes = models.PositiveIntegerField(
        default=0, help_text="Minimum time between two views for one reader."
    )
    dismiss_days = models.PositiveIntegerField(
        default=14, help_text="Days a reader who closed the appeal does not see it again."
    )

    auto_allocate = models.BooleanField(
        default=False,
        help_text="Shift traffic to the better variant (Thompson sampling on revenue per view).",
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True)
                | Q(starts_at__isnull=True)
                | Q(ends_at__gt=models.F("starts_at")),
                name="campaign_ends_after_it_starts",
            ),
            models.CheckConstraint(
                condition=Q(articles_window_days__gte=1), name="campaign_window_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def why_text(self, *, body: str = "") -> str:
        """Return the support page's "why it matters" copy: the campaign's own, else the first
        paragraph of `body` (the appeal the reader saw) or of the campaign's body, shortened at
        a word to the field's length."""
        if self.why_it_matters.strip():
            return self.why_it_matters.strip()
        paragraph = (body.strip() or self.body.strip()).split("\n\n", 1)[0].strip()
        if len(paragraph) <= WHY_MAX_LENGTH:
            return paragraph
        return paragraph[: WHY_MAX_LENGTH - 1].rsplit(None, 1)[0].rstrip(",;:") + "…"

    def clean(self) -> None:
        self.sections_include = ",".join(csv_values(self.sections_include))
        self.sections_exclude = ",".join(csv_values(self.sections_exclude))
        self.tags_include = ",".join(csv_values(self.tags_include))
        self.tags_exclude = ",".join(csv_values(self.tags_exclude))
        self.countries = ",".join(c.upper() for c in csv_values(self.countries))
        devices = csv_values(self.devices)
        unknown = [d for d in devices if d not in DEVICE_CLASSES]
        errors: dict[str, str] = {}
        if unknown:
            errors["devices"] = f"Unknown device class {unknown[0]!r}: use mobile, tablet, desktop."
        self.devices = ",".join(devices)
        if any(len(c) != 2 or not c.isalpha() for c in csv_values(self.countries)):
            errors["countries"] = "Use two-letter ISO codes such as DE, FR, GB."
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "The end must come after the start."
        if self.placement_survey and self.survey_id is None:
            errors["placement_survey"] = "A survey prompt needs a linked survey."
        if self.goal_kind != self.GoalKind.NONE and not self.goal_target:
            errors["goal_target"] = "Set the goal to reach, or choose “No goal”."
        if self.status == self.Status.LIVE and not self.amounts:
            errors["amounts"] = "A live campaign needs amounts for at least one frequency."
        if errors:
            raise ValidationError(errors)


class Variant(models.Model):
    """An A/B variant of a campaign: blank fields inherit the campaign's; `weight` sets its share.

    A campaign without variants shows its own copy as the variant "control".
    """

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    key = models.SlugField(max_length=20, help_text="Short id, e.g. control, b. Used in reports.")
    weight = models.PositiveIntegerField(default=50, help_text="Relative share of readers.")
    headline = models.CharField(max_length=120, blank=True)
    body = models.TextField(blank=True)
    cta_label = models.CharField("call to action", max_length=60, blank=True)
    counter_text = models.CharField(max_length=200, blank=True, validators=[validate_counter_text])
    amounts = models.JSONField(
        default=dict, blank=True, validators=[validate_amounts], help_text="Empty: the campaign's."
    )

    class Meta:
        ordering = ["campaign", "key"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "key"], name="variant_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} / {self.key}"


class KillSwitch(models.Model):
    """An editorial stop: every appeal (no tag), or every appeal on pages carrying `tag`."""

    tag = models.CharField(
        max_length=100, blank=True, help_text="Empty: suppress every appeal everywhere."
    )
    reason = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "kill switch"
        verbose_name_plural = "kill switches"
        ordering = ["-active", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tag"], condition=Q(active=True), name="killswitch_one_active_per_tag"
            ),
        ]

    def __str__(self) -> str:
        scope = f"pages tagged {self.tag!r}" if self.tag else "every appeal"
        return f"{'Active' if self.active else 'Lifted'}: {scope}"


class EventCount(models.Model):
    """Beacons counted per campaign, variant, placement, kind and day (UTC)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="event_counts")
    variant_key = models.CharField(max_length=20)
    placement = models.CharField(max_length=10, choices=Placement.choices)
    kind = models.CharField(max_length=10, choices=EventKind.choices)
    day = models.DateField()
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "variant_key", "placement", "kind", "day"],
                name="eventcount_unique_bucket",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.variant_key}/{self.placement}/{self.kind}/{self.day}"


class EventFlush(models.Model):
    """A batch of counts moved from Redis to EventCount; the unique id makes a replay a no-op."""

    flush_id = models.CharField(max_length=64, unique=True)
    events = models.PositiveBigIntegerField(default=0)
    applied_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.flush_id
