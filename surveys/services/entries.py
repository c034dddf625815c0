"""Writes for draw entries: enter, confirm from the e-mail link, disqualify, and the mails."""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from antiabuse.email_address import email_domain, email_normalise
from branding.mail import mail_compose, site_link
from config.mail_once import SendSlot, mail_send_once, message_id
from config.queueing import task_enqueue_on_commit
from surveys.models import ConsentRecord, DrawPlacement, Entry, PrizeDraw, SurveyDraft
from surveys.services.draws import DrawError, draw_audit_record
from surveys.tokens import claim_token, confirmation_token


class EntryError(Exception):
    """A reader-facing reason an entry was refused, with the form field it concerns."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Consents:
    marketing: bool
    marketing_wording: str
    publish_name: bool
    publish_wording: str


def draw_accepts_entries(draw: PrizeDraw, now: object = None) -> bool:
    now = now or timezone.now()
    return draw.status == PrizeDraw.Status.OPEN and draw.opens_at <= now < draw.closes_at  # type: ignore[operator]


def entry_eligibility_check(
    *, draw: PrizeDraw, email: str, country: str, age_confirmed: bool
) -> None:
    """Raise EntryError when the entrant may not enter this draw."""
    if not age_confirmed:
        raise EntryError(
            _("You must be %(age)d or older to enter.") % {"age": draw.minimum_age},
            field="age_confirmed",
        )
    allowed = draw.country_codes()
    if allowed and country.upper() not in allowed:
        raise EntryError(_("This draw is not open to residents of that country."), field="country")
    domain = email_domain(email)
    for excluded in draw.excluded_domains():
        if domain == excluded or domain.endswith("." + excluded):
            raise EntryError(
                _("Addresses at %(domain)s may not enter this draw.") % {"domain": domain},
                field="email",
            )


def entry_create(
    *,
    draw: PrizeDraw,
    email: str,
    country: str,
    age_confirmed: bool,
    consents: Consents,
    draft_token: str = "",
) -> Entry:
    """Enter the draw (pending until confirmed by e-mail) and record the consents given.

    The same person entering again (same normalised address) gets the confirmation e-mail again
    (or, once confirmed, a note that they are in the draw already) instead of a second entry, at
    most once per `SURVEYS_CONFIRMATION_RESEND_SECONDS`; the database's unique constraint
    decides, even under races.
    """
    if not draw_accepts_entries(draw):
        raise EntryError(_("This prize draw is not open for entries."))
    entry_eligibility_check(draw=draw, email=email, country=country, age_confirmed=age_confirmed)
    normalised = email_normalise(email)
    terms = draw.terms.order_by("-version").first()
    if terms is None:
        raise EntryError(_("This prize draw is not open for entries."))
    draft = (
        SurveyDraft.objects.select_related("response")
        .filter(token=draft_token, survey_id=draw.survey_id)
        .first()
        if draft_token
        else None
    )
    response = draft.response if draft is not None else None
    try:
        with transaction.atomic():
            entry = Entry.objects.create(
                draw=draw,
                public_id=secrets.token_hex(8),
                email=email.strip(),
                email_normalised=normalised,
                country=country.upper(),
                age_confirmed=True,
                terms=terms,
                response=response,
                flagged_fast=bool(response and response.flagged_fast),
                confirmation_sent_at=timezone.now(),
            )
            ConsentRecord.objects.bulk_create(
                [
                    ConsentRecord(
                        entry=entry,
                        kind=ConsentRecord.Kind.TERMS,
                        granted=True,
                        wording=f"Terms v{terms.version}:\n{terms.text}",
                    ),
                    ConsentRecord(
                        entry=entry,
                        kind=ConsentRecord.Kind.MARKETING,
                        granted=consents.marketing,
                        wording=consents.marketing_wording,
                    ),
                    ConsentRecord(
                        entry=entry,
                        kind=ConsentRecord.Kind.PUBLISH_NAME,
                        granted=consents.publish_name,
                        wording=consents.publish_wording,
                    ),
                ]
            )
    except IntegrityError:
        entry = Entry.objects.get(draw=draw, email_normalised=normalised)
        # The page says the same for every address, so it never tells who entered: an e-mail
        # about the entry goes to the address (at most one per window). Only the address's
        # owner reads whether it asks to confirm or says the address is in the draw already.
        if not _confirmation_resend_claim(entry):
            return entry
        if entry.status != Entry.Status.PENDING:
            _duplicate_notice_after_commit(entry.pk)
            return entry
    _confirmation_after_commit(entry.pk)
    return entry


def _duplicate_notice_after_commit(entry_id: int) -> None:
    from surveys.tasks import entry_duplicate_notice_send

    task_enqueue_on_commit(entry_duplicate_notice_send, entry_id)


def _confirmation_resend_claim(entry: Entry) -> bool:
    """Claim the right to mail this entry's confirmation again; False within the window.

    One conditional UPDATE, so two concurrent duplicates cannot both claim it.
    """
    now = timezone.now()
    window_start = now - timedelta(seconds=settings.SURVEYS_CONFIRMATION_RESEND_SECONDS)
    return bool(
        Entry.objects.filter(pk=entry.pk)
        .filter(Q(confirmation_sent_at__isnull=True) | Q(confirmation_sent_at__lte=window_start))
        .update(confirmation_sent_at=now)
    )


def _confirmation_after_commit(entry_id: int) -> None:
    from surveys.tasks import entry_confirmation_send

    task_enqueue_on_commit(entry_confirmation_send, entry_id)


@transaction.atomic
def entry_confirm(*, public_id: str) -> Entry:
    """Confirm an entry (the button behind the e-mailed link). Confirming twice is harmless."""
    entry = Entry.objects.filter(public_id=public_id).first()
    if entry is None:
        raise EntryError(_("This confirmation link is not valid."))
    draw = PrizeDraw.objects.select_for_update().get(pk=entry.draw_id)
    entry = Entry.objects.select_for_update().get(pk=entry.pk)
    if entry.status == Entry.Status.CONFIRMED:
        return entry
    if entry.status != Entry.Status.PENDING or entry.erased_at:
        raise EntryError(_("This entry can no longer be confirmed."))
    if not draw_accepts_entries(draw):
        raise EntryError(_("Sorry, the prize draw closed before this entry was confirmed."))
    entry.status = Entry.Status.CONFIRMED
    entry.confirmed_at = timezone.now()
    entry.save(update_fields=["status", "confirmed_at"])
    draw_audit_record(draw=draw, action="entry_confirmed", entry=entry.public_id)
    return entry


@transaction.atomic
def entry_disqualify(*, entry_id: int, reason: str, actor: str) -> Entry:
    """Rule an entry out before the draw closes (e.g. after reviewing a too-fast completion)."""
    entry = Entry.objects.get(pk=entry_id)
    draw = PrizeDraw.objects.select_for_update().get(pk=entry.draw_id)
    if draw.status not in (PrizeDraw.Status.DRAFT, PrizeDraw.Status.OPEN):
        raise DrawError(_("Entries are frozen once the draw closes."))
    entry = Entry.objects.select_for_update().get(pk=entry_id)
    entry.status = Entry.Status.DISQUALIFIED
    entry.save(update_fields=["status"])
    draw_audit_record(
        draw=draw, action="entry_disqualified", actor=actor, entry=entry.public_id, reason=reason
    )
    return entry


def entry_confirmation_mail_send(*, entry_id: int) -> bool:
    """Send the confirmation link to a pending entry; return whether a mail went out."""
    entry = Entry.objects.select_related("draw__survey").get(pk=entry_id)
    if entry.status != Entry.Status.PENDING or not entry.email:
        return False
    token = confirmation_token(public_id=entry.public_id)
    draw = entry.draw
    context = {
        "draw": draw,
        "link": site_link(reverse("surveys:entry-confirm", args=[token])),
        "entry_id": entry.public_id,
        "draw_link": site_link(reverse("surveys:draw-detail", args=[draw.survey.slug, draw.pk])),
    }
    mail_compose(
        template="surveys/email/confirm_entry",
        subject=_("Please confirm your entry: %(title)s") % {"title": entry.draw.title},
        to=[entry.email],
        context=context,
    ).send()
    return True


def entry_duplicate_notice_mail_send(*, entry_id: int) -> bool:
    """Tell someone who entered again that their address is in the draw already."""
    entry = Entry.objects.select_related("draw__survey").get(pk=entry_id)
    if not entry.email:  # erased
        return False
    context = {
        "draw": entry.draw,
        "entry": entry,
        "confirmed": entry.status == Entry.Status.CONFIRMED,
        "draw_link": site_link(
            reverse("surveys:draw-detail", args=[entry.draw.survey.slug, entry.draw_id])
        ),
    }
    mail_compose(
        template="surveys/email/duplicate_entry",
        subject=_("You are already in the draw: %(title)s") % {"title": entry.draw.title},
        to=[entry.email],
        context=context,
    ).send()
    return True


def placement_notification_mail_send(*, placement_id: int, reminder: bool = False) -> bool:
    """Send a winner their one-time claim link (or a reminder), once; return whether it went now.

    Claimed, sent and recorded in the crash-safe order of `config.mail_once`, with a Message-ID
    derived from the placement, so a task delivered twice or a crash never mails it twice
    unrecognisably. Runs outside a transaction: the claim commits on its own.
    """
    placement = DrawPlacement.objects.select_related("draw__survey", "entry", "prize").get(
        pk=placement_id
    )
    if placement.status != DrawPlacement.Status.NOTIFIED or not placement.entry.email:
        return False
    token = claim_token(placement_id=placement.pk, nonce=placement.claim_nonce)
    context = {
        "placement": placement,
        "draw": placement.draw,
        "reminder": reminder,
        "link": site_link(reverse("surveys:claim", args=[token])),
    }
    subject = (
        _("Reminder: claim your prize from %(title)s")
        if reminder
        else _("You won a prize: %(title)s")
    ) % {"title": placement.draw.title}
    kind = "claim-reminder" if reminder else "claim-notice"
    message = mail_compose(
        template="surveys/email/claim_prize",
        subject=subject,
        to=[placement.entry.email],
        context=context,
        headers={"Message-ID": message_id(kind=kind, key=placement.pk)},
    )
    slot = SendSlot(
        row=DrawPlacement.objects.filter(pk=placement.pk, status=DrawPlacement.Status.NOTIFIED),
        claimed_field="reminder_claimed_at" if reminder else "notice_claimed_at",
        sent_field="reminded_at" if reminder else "notice_sent_at",
    )
    if not mail_send_once(slot=slot, send=message.send):
        return False
    with transaction.atomic():
        draw_audit_record(
            draw=placement.draw,
            action="claim_reminder_sent" if reminder else "winner_notified",
            rank=placement.rank,
        )
    return True
