"""The live campaigns, compiled into an in-process structure the decision endpoint reads.

Staff edits bump a version token in the cache (`campaigns_version_bump`); gifts bump a progress
token (`campaign_progress_touch`). Each process checks both at most every
`CAMPAIGN_REFRESH_SECONDS` and recompiles when the version changed, when the progress changed and
its copy is older than `CAMPAIGN_PROGRESS_SECONDS` (so a gift moves the counter within seconds
without a burst of gifts recompiling every process on every check), or when its copy is older
than `CAMPAIGN_RECOMPILE_SECONDS`. A failed refresh keeps the last good copy. Between checks a
decision touches neither the database nor the cache.
"""

import fnmatch
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Prefetch
from django.utils import timezone

from campaigns import conversions, selectors, stats
from campaigns.models import Campaign, KillSwitch, Placement, Variant, csv_values

logger = logging.getLogger(__name__)

VERSION_KEY = "campaigns:version"
PROGRESS_KEY = "campaigns:progress"


@dataclass(frozen=True, slots=True)
class CompiledVariant:
    key: str
    weight: float
    copy: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CompiledCampaign:
    id: int
    slug: str
    priority: int
    starts_at: float | None
    ends_at: float | None
    placements: frozenset[str]
    # Staff asked for this campaign in the banner and the epic of one page view.
    banner_and_epic: bool
    sections_include: frozenset[str]
    sections_exclude: frozenset[str]
    tags_include: frozenset[str]
    tags_exclude: frozenset[str]
    url_pattern: re.Pattern[str] | None
    countries: frozenset[str]
    devices: frozenset[str]
    readers: str
    min_articles_read: int
    articles_window_days: int
    include_supporters: bool
    max_views: int
    max_views_seconds: int
    min_gap_seconds: int
    dismiss_seconds: int
    variants: tuple[CompiledVariant, ...]
    cumulative_weights: tuple[float, ...]
    payload: dict[str, Any]
    variant_keys: frozenset[str] = field(default_factory=frozenset)
    # The JSON of each (variant key, placement) answer, serialised once at compile time.
    fragments: dict[tuple[str, str], str] = field(default_factory=dict)

    def appeal(self, variant: CompiledVariant, placement: str) -> dict[str, Any]:
        return {**self.payload, **variant.copy, "variant": variant.key, "placement": placement}


@dataclass(frozen=True, slots=True)
class Compiled:
    version: str
    campaigns: tuple[CompiledCampaign, ...]
    by_slug: dict[str, CompiledCampaign]
    kill_all: bool
    kill_tags: frozenset[str]
    compiled_at: float
    # Filled by the decision code: which campaigns aim at a page, per page seen (bounded).
    page_memo: dict[Any, Any] = field(default_factory=dict)


def _url_pattern(patterns: str) -> re.Pattern[str] | None:
    globs = [line.strip() for line in patterns.splitlines() if line.strip()]
    if not globs:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(glob)})" for glob in globs))


def _copy_of(source: Campaign | Variant) -> dict[str, Any]:
    copy = {
        "headline": source.headline,
        "body": source.body,
        "cta": source.cta_label,
        "counter": source.counter_text,
        "amounts": source.amounts,
    }
    return {key: value for key, value in copy.items() if value}


def campaign_compile(
    campaign: Campaign,
    *,
    progress: dict[str, int] | None = None,
    allocation: dict[str, float] | None = None,
) -> CompiledCampaign:
    """Compile one campaign (its variants prefetched) into its in-memory form."""
    placements = {
        Placement.BANNER: campaign.placement_banner,
        Placement.EPIC: campaign.placement_epic,
        Placement.SURVEY: campaign.placement_survey and campaign.survey_id is not None,
    }
    variants = list(campaign.variants.all())
    compiled_variants: tuple[CompiledVariant, ...]
    if not variants:
        compiled_variants = (CompiledVariant(key="control", weight=1.0, copy={}),)
    else:
        variants.sort(key=lambda v: (v.key != "control", v.key))
        compiled_variants = tuple(
            CompiledVariant(
                key=v.key,
                weight=float((allocation or {}).get(v.key, v.weight)),
                copy=_copy_of(v),
            )
            for v in variants
        )
    total = sum(v.weight for v in compiled_variants) or 1.0
    cumulative: list[float] = []
    running = 0.0
    for variant in compiled_variants:
        running += variant.weight / total
        cumulative.append(running)
    cumulative[-1] = 1.0

    progress = progress or {}
    supporters = progress.get("conversions", 0)
    goal = None
    if campaign.goal_kind != Campaign.GoalKind.NONE and campaign.goal_target:
        raised = progress.get("revenue", 0) if campaign.goal_kind == "money" else supporters
        goal = {
            "kind": campaign.goal_kind,
            "target": campaign.goal_target,
            "current": campaign.goal_baseline + raised,
        }
    if campaign.goal_kind == Campaign.GoalKind.SUPPORTERS:
        supporters += campaign.goal_baseline
    survey = campaign.survey
    payload: dict[str, Any] = {
        "campaign": campaign.slug,
        "currency": campaign.currency,
        "support_url": f"/support/{campaign.slug}/",
        "survey_url": f"/surveys/{survey.slug}/" if survey and survey.status == "open" else "",
        "position": campaign.banner_position,
        "goal": goal,
        "supporters": supporters,
        **_copy_of(campaign),
    }
    day = 24 * 3600
    return CompiledCampaign(
        id=campaign.pk,
        slug=campaign.slug,
        priority=campaign.priority,
        starts_at=campaign.starts_at.timestamp() if campaign.starts_at else None,
        ends_at=campaign.ends_at.timestamp() if campaign.ends_at else None,
        placements=frozenset(p for p, on in placements.items() if on),
        banner_and_epic=campaign.show_in_banner_and_epic,
        sections_include=frozenset(csv_values(campaign.sections_include)),
        sections_exclude=frozenset(csv_values(campaign.sections_exclude)),
        tags_include=frozenset(csv_values(campaign.tags_include)),
        tags_exclude=frozenset(csv_values(campaign.tags_exclude)),
        url_pattern=_url_pattern(campaign.url_patterns),
        countries=frozenset(c.upper() for c in csv_values(campaign.countries)),
        devices=frozenset(csv_values(campaign.devices)),
        readers=campaign.readers,
        min_articles_read=campaign.min_articles_read,
        articles_window_days=campaign.articles_window_days,
        include_supporters=campaign.include_supporters,
        max_views=campaign.max_views,
        max_views_seconds=campaign.max_views_days * day,
        min_gap_seconds=campaign.min_gap_minutes * 60,
        dismiss_seconds=campaign.dismiss_days * day,
        variants=compiled_variants,
        cumulative_weights=tuple(cumulative),
        payload=payload,
        variant_keys=frozenset(v.key for v in compiled_variants),
        fragments={
            (v.key, p): json.dumps(
                {**payload, **v.copy, "variant": v.key, "placement": p}, separators=(",", ":")
            )
            for v in compiled_variants
            for p in Placement.values
        },
    )


def campaigns_progress(
    campaigns: list[Campaign], rows: list[stats.ConversionRow] | None = None
) -> dict[int, dict[str, int]]:
    """Return each campaign's live conversions and revenue, from `rows` or read now."""
    if rows is None:
        ids = [c.pk for c in campaigns]
        rows = conversions.conversion_rows(campaign_ids=ids) if ids else []
    return stats.campaign_progress(rows, currencies={c.pk: c.currency for c in campaigns})


def campaigns_query():
    return Campaign.objects.select_related("survey").prefetch_related(
        Prefetch("variants", queryset=Variant.objects.order_by("key"))
    )


def compile_from_database(version: str) -> Compiled:
    """Read the live campaigns and the active kill switches and compile them."""
    now = timezone.now()
    live = [
        c
        for c in campaigns_query().filter(status=Campaign.Status.LIVE)
        if c.ends_at is None or c.ends_at > now
    ]
    ids = [c.pk for c in live]
    rows = conversions.conversion_rows(campaign_ids=ids) if ids else []
    progress = campaigns_progress(live, rows)
    allocations: dict[int, dict[str, float]] = {}
    auto = [c for c in live if c.auto_allocate and len(c.variants.all()) > 1]
    if auto:
        allocations = selectors.thompson_allocations(campaigns=auto, conversion_rows=rows)
    campaigns = sorted(
        (
            campaign_compile(c, progress=progress.get(c.pk), allocation=allocations.get(c.pk))
            for c in live
        ),
        key=lambda c: (-c.priority, c.id),
    )
    switches = list(KillSwitch.objects.filter(active=True).values_list("tag", flat=True))
    return Compiled(
        version=version,
        campaigns=tuple(campaigns),
        by_slug={c.slug: c for c in campaigns},
        kill_all="" in switches,
        kill_tags=frozenset(t.strip().lower() for t in switches if t.strip()),
        compiled_at=time.monotonic(),
    )


def version_current() -> str:
    """Return the version token staff edits bump, creating one if the cache has none."""
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(VERSION_KEY)
    return str(version)


def progress_current() -> str:
    """Return the token gifts bump (empty before the first gift)."""
    return str(cache.get(PROGRESS_KEY) or "")


class Registry:
    """Hold this process's compiled campaigns and refresh them as described above."""

    def __init__(
        self,
        *,
        loader: Callable[[str], Compiled] = compile_from_database,
        version_reader: Callable[[], str] = version_current,
        progress_reader: Callable[[], str] = progress_current,
    ) -> None:
        self._loader = loader
        self._version_reader = version_reader
        self._progress_reader = progress_reader
        self._progress = ""  # the progress token the current copy was compiled after
        self._compiled: Compiled | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._compiled = None
            self._checked_at = float("-inf")

    def current(self) -> Compiled | None:
        """Return the compiled campaigns, refreshing them first when a check is due.

        Until a first compile has succeeded every caller waits for it (or runs it): an answer
        from no campaigns at all would refuse valid beacons and tell caches "no appeal here".
        None means the campaigns could not be read at all; callers must not share that answer.
        """
        now = time.monotonic()
        compiled = self._compiled
        if compiled is not None and now - self._checked_at < settings.CAMPAIGN_REFRESH_SECONDS:
            return compiled
        # One thread refreshes; the others keep answering from the copy they have (or, with no
        # copy yet, wait for the first one).
        if not self._lock.acquire(blocking=compiled is None):
            return compiled
        try:
            due = now - self._checked_at >= settings.CAMPAIGN_REFRESH_SECONDS
            if self._compiled is None or due:
                self._refresh(now)
            return self._compiled
        finally:
            self._lock.release()

    def _refresh(self, now: float) -> None:
        compiled = self._compiled
        try:
            version = self._version_reader()
            progress = self._progress_reader()
        except Exception:
            # The cache is down: the campaigns themselves are in the database. Recompile on the
            # usual schedule, under the tokens we had, until the cache answers again.
            logger.warning("campaigns version unreadable; cache down?", exc_info=True)
            version = compiled.version if compiled is not None else "unknown"
            progress = self._progress
        try:
            age = now - compiled.compiled_at if compiled is not None else 0.0
            stale = (
                compiled is None
                or compiled.version != version
                or (progress != self._progress and age >= settings.CAMPAIGN_PROGRESS_SECONDS)
                or age >= settings.CAMPAIGN_RECOMPILE_SECONDS
            )
            if stale:
                self._compiled = self._loader(version)
                self._progress = progress
        except Exception:
            # Keep answering from the last good copy; the next check tries again. Without a
            # copy, the next request tries again at once.
            logger.exception("campaigns refresh failed; keeping the last good copy")
            if compiled is None:
                return
        # Fresh only once a copy is in place: marking it earlier let other threads answer from
        # nothing while the first compile ran.
        self._checked_at = now


registry = Registry()
