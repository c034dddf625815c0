"""Which appeal a reader sees: targeting, caps, dismissal, kill switches and variant bucketing.

Everything here works on the compiled campaigns (see `compiled.py`) and on what the embed script
sends about the page and the reader; it never touches the database.

The reader's state lives in their browser. The script sends it as query parameters:
- `rid`: the first-party id (random, made by the script);
- `returning=1` for a reader first seen before today, `supporter=1` for a reader who gave;
- `reads`: ages in whole days of the articles read recently, e.g. `0,0,1,6`;
- `history`: per campaign, the age in seconds of the last dismissal and of recent views:
  `<slug>~<dismissed age or empty>~<view age>,<view age>` joined by `.`,
  e.g. `spring~~60,86400.autumn~3600~`.
"""

import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, NamedTuple

from campaigns.compiled import Compiled, CompiledCampaign, CompiledVariant
from campaigns.models import DEVICE_CLASSES, Placement

MAX_QUERY_LENGTH = 4096
MAX_HISTORY_CAMPAIGNS = 30
MAX_AGES = 100
_RID = re.compile(r"[-a-zA-Z0-9_]{8,64}")
# Validated whole, by one regular expression each: cheaper than splitting on every request.
_AGE_LIST = rf"(?:\d{{1,10}}(?:,\d{{1,10}}){{0,{MAX_AGES - 1}}})?"
_ENTRY = rf"[-a-zA-Z0-9_]{{1,80}}~\d{{0,10}}~{_AGE_LIST}"
_READS = re.compile(_AGE_LIST)
_HISTORY = re.compile(rf"{_ENTRY}(?:\.{_ENTRY}){{0,{MAX_HISTORY_CAMPAIGNS - 1}}}")
PLACEMENTS = frozenset(Placement.values)
_TOKEN = re.compile(r"^[-\w ]{1,100}$")


class BadRequest(ValueError):
    """The request cannot be answered; the message says why, in plain words."""


@dataclass(frozen=True)
class PageContext:
    placements: tuple[str, ...]
    path: str = "/"
    section: str = ""
    tags: frozenset[str] = frozenset()
    sensitive: bool = False
    country: str = ""
    device: str = ""


class CampaignHistory(NamedTuple):
    dismissed_age: int | None = None
    view_ages: tuple[int, ...] = ()


class ReaderState(NamedTuple):
    """What the script says about the reader; `reads` and `history` stay in their (validated)
    wire format and are read only for the campaigns that need them, since most requests look
    at one or two campaigns."""

    rid: str = ""
    returning: bool = False
    supporter: bool = False
    reads: str = ""
    history: str = ""

    def read_ages(self) -> list[int]:
        return [int(age) for age in self.reads.split(",")] if self.reads else []

    def history_of(self, slug: str) -> CampaignHistory | None:
        prefix = slug + "~"
        for entry in self.history.split("."):
            if entry.startswith(prefix):
                _, dismissed, views = entry.split("~")
                return CampaignHistory(
                    dismissed_age=int(dismissed) if dismissed else None,
                    view_ages=tuple(int(age) for age in views.split(",")) if views else (),
                )
        return None


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name, "")
    if value in ("", "0", "false"):
        return False
    if value in ("1", "true"):
        return True
    raise BadRequest(f"{name}: use 1 or 0.")


def _path_of(url: str) -> str:
    """Return the path of a page URL (or path) without query or fragment."""
    if "://" in url:
        url = url.split("://", 1)[1]
        url = "/" + url.split("/", 1)[1] if "/" in url else "/"
    return url.split("?", 1)[0].split("#", 1)[0] or "/"


def page_parse(params: Mapping[str, str], *, country: str = "") -> PageContext:
    """Validate what the script says about the page."""
    return _page_parse(
        params.get("placements", ""),
        params.get("section", ""),
        params.get("tags", ""),
        params.get("device", ""),
        params.get("url", "/"),
        params.get("sensitive", ""),
        country,
    )


# Many readers read the same pages: remember the parsed form of recent ones.
@lru_cache(maxsize=8192)
def _page_parse(
    raw: str, section: str, raw_tags: str, device: str, url: str, sensitive: str, country: str
) -> PageContext:
    if not raw:
        raise BadRequest("placements: say which placements the page has (banner, epic, survey).")
    placements = tuple(dict.fromkeys(p.strip() for p in raw.split(",") if p.strip()))
    unknown = [p for p in placements if p not in PLACEMENTS]
    if unknown:
        raise BadRequest(f"placements: unknown placement {unknown[0][:20]!r}.")
    section = section.strip().lower()
    if section and not _TOKEN.match(section):
        raise BadRequest("section: letters, digits, spaces, - and _ only, up to 100.")
    tags = frozenset(t.strip().lower() for t in raw_tags.split(",") if t.strip())
    if len(tags) > 50 or any(not _TOKEN.match(t) for t in tags):
        raise BadRequest("tags: up to 50 tags of letters, digits, spaces, - and _.")
    if device and device not in DEVICE_CLASSES:
        raise BadRequest("device: use mobile, tablet or desktop.")
    country = country.strip().upper()
    return PageContext(
        placements=placements,
        path=_path_of(url)[:2000],
        section=section,
        tags=tags,
        sensitive=_flag({"sensitive": sensitive}, "sensitive"),
        country=country if len(country) == 2 and country.isalpha() else "",
        device=device,
    )


def reader_parse(params: Mapping[str, str]) -> ReaderState:
    """Validate what the script says about the reader."""
    rid = params.get("rid", "")
    if rid and not _RID.fullmatch(rid):
        raise BadRequest("rid: 8 to 64 letters, digits, - or _.")
    reads = params.get("reads", "")
    if reads and not _READS.fullmatch(reads):
        raise BadRequest(
            f"reads: up to {MAX_AGES} ages in whole days (0 or more), separated by commas."
        )
    history = params.get("history", "")
    if history and not _HISTORY.fullmatch(history):
        raise BadRequest(
            f"history: up to {MAX_HISTORY_CAMPAIGNS} entries slug~dismissed-age~view-ages "
            f"joined by dots, each with up to {MAX_AGES} ages in whole seconds (0 or more)."
        )
    return ReaderState(
        rid=rid,
        returning=_flag(params, "returning"),
        supporter=_flag(params, "supporter"),
        reads=reads,
        history=history,
    )


def running(campaign: CompiledCampaign, now: float) -> bool:
    """Say whether the campaign's schedule covers this moment."""
    if campaign.starts_at is not None and now < campaign.starts_at:
        return False
    return campaign.ends_at is None or now < campaign.ends_at


def page_targets(campaign: CompiledCampaign, page: PageContext) -> bool:
    """Say whether the campaign is aimed at this page (whoever reads it)."""
    if campaign.sections_include and page.section not in campaign.sections_include:
        return False
    if page.section in campaign.sections_exclude:
        return False
    if campaign.tags_include and not (page.tags & campaign.tags_include):
        return False
    if page.tags & campaign.tags_exclude:
        return False
    if campaign.url_pattern is not None and not campaign.url_pattern.match(page.path):
        return False
    if campaign.countries and page.country not in campaign.countries:
        return False
    return not (campaign.devices and page.device not in campaign.devices)


# Only the banner has a close button: closing it closes the banner, not the epic or the survey.
CLOSABLE = frozenset({Placement.BANNER.value})
# Placements that carry the whole appeal; one page view shows a campaign in only one of them.
APPEAL_BOXES = frozenset({Placement.BANNER.value, Placement.EPIC.value})


def reader_allowed(campaign: CompiledCampaign, reader: ReaderState, *, closable: bool) -> bool:
    """Say whether this reader may see the campaign now: audience, caps and, for a placement
    with a close button, dismissal."""
    if reader.supporter and not campaign.include_supporters:
        return False
    if campaign.readers == "new" and reader.returning:
        return False
    if campaign.readers == "returning" and not reader.returning:
        return False
    if campaign.min_articles_read:
        window = campaign.articles_window_days
        if sum(1 for age in reader.read_ages() if age < window) < campaign.min_articles_read:
            return False
    history = reader.history_of(campaign.slug)
    if history is None:
        return True
    dismissed = history.dismissed_age
    if closable and dismissed is not None and dismissed < campaign.dismiss_seconds:
        return False
    if campaign.max_views:
        recent = sum(1 for age in history.view_ages if age < campaign.max_views_seconds)
        if recent >= campaign.max_views:
            return False
    return not (
        campaign.min_gap_seconds
        and history.view_ages
        and min(history.view_ages) < campaign.min_gap_seconds
    )


def bucket(rid: str, campaign_slug: str) -> float:
    """Map a reader and a campaign to a stable point in [0, 1)."""
    digest = hashlib.sha256(f"{campaign_slug}:{rid}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def variant_choose(campaign: CompiledCampaign, rid: str) -> CompiledVariant:
    """Return the reader's variant: the same one on every page, in proportion to the weights."""
    if len(campaign.variants) == 1 or not rid:
        return campaign.variants[0]
    point = bucket(rid, campaign.slug)
    for variant, edge in zip(campaign.variants, campaign.cumulative_weights, strict=True):
        if point < edge:
            return variant
    return campaign.variants[-1]


@dataclass(frozen=True)
class Decision:
    chosen: tuple[tuple[str, CompiledCampaign, CompiledVariant], ...]
    # False when the answer would be the same for any reader of this page (so caches may share it).
    reader_dependent: bool
    # False when the campaigns could not be read at all: "no appeal" then says nothing about
    # the page, and a shared cache must not keep it.
    from_data: bool = True

    @property
    def shareable(self) -> bool:
        """Return whether any reader of this page may be given this same answer for a while."""
        return self.from_data and not self.reader_dependent

    @property
    def appeals(self) -> dict[str, dict[str, Any]]:
        return {p: campaign.appeal(variant, p) for p, campaign, variant in self.chosen}

    def to_json(self) -> str:
        """Return {"appeals": {placement: appeal}} from the fragments serialised at compile time."""
        parts = [
            f'"{p}":{campaign.fragments[(variant.key, p)]}' for p, campaign, variant in self.chosen
        ]
        return '{"appeals":{' + ",".join(parts) + "}}"


def decide(
    compiled: Compiled | None, page: PageContext, reader: ReaderState, now: float | None = None
) -> Decision:
    """Return the appeal for each placement of the page: at most one per placement."""
    if compiled is None:
        return Decision(chosen=(), reader_dependent=False, from_data=False)
    if page.sensitive or compiled.kill_all:
        return Decision(chosen=(), reader_dependent=False)
    if page.tags & compiled.kill_tags:
        return Decision(chosen=(), reader_dependent=False)
    now = time.time() if now is None else now
    chosen: list[tuple[str, CompiledCampaign, CompiledVariant]] = []
    reader_dependent = False
    # Per campaign and closability: None when the reader may not see it, else their variant.
    verdicts: dict[tuple[int, bool], CompiledVariant | None] = {}
    in_a_box: set[int] = set()  # campaigns already shown in the banner or the epic
    for placement, candidates in _candidates(compiled, page):
        closable = placement in CLOSABLE
        boxed = placement in APPEAL_BOXES
        for campaign in candidates:
            if not running(campaign, now):
                continue
            if boxed and campaign.id in in_a_box and not campaign.banner_and_epic:
                continue
            reader_dependent = True
            key = (campaign.id, closable)
            if key in verdicts:
                variant = verdicts[key]
            else:
                allowed = reader_allowed(campaign, reader, closable=closable)
                variant = verdicts[key] = variant_choose(campaign, reader.rid) if allowed else None
            if variant is not None:
                chosen.append((placement, campaign, variant))
                if boxed:
                    in_a_box.add(campaign.id)
                break
    return Decision(chosen=tuple(chosen), reader_dependent=reader_dependent)


PAGE_MEMO_SIZE = 10_000


def _candidates(
    compiled: Compiled, page: PageContext
) -> tuple[tuple[str, tuple[CompiledCampaign, ...]], ...]:
    """Return, per placement of the page, the campaigns aimed at it, best first (memoised)."""
    found = compiled.page_memo.get(page)
    if found is None:
        found = tuple(
            (
                placement,
                tuple(
                    c
                    for c in compiled.campaigns
                    if placement in c.placements and page_targets(c, page)
                ),
            )
            for placement in page.placements
        )
        if len(compiled.page_memo) >= PAGE_MEMO_SIZE:
            compiled.page_memo.clear()
        compiled.page_memo[page] = found
    return found
