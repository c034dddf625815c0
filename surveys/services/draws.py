"""Writes for prize draws: open (commit), close (freeze), run (rank, reveal), claims, reserves.

Every state change locks the draw row (`select_for_update`) and writes the audit log in the same
transaction; mail is enqueued only after commit.
"""

import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.queueing import task_enqueue_on_commit
from surveys import proof
from surveys.models import DrawAuditEvent, DrawPlacement, Entry, PrizeDraw

SYSTEM = "system"


class DrawError(Exception):
    """A reason a draw step cannot happen, in words staff or a reader understand."""


def draw_audit_record(*, draw: PrizeDraw, action: str, actor: str = SYSTEM, **details: Any) -> None:
    """Append one line to the draw's audit log (never personal data: public entry ids only)."""
    DrawAuditEvent.objects.create(draw=draw, action=action, actor=actor, details=details)


def _locked(draw_id: int) -> PrizeDraw:
    return PrizeDraw.objects.select_for_update().get(pk=draw_id)


def frozen_entry_ids(*, draw: PrizeDraw) -> list[str]:
    """Return the public ids of the confirmed entries, the set frozen at close."""
    return list(
        Entry.objects.filter(draw=draw, status=Entry.Status.CONFIRMED).values_list(
            "public_id", flat=True
        )
    )


@transaction.atomic
def draw_open(*, draw_id: int, actor: str = SYSTEM) -> PrizeDraw:
    """Open entries: draw the secret seed and publish its SHA-256 commitment."""
    draw = _locked(draw_id)
    if draw.status != PrizeDraw.Status.DRAFT:
        raise DrawError(_("This draw has already been opened."))
    if not draw.prizes.exists():
        raise DrawError(_("Add at least one prize before opening the draw."))
    if not draw.terms.exists():
        raise DrawError(_("Add the terms and conditions before opening the draw."))
    draw.seed = proof.seed_generate()
    draw.commitment = proof.commitment_of(draw.seed)
    draw.status = PrizeDraw.Status.OPEN
    draw.opened_at = timezone.now()
    draw.save(update_fields=["seed", "commitment", "status", "opened_at"])
    draw_audit_record(draw=draw, action="opened", actor=actor, commitment=draw.commitment)
    return draw


@transaction.atomic
def draw_public_randomness_set(
    *, draw_id: int, value: str, source: str, actor: str = SYSTEM
) -> PrizeDraw:
    """Record a public random value (once, before close); the draw mixes it into its key."""
    draw = _locked(draw_id)
    value = value.strip()
    if draw.status not in (PrizeDraw.Status.DRAFT, PrizeDraw.Status.OPEN):
        raise DrawError(_("Public randomness can only be added before the draw closes."))
    if draw.public_randomness:
        raise DrawError(_("This draw already has a public randomness value."))
    if not value:
        raise DrawError(_("Give the public random value."))
    draw.public_randomness = value[:200]
    draw.public_randomness_source = source.strip()[:200]
    draw.save(update_fields=["public_randomness", "public_randomness_source"])
    draw_audit_record(
        draw=draw,
        action="public_randomness_added",
        actor=actor,
        value=draw.public_randomness,
        source=draw.public_randomness_source,
    )
    return draw


@transaction.atomic
def draw_close(*, draw_id: int, actor: str = SYSTEM, now: Any = None) -> PrizeDraw:
    """Close entries: freeze the confirmed entries and publish their fingerprint."""
    now = now or timezone.now()
    draw = _locked(draw_id)
    if draw.status != PrizeDraw.Status.OPEN:
        raise DrawError(_("Only an open draw can be closed."))
    if now < draw.closes_at:
        raise DrawError(_("The entry period has not ended yet."))
    ids = frozen_entry_ids(draw=draw)
    draw.entries_fingerprint = proof.fingerprint_of(ids)
    draw.entries_count = len(ids)
    draw.closed_at = now
    draw.status = PrizeDraw.Status.CLOSED
    draw.save(update_fields=["entries_fingerprint", "entries_count", "closed_at", "status"])
    draw_audit_record(
        draw=draw,
        action="closed",
        actor=actor,
        entries_count=len(ids),
        entries_fingerprint=draw.entries_fingerprint,
    )
    return draw


def _claim_window(draw: PrizeDraw, now: Any) -> dict[str, Any]:
    return {
        "status": DrawPlacement.Status.NOTIFIED,
        "claim_nonce": secrets.token_hex(16),
        "notified_at": now,
        "claim_expires_at": now + timedelta(days=draw.claim_days),
    }


def _notify_after_commit(placement_ids: list[int]) -> None:
    from surveys.tasks import placement_notification_send

    for placement_id in placement_ids:
        task_enqueue_on_commit(placement_notification_send, placement_id)


@transaction.atomic
def draw_run(*, draw_id: int, actor: str = SYSTEM) -> PrizeDraw:
    """Rank the frozen entries, place winners and reserves, and reveal the seed. Runs once."""
    draw = _locked(draw_id)
    if draw.status in (PrizeDraw.Status.DRAWN, PrizeDraw.Status.COMPLETE):
        raise DrawError(_("This draw has already been run; a draw can never run again."))
    if draw.status != PrizeDraw.Status.CLOSED:
        raise DrawError(_("Close the draw before running it."))
    ids = frozen_entry_ids(draw=draw)
    if proof.fingerprint_of(ids) != draw.entries_fingerprint:
        draw_audit_record(draw=draw, action="run_refused", actor=actor, reason="fingerprint")
        raise DrawError(_("The entries changed since the draw closed; the draw was not run."))
    slots = [prize for prize in draw.prizes.all() for _ in range(prize.quantity)]
    key = proof.draw_key(seed=draw.seed, public_randomness=draw.public_randomness)
    ranking = proof.ranking_top(key=key, entry_ids=ids, count=len(slots) + draw.reserves_count)
    entry_pks = dict(
        Entry.objects.filter(draw=draw, public_id__in=ranking).values_list("public_id", "pk")
    )
    now = timezone.now()
    placements = []
    for rank, public_id in enumerate(ranking, start=1):
        placement = DrawPlacement(draw=draw, rank=rank, entry_id=entry_pks[public_id])
        if rank <= len(slots):
            placement.prize = slots[rank - 1]
            for field, value in _claim_window(draw, now).items():
                setattr(placement, field, value)
        else:
            placement.status = DrawPlacement.Status.RESERVE
        placements.append(placement)
    DrawPlacement.objects.bulk_create(placements)
    draw.status = PrizeDraw.Status.DRAWN
    draw.drawn_at = now
    draw.save(update_fields=["status", "drawn_at"])
    draw_audit_record(
        draw=draw,
        action="drawn",
        actor=actor,
        seed=draw.seed,
        winners=ranking[: len(slots)],
        reserves=ranking[len(slots) :],
        unfilled_prizes=max(0, len(slots) - len(ranking)),
    )
    _notify_after_commit([p.pk for p in placements if p.status == DrawPlacement.Status.NOTIFIED])
    if not placements:
        _complete_if_done(draw, now)
    return draw


def _promote_next_reserve(draw: PrizeDraw, freed: DrawPlacement, now: Any) -> None:
    reserve = (
        DrawPlacement.objects.select_for_update()
        .filter(draw=draw, status=DrawPlacement.Status.RESERVE)
        .order_by("rank")
        .first()
    )
    if reserve is None:
        draw_audit_record(
            draw=draw, action="no_reserve_left", prize=freed.prize.name if freed.prize else ""
        )
        return
    reserve.prize = freed.prize
    for field, value in _claim_window(draw, now).items():
        setattr(reserve, field, value)
    reserve.save()
    draw_audit_record(
        draw=draw,
        action="reserve_promoted",
        rank=reserve.rank,
        entry=reserve.entry.public_id,
        replaces_rank=freed.rank,
    )
    _notify_after_commit([reserve.pk])


def _complete_if_done(draw: PrizeDraw, now: Any) -> None:
    if draw.placements.filter(status=DrawPlacement.Status.NOTIFIED).exists():
        return
    draw.placements.filter(status=DrawPlacement.Status.RESERVE).update(
        status=DrawPlacement.Status.UNUSED
    )
    draw.status = PrizeDraw.Status.COMPLETE
    draw.completed_at = now
    draw.save(update_fields=["status", "completed_at"])
    draw_audit_record(draw=draw, action="completed")


@transaction.atomic
def placement_claim(
    *, placement_id: int, nonce: str, first_name: str, county: str, publish_name: bool
) -> DrawPlacement:
    """Claim a prize through the one-time link; refused once claimed, passed on or expired."""
    placement = DrawPlacement.objects.select_related("draw", "entry").get(pk=placement_id)
    draw = _locked(placement.draw_id)
    placement = (
        DrawPlacement.objects.select_for_update(of=("self",))
        .select_related("entry")
        .get(pk=placement_id)
    )
    if not nonce or not secrets.compare_digest(placement.claim_nonce, nonce):
        raise DrawError(_("This claim link is not valid."))
    if placement.status == DrawPlacement.Status.CLAIMED:
        raise DrawError(_("This prize has already been claimed."))
    now = timezone.now()
    if placement.status != DrawPlacement.Status.NOTIFIED or (
        placement.claim_expires_at and placement.claim_expires_at < now
    ):
        raise DrawError(_("The time to claim this prize has ended."))
    placement.status = DrawPlacement.Status.CLAIMED
    placement.claimed_at = now
    placement.first_name = first_name.strip()
    placement.county = county.strip()
    placement.publish_name = publish_name
    placement.save()
    draw_audit_record(
        draw=draw, action="claimed", rank=placement.rank, entry=placement.entry.public_id
    )
    _complete_if_done(draw, now)
    return placement


@transaction.atomic
def placement_mark_ineligible(*, placement_id: int, reason: str, actor: str) -> DrawPlacement:
    """Staff found a winner ineligible: their prize passes to the next reserve."""
    draw = _locked(DrawPlacement.objects.get(pk=placement_id).draw_id)
    placement = DrawPlacement.objects.select_for_update().get(pk=placement_id)
    if placement.status not in (DrawPlacement.Status.NOTIFIED, DrawPlacement.Status.RESERVE):
        raise DrawError(_("Only a winner who has not claimed, or a reserve, can be ruled out."))
    was_winner = placement.status == DrawPlacement.Status.NOTIFIED
    placement.status = DrawPlacement.Status.INELIGIBLE
    placement.save(update_fields=["status"])
    draw_audit_record(
        draw=draw, action="ruled_ineligible", actor=actor, rank=placement.rank, reason=reason
    )
    now = timezone.now()
    if was_winner:
        _promote_next_reserve(draw, placement, now)
        _complete_if_done(draw, now)
    return placement


@transaction.atomic
def draw_claims_expire(*, draw_id: int, now: Any = None) -> int:
    """Pass every prize whose claim window ended to the next reserve; return how many."""
    now = now or timezone.now()
    draw = _locked(draw_id)
    if draw.status != PrizeDraw.Status.DRAWN:
        return 0
    expired = list(
        DrawPlacement.objects.select_for_update(of=("self",))
        .select_related("prize")
        .filter(draw=draw, status=DrawPlacement.Status.NOTIFIED, claim_expires_at__lt=now)
        .order_by("rank")
    )
    for placement in expired:
        placement.status = DrawPlacement.Status.EXPIRED
        placement.save(update_fields=["status"])
        draw_audit_record(draw=draw, action="claim_expired", rank=placement.rank)
        _promote_next_reserve(draw, placement, now)
    _complete_if_done(draw, now)
    return len(expired)


def placements_due_reminder(*, now: Any, remind_before: timedelta) -> list[int]:
    """Return the ids of notified winners whose claim window ends soon and who were not reminded."""
    return list(
        DrawPlacement.objects.filter(
            status=DrawPlacement.Status.NOTIFIED,
            reminded_at__isnull=True,
            claim_expires_at__gt=now,
            claim_expires_at__lte=now + remind_before,
        ).values_list("pk", flat=True)
    )
