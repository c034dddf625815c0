from django.db import models


class Currency(models.TextChoices):
    EUR = "EUR", "Euro"
    GBP = "GBP", "Pound sterling"
    USD = "USD", "US dollar"


class Frequency(models.TextChoices):
    ONE_OFF = "one_off", "One-off"
    MONTHLY = "monthly", "Monthly"
    ANNUAL = "annual", "Annual"


class Campaign(models.Model):
    """An appeal to readers: its copy, amounts and schedule.

    `amounts` maps each frequency the campaign offers to its preset amounts and default, in minor
    units of `currency`: {"one_off": {"presets": [500, 1000, 2500], "default": 1000}, ...}.
    A frequency missing from it is not offered.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        PAUSED = "paused", "Paused"
        ENDED = "ended", "Ended"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    currency = models.CharField(max_length=3, choices=Currency.choices, default=Currency.EUR)
    amounts = models.JSONField(default=dict, blank=True)
    survey = models.ForeignKey(
        "surveys.Survey", null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name
