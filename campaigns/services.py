"""Writes: kill switches, the tokens that refresh every process, preview links."""

import logging
import uuid
from typing import Any

from django.core import signing
from django.db import transaction

from campaigns.compiled import (
    PROGRESS_KEY,
    VERSION_KEY,
    campaign_compile,
    campaigns_progress,
    campaigns_query,
)
from campaigns.models import Campaign, KillSwitch

logger = logging.getLogger(__name__)

PREVIEW_SALT = "campaigns.preview"
PREVIEW_MAX_AGE = 7 * 24 * 3600


def campaigns_version_bump() -> None:
    """Tell every process to recompile the campaigns at its next check (within seconds)."""
    from django.core.cache import cache

    def bump() -> None:
        try:
            cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        except Exception:  # the cache is down: processes recompile on their regular schedule
            logger.warning("could not bump the campaigns version; cache down", exc_info=True)

    # After commit, so no process recompiles before it can read the change.
    transaction.on_commit(bump)


def _progress_token_renew() -> None:
    from django.core.cache import cache

    cache.set(PROGRESS_KEY, uuid.uuid4().hex, timeout=None)


def campaign_progress_touch() -> None:
    """Tell every process that a gift moved the counters and goals (they recompile soon).

    Once per transaction: a webhook worker records up to a chunk of gifts in one, and a touch
    per gift was a cache write (and a new cache client) each, for one token the processes read.
    A touch already waiting for this commit is enough even if it was asked for inside a
    savepoint: Django drops a waiting callback only when a savepoint open at its asking rolls
    back, and any such savepoint still open encloses this call too (a released one can no
    longer roll back), so it would drop this touch as well.
    """
    waiting = transaction.get_connection().run_on_commit
    if any(func is _progress_token_renew for _, func, _ in waiting):
        return
    # Robust: the gift is recorded whatever the cache says; the counter then moves on the
    # periodic recompile instead.
    transaction.on_commit(_progress_token_renew, robust=True)


@transaction.atomic
def killswitch_activate(*, tag: str = "", reason: str = "") -> KillSwitch:
    """Suppress every appeal (no tag), or every appeal on pages carrying `tag`."""
    tag = tag.strip().lower()
    switch = KillSwitch.objects.select_for_update().filter(tag=tag, active=True).first()
    if switch is None:
        switch = KillSwitch.objects.create(tag=tag, reason=reason.strip())
    campaigns_version_bump()
    return switch


@transaction.atomic
def killswitch_lift(*, switch: KillSwitch) -> None:
    """Let appeals show again where this switch stopped them."""
    switch.active = False
    switch.save(update_fields=["active", "updated_at"])
    campaigns_version_bump()


def preview_token_make(*, campaign: Campaign, variant_key: str) -> str:
    """Return a signed token that shows this campaign and variant regardless of targeting."""
    return signing.dumps({"c": campaign.pk, "v": variant_key}, salt=PREVIEW_SALT, compress=True)


def preview_decide(*, token: str, placements: tuple[str, ...]) -> dict[str, dict[str, Any]] | None:
    """Return the previewed appeal for each of the page's placements, or None for a bad token."""
    try:
        data = signing.loads(token, salt=PREVIEW_SALT, max_age=PREVIEW_MAX_AGE)
        campaign = campaigns_query().get(pk=int(data["c"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError, Campaign.DoesNotExist):
        return None
    compiled = campaign_compile(campaign, progress=campaigns_progress([campaign]).get(campaign.pk))
    variant = next((v for v in compiled.variants if v.key == data.get("v")), compiled.variants[0])
    shown = [p for p in placements if p in compiled.placements] or list(placements[:1])
    return {p: {**compiled.appeal(variant, p), "preview": True} for p in shown}
