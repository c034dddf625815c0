from typing import Any, NoReturn

from django.db import models
from django.utils.translation import gettext_lazy as _

from surveys.models.survey import Response, Survey


class PrizeDraw(models.Model):
    """A prize draw attached to a survey, with a commit-reveal proof of fairness.

    States only move forward: draft -> open (seed drawn, commitment published) -> closed (entries
    frozen, fingerprint published) -> drawn (ranking done, seed revealed) -> complete (every prize
    claimed or out of reserves). A drawn draw can never be drawn again.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open for entries")
        CLOSED = "closed", _("Closed, waiting for the draw")
        DRAWN = "drawn", _("Drawn")
        COMPLETE = "complete", _("Complete")

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="draws")
    title = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    reserves_count = models.PositiveSmallIntegerField(default=3)
    minimum_age = models.PositiveSmallIntegerField(default=18)
    allowed_countries = models.CharField(
        max_length=500,
        blank=True,
        help_text=_("ISO country codes, comma-separated, e.g. 'GB,IE'. Empty: any country."),
    )
    excluded_email_domains = models.TextField(
        blank=True, help_text=_("E-mail domains that may not enter (e.g. staff), one per line.")
    )
    claim_days = models.PositiveSmallIntegerField(
        default=14, help_text=_("Days a winner has to claim before the prize passes on.")
    )
    # The fairness proof. The seed stays secret until the draw; its hash is public from opening.
    seed = models.CharField(max_length=64, blank=True)
    commitment = models.CharField(max_length=64, blank=True)
    public_randomness = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("A public random value (e.g. a drand round), added before close."),
    )
    public_randomness_source = models.CharField(max_length=200, blank=True)
    entries_fingerprint = models.CharField(max_length=64, blank=True)
    entries_count = models.PositiveIntegerField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    drawn_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    personal_data_erased_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-opens_at"]
        permissions = [("run_draw", "Can open, close and run prize draws")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(opens_at__lt=models.F("closes_at")),
                name="draw_opens_before_close",
            ),
            models.CheckConstraint(
                condition=models.Q(status="draft") | ~models.Q(commitment=""),
                name="draw_open_has_commitment",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["draft", "open"])
                | (~models.Q(entries_fingerprint="") & models.Q(closed_at__isnull=False)),
                name="draw_closed_has_fingerprint",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["draft", "open", "closed"])
                | models.Q(drawn_at__isnull=False),
                name="draw_drawn_has_time",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def winners_count(self) -> int:
        return sum(prize.quantity for prize in self.prizes.all())

    @property
    def seed_revealed(self) -> bool:
        return self.status in (self.Status.DRAWN, self.Status.COMPLETE)

    def country_codes(self) -> list[str]:
        return [c.strip().upper() for c in self.allowed_countries.split(",") if c.strip()]

    def excluded_domains(self) -> list[str]:
        return [d.strip().lower().lstrip("@") for d in self.excluded_email_domains.split() if d]


class Prize(models.Model):
    draw = models.ForeignKey(PrizeDraw, on_delete=models.CASCADE, related_name="prizes")
    position = models.PositiveSmallIntegerField(default=0)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    quantity = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="prize_quantity_min")
        ]

    def __str__(self) -> str:
        return self.name


class DrawTerms(models.Model):
    """A version of the draw's terms and conditions; entrants accept the latest one."""

    draw = models.ForeignKey(PrizeDraw, on_delete=models.CASCADE, related_name="terms")
    version = models.PositiveSmallIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["draw", "-version"]
        verbose_name_plural = "draw terms"
        constraints = [
            models.UniqueConstraint(fields=["draw", "version"], name="draw_terms_version_unique")
        ]

    def __str__(self) -> str:
        return f"terms v{self.version}"


class Entry(models.Model):
    """One person's entry to one draw: unique on the normalised e-mail address."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        CONFIRMED = "confirmed", _("Confirmed")
        DISQUALIFIED = "disqualified", _("Disqualified")

    draw = models.ForeignKey(PrizeDraw, on_delete=models.PROTECT, related_name="entries")
    # The anonymised id published in the proof bundle and ranked by the draw.
    public_id = models.CharField(max_length=32, unique=True)
    email = models.EmailField(max_length=254, blank=True)
    email_normalised = models.CharField(max_length=254)
    country = models.CharField(max_length=2, blank=True)
    age_confirmed = models.BooleanField(default=False)
    terms = models.ForeignKey(DrawTerms, on_delete=models.PROTECT, related_name="+")
    response = models.ForeignKey(
        Response, null=True, blank=True, on_delete=models.SET_NULL, related_name="entries"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    flagged_fast = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # When the last confirmation mail was queued: entering again resends it at most once per
    # SURVEYS_CONFIRMATION_RESEND_SECONDS, so the form cannot flood a mailbox.
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "entries"
        permissions = [("view_personal_data", "Can see entrants' e-mail addresses and names")]
        constraints = [
            models.UniqueConstraint(
                fields=["draw", "email_normalised"], name="entry_one_per_person"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="confirmed") | models.Q(confirmed_at__isnull=False),
                name="entry_confirmed_has_time",
            ),
        ]
        indexes = [models.Index(fields=["draw", "status"], name="entry_draw_status")]

    def __str__(self) -> str:
        return f"entry {self.public_id}"


class ConsentRecord(models.Model):
    """Append-only ledger of what an entrant agreed to, in the words shown, and when."""

    class Kind(models.TextChoices):
        TERMS = "terms", _("Terms and conditions")
        MARKETING = "marketing", _("Marketing e-mails")
        PUBLISH_NAME = "publish_name", _("Publish my name if I win")

    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="consents")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    granted = models.BooleanField()
    wording = models.TextField()
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind}={'yes' if self.granted else 'no'}"


class DrawPlacement(models.Model):
    """A ranked place in a drawn draw: a winner of a prize, or a reserve waiting in order."""

    class Status(models.TextChoices):
        RESERVE = "reserve", _("Reserve, waiting")
        NOTIFIED = "notified", _("Winner, notified")
        CLAIMED = "claimed", _("Claimed")
        EXPIRED = "expired", _("Not claimed in time")
        INELIGIBLE = "ineligible", _("Ineligible")
        UNUSED = "unused", _("Reserve, not needed")

    draw = models.ForeignKey(PrizeDraw, on_delete=models.PROTECT, related_name="placements")
    rank = models.PositiveIntegerField()
    entry = models.ForeignKey(Entry, on_delete=models.PROTECT, related_name="placements")
    prize = models.ForeignKey(
        Prize, null=True, blank=True, on_delete=models.PROTECT, related_name="placements"
    )
    status = models.CharField(max_length=10, choices=Status.choices)
    claim_nonce = models.CharField(max_length=32, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    # The winner's e-mail and its reminder: claimed before sending, set when sent, so a task
    # delivered twice or a crash does not mail twice (see `config.mail_once`).
    notice_claimed_at = models.DateTimeField(null=True, blank=True)
    notice_sent_at = models.DateTimeField(null=True, blank=True)
    claim_expires_at = models.DateTimeField(null=True, blank=True)
    reminder_claimed_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    county = models.CharField(max_length=100, blank=True)
    publish_name = models.BooleanField(default=False)

    class Meta:
        ordering = ["draw", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["draw", "rank"], name="placement_rank_unique"),
            models.UniqueConstraint(fields=["draw", "entry"], name="placement_entry_unique"),
        ]

    def __str__(self) -> str:
        return f"#{self.rank} {self.get_status_display()}"


class AppendOnlyQuerySet(models.QuerySet["DrawAuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise PermissionError("The draw audit log is append-only.")

    def delete(self) -> NoReturn:
        raise PermissionError("The draw audit log is append-only.")


class DrawAuditEvent(models.Model):
    """Append-only record of every step of a draw. Holds anonymised entry ids, never e-mails."""

    draw = models.ForeignKey(PrizeDraw, on_delete=models.PROTECT, related_name="audit_events")
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=40)
    actor = models.CharField(max_length=150, default="system")
    details = models.JSONField(default=dict, blank=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise PermissionError("The draw audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise PermissionError("The draw audit log is append-only.")
