"""Personal data held about entrants: export, erasure on request, erasure after retention.

Survey answers never hold an e-mail address, but an entry links to its response, and free text
("why", "other (please say)") may say who wrote it: the answers linked to the reader's entries
are exported with them, and erasing on request blanks their free text (choices stay, anonymous).
"""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Concat
from django.utils import timezone

from antiabuse.email_address import email_normalise
from surveys.models import Answer, DrawPlacement, Entry, PrizeDraw, SurveyDraft
from surveys.services.draws import draw_audit_record


def _entries_of(email: str) -> Any:
    address = email.strip()
    return Entry.objects.filter(
        Q(email_normalised=email_normalise(address)) | Q(email__iexact=address)
    ).exclude(email="")


def surveys_personal_data_export(*, email: str) -> dict[str, Any]:
    """Return everything the surveys app holds about this address."""
    entries = (
        _entries_of(email)
        .select_related("draw__survey", "terms")
        .prefetch_related("consents", "placements__prize", "response__answers")
    )
    return {
        "draw_entries": [
            {
                "draw": entry.draw.title,
                "survey": entry.draw.survey.title,
                "entry_id": entry.public_id,
                "email": entry.email,
                "country": entry.country,
                "status": entry.status,
                "entered_at": entry.created_at.isoformat(),
                "confirmed_at": entry.confirmed_at.isoformat() if entry.confirmed_at else None,
                "terms_version": entry.terms.version,
                "consents": [
                    {
                        "kind": consent.kind,
                        "granted": consent.granted,
                        "wording": consent.wording,
                        "recorded_at": consent.recorded_at.isoformat(),
                    }
                    for consent in entry.consents.all()
                ],
                "placements": [
                    {
                        "rank": placement.rank,
                        "status": placement.status,
                        "prize": placement.prize.name if placement.prize else None,
                        "first_name": placement.first_name,
                        "county": placement.county,
                        "publish_name": placement.publish_name,
                    }
                    for placement in entry.placements.all()
                ],
                "survey_answers": [
                    {"question": answer.question_key, "value": answer.value, "text": answer.text}
                    for answer in (entry.response.answers.all() if entry.response else [])
                ],
            }
            for entry in entries
        ]
    }


def _entry_erase(entry: Entry, now: Any) -> None:
    """Blank the entry's personal data; an entry of a draw still open is withdrawn."""
    draw_open = entry.draw.status in (PrizeDraw.Status.DRAFT, PrizeDraw.Status.OPEN)
    entry.email = ""
    entry.email_normalised = f"erased:{entry.public_id}"
    entry.erased_at = now
    if draw_open:
        entry.status = Entry.Status.DISQUALIFIED
    entry.save(update_fields=["email", "email_normalised", "erased_at", "status"])
    DrawPlacement.objects.filter(entry=entry).update(first_name="", county="", publish_name=False)
    if entry.response_id is not None:
        Answer.objects.filter(response_id=entry.response_id).exclude(text="").update(text="")
        # The finished draft kept the same answers for resuming: nothing is left to resume.
        SurveyDraft.objects.filter(response_id=entry.response_id).update(answers={})


@transaction.atomic
def surveys_personal_data_erase(*, email: str) -> dict[str, int]:
    """Erase what the surveys app holds about this address; return what was erased."""
    now = timezone.now()
    entries = list(_entries_of(email).select_related("draw").select_for_update(of=("self",)))
    for entry in entries:
        _entry_erase(entry, now)
        draw_audit_record(draw=entry.draw, action="entry_erased_on_request", entry=entry.public_id)
    return {"draw_entries": len(entries)}


@transaction.atomic
def draw_personal_data_erase(*, draw_id: int) -> int:
    """Erase the personal data of every entrant of a complete draw; return how many entries."""
    draw = PrizeDraw.objects.select_for_update().get(pk=draw_id)
    if draw.status != PrizeDraw.Status.COMPLETE or draw.personal_data_erased_at:
        return 0
    now = timezone.now()
    entries = draw.entries.filter(erased_at__isnull=True)
    # A unique placeholder per entry keeps the one-entry constraint without the address.
    count = entries.update(
        email="",
        email_normalised=Concat(Value("erased:"), F("public_id")),
        erased_at=now,
    )
    draw.placements.update(first_name="", county="", publish_name=False)
    draw.personal_data_erased_at = now
    draw.save(update_fields=["personal_data_erased_at"])
    draw_audit_record(draw=draw, action="personal_data_erased", entries=count)
    return count


def draws_due_erasure(*, now: Any = None) -> list[int]:
    """Return the complete draws whose retention period has passed."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.SURVEYS_ERASE_AFTER_DAYS)
    return list(
        PrizeDraw.objects.filter(
            status=PrizeDraw.Status.COMPLETE,
            completed_at__lte=cutoff,
            personal_data_erased_at__isnull=True,
        ).values_list("pk", flat=True)
    )
