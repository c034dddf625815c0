"""Campaign statistics, computed from plain rows (no database access here).

Rates use Wilson score intervals. Revenue per 1,000 impressions is the conversion rate times the
mean gift, so its interval is the conversion rate's interval scaled by the mean gift (the spread
of gift sizes is not in the rows payments hands over). "Probability a variant beats control" and
the Thompson allocation sample Beta posteriors of the conversion rate (uniform prior) with a fixed
seed, so the same numbers give the same answer.
"""

import math
import random
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

Z_95 = 1.959963984540054
DRAWS = 20_000
SEED = 20_251_125
ALLOCATION_FLOOR = 0.05


class ConversionRow(Protocol):
    """What payments' `campaign_conversions` returns, one row per campaign/variant/day/currency."""

    @property
    def campaign_id(self) -> int: ...
    @property
    def variant_key(self) -> str: ...
    @property
    def day(self) -> date: ...
    @property
    def conversions(self) -> int: ...
    @property
    def revenue_minor(self) -> int: ...
    @property
    def currency(self) -> str: ...


@dataclass(frozen=True)
class CountRow:
    """Counted beacons: one row per variant, kind (view/click/dismiss) and day."""

    variant_key: str
    kind: str
    day: date
    count: int


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


@dataclass
class VariantResult:
    key: str
    impressions: int = 0
    clicks: int = 0
    dismissals: int = 0
    conversions: int = 0
    revenue_minor: int = 0
    click_rate: Interval = field(default_factory=lambda: Interval(0, 0, 0))
    conversion_rate: Interval = field(default_factory=lambda: Interval(0, 0, 0))
    rpm: Interval = field(default_factory=lambda: Interval(0, 0, 0))
    beats_control: float | None = None
    allocation: float | None = None


@dataclass
class DayPoint:
    day: date
    impressions: int = 0
    clicks: int = 0
    conversions: int = 0
    revenue_minor: int = 0


@dataclass
class CampaignResults:
    currency: str
    variants: list[VariantResult]
    series: dict[str, list[DayPoint]]
    other_currency_revenue: dict[str, int]


def wilson(successes: int, trials: int, z: float = Z_95) -> Interval:
    """Return the rate successes/trials with its Wilson score interval."""
    if trials <= 0:
        return Interval(0.0, 0.0, 0.0)
    successes = min(successes, trials)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def _beta_draws(successes: int, trials: int, rng: random.Random, draws: int) -> list[float]:
    failures = max(trials - successes, 0)
    return [rng.betavariate(1 + successes, 1 + failures) for _ in range(draws)]


def probability_beats(
    *, control: tuple[int, int], variant: tuple[int, int], draws: int = DRAWS, seed: int = SEED
) -> float:
    """Return P(variant's conversion rate > control's); each side is (conversions, impressions)."""
    rng = random.Random(seed)  # noqa: S311 - statistics, not secrets
    a = _beta_draws(*control, rng, draws)
    b = _beta_draws(*variant, rng, draws)
    return sum(1 for x, y in zip(a, b, strict=True) if y > x) / draws


def thompson_allocation(
    arms: Mapping[str, tuple[int, int, int]], *, draws: int = 4_000, seed: int = SEED
) -> dict[str, float]:
    """Return each arm's share of traffic: the chance it has the best revenue per impression.

    `arms` maps a variant key to (impressions, conversions, revenue in minor units). Each draw
    samples the conversion rate from its Beta posterior and multiplies it by the arm's mean gift
    (the pooled mean while an arm has no conversions). Every arm keeps at least ALLOCATION_FLOOR
    so a variant that starts badly can still recover.
    """
    if not arms:
        return {}
    total_conversions = sum(c for _, c, _ in arms.values())
    pooled_gift = (
        sum(r for _, _, r in arms.values()) / total_conversions if total_conversions else 1
    )
    rng = random.Random(seed)  # noqa: S311 - statistics, not secrets
    keys = sorted(arms)
    samples = {}
    for key in keys:
        impressions, conversions, revenue = arms[key]
        gift = revenue / conversions if conversions else pooled_gift
        samples[key] = [d * gift for d in _beta_draws(conversions, impressions, rng, draws)]
    wins = dict.fromkeys(keys, 0)
    for i in range(draws):
        best = max(keys, key=lambda k: samples[k][i])
        wins[best] += 1
    shares = {k: max(wins[k] / draws, ALLOCATION_FLOOR) for k in keys}
    total = sum(shares.values())
    return {k: v / total for k, v in shares.items()}


def campaign_progress(
    rows: Iterable[ConversionRow], *, currencies: Mapping[int, str]
) -> dict[int, dict[str, int]]:
    """Sum conversions (all currencies) and revenue (the campaign's currency) per campaign."""
    progress: dict[int, dict[str, int]] = defaultdict(lambda: {"conversions": 0, "revenue": 0})
    for row in rows:
        entry = progress[row.campaign_id]
        entry["conversions"] += row.conversions
        if row.currency == currencies.get(row.campaign_id):
            entry["revenue"] += row.revenue_minor
    return dict(progress)


def campaign_results(
    *,
    currency: str,
    variant_keys: Iterable[str],
    counts: Iterable[CountRow],
    conversion_rows: Iterable[ConversionRow],
    allocation: Mapping[str, float] | None = None,
) -> CampaignResults:
    """Combine counted beacons and attributed conversions into per-variant results."""
    results: dict[str, VariantResult] = {key: VariantResult(key=key) for key in variant_keys}
    # Contributions made without a variant (a direct visit to the support page) or under a
    # variant since deleted are listed, but take no part in the comparison with control.
    compared = set(results)
    series: dict[str, dict[date, DayPoint]] = defaultdict(dict)
    for row in counts:
        result = results.setdefault(row.variant_key, VariantResult(key=row.variant_key))
        point = series[row.variant_key].setdefault(row.day, DayPoint(day=row.day))
        if row.kind == "view":
            result.impressions += row.count
            point.impressions += row.count
        elif row.kind == "click":
            result.clicks += row.count
            point.clicks += row.count
        elif row.kind == "dismiss":
            result.dismissals += row.count
    other_currency: dict[str, int] = defaultdict(int)
    for conversion in conversion_rows:
        result = results.setdefault(
            conversion.variant_key, VariantResult(key=conversion.variant_key)
        )
        point = series[conversion.variant_key].setdefault(
            conversion.day, DayPoint(day=conversion.day)
        )
        result.conversions += conversion.conversions
        point.conversions += conversion.conversions
        if conversion.currency == currency:
            result.revenue_minor += conversion.revenue_minor
            point.revenue_minor += conversion.revenue_minor
        else:
            other_currency[conversion.currency] += conversion.revenue_minor

    ordered = sorted(
        results.values(), key=lambda r: (r.key not in compared, r.key != "control", r.key)
    )
    control = ordered[0] if ordered and ordered[0].key in compared else None
    for result in ordered:
        result.click_rate = wilson(result.clicks, result.impressions)
        result.conversion_rate = wilson(result.conversions, result.impressions)
        gift = result.revenue_minor / result.conversions if result.conversions else 0.0
        rate = result.conversion_rate
        result.rpm = Interval(
            rate.value * gift * 1000, rate.low * gift * 1000, rate.high * gift * 1000
        )
        if control is not None and result is not control and result.key in compared:
            result.beats_control = probability_beats(
                control=(control.conversions, control.impressions),
                variant=(result.conversions, result.impressions),
            )
        if allocation is not None:
            result.allocation = allocation.get(result.key)
    return CampaignResults(
        currency=currency,
        variants=ordered,
        series={
            key: sorted(points.values(), key=lambda p: p.day) for key, points in series.items()
        },
        other_currency_revenue=dict(other_currency),
    )
