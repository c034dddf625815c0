"""Campaign statistics from counted beacons and conversion rows built here."""

from dataclasses import dataclass
from datetime import date

import pytest

from campaigns import stats


@dataclass(frozen=True)
class Row:
    """The shape of payments.selectors.CampaignConversions."""

    campaign_id: int
    variant_key: str
    day: date
    conversions: int
    revenue_minor: int
    currency: str


D1, D2 = date(2026, 11, 1), date(2026, 11, 2)


def counts(*rows):
    return [stats.CountRow(variant_key=v, kind=k, day=d, count=n) for v, k, d, n in rows]


def test_wilson_interval_matches_known_values():
    interval = stats.wilson(10, 100)

    assert interval.value == pytest.approx(0.1)
    # Reference: Wilson 95% interval for 10/100 is 0.0552 to 0.1744.
    assert interval.low == pytest.approx(0.0552, abs=5e-4)
    assert interval.high == pytest.approx(0.1744, abs=5e-4)
    assert stats.wilson(0, 0) == stats.Interval(0, 0, 0)
    assert stats.wilson(0, 50).low == pytest.approx(0.0, abs=1e-12)


def test_results_per_variant():
    results = stats.campaign_results(
        currency="EUR",
        variant_keys=["b", "control"],
        counts=counts(
            ("control", "view", D1, 600),
            ("control", "view", D2, 400),
            ("control", "click", D1, 50),
            ("control", "dismiss", D2, 30),
            ("b", "view", D1, 1000),
            ("b", "click", D1, 80),
        ),
        conversion_rows=[
            Row(1, "control", D1, 10, 10_000, "EUR"),
            Row(1, "b", D1, 20, 30_000, "EUR"),
            Row(1, "b", D2, 1, 500, "GBP"),
        ],
    )

    control, b = results.variants
    assert (control.key, b.key) == ("control", "b")
    assert (control.impressions, control.clicks, control.dismissals) == (1000, 50, 30)
    assert (control.conversions, control.revenue_minor) == (10, 10_000)
    assert control.conversion_rate.value == pytest.approx(0.01)
    # 1% of readers giving 10.00 on average is 10.00 per 1,000 impressions.
    assert control.rpm.value == pytest.approx(10_000)
    assert control.rpm.low < control.rpm.value < control.rpm.high
    assert (b.conversions, b.revenue_minor) == (21, 30_000)
    assert results.other_currency_revenue == {"GBP": 500}
    assert control.beats_control is None
    assert b.beats_control is not None and b.beats_control > 0.95
    assert [p.impressions for p in results.series["control"]] == [600, 400]


def test_probability_of_beating_control():
    even = stats.probability_beats(control=(50, 1000), variant=(50, 1000))
    better = stats.probability_beats(control=(50, 1000), variant=(80, 1000))
    worse = stats.probability_beats(control=(50, 1000), variant=(30, 1000))

    assert 0.45 < even < 0.55
    assert better > 0.99
    assert worse < 0.01
    # Seeded: the same data gives the same answer.
    assert better == stats.probability_beats(control=(50, 1000), variant=(80, 1000))


def test_thompson_allocation_favours_the_better_revenue_per_impression():
    shares = stats.thompson_allocation(
        {"control": (5000, 50, 50_000), "b": (5000, 50, 100_000), "c": (5000, 20, 20_000)}
    )

    assert sum(shares.values()) == pytest.approx(1)
    assert shares["b"] > 0.8
    assert shares["c"] == pytest.approx(stats.ALLOCATION_FLOOR, abs=0.01)


def test_thompson_allocation_without_data_splits_evenly():
    shares = stats.thompson_allocation({"control": (0, 0, 0), "b": (0, 0, 0)})

    assert shares["control"] == pytest.approx(0.5, abs=0.05)


def test_progress_counts_supporters_and_revenue_in_the_campaign_currency():
    progress = stats.campaign_progress(
        [Row(1, "control", D1, 3, 3000, "EUR"), Row(1, "b", D1, 1, 900, "USD")],
        currencies={1: "EUR"},
    )

    assert progress == {1: {"conversions": 4, "revenue": 3000}}


def test_contributions_without_a_variant_are_listed_but_not_compared():
    results = stats.campaign_results(
        currency="EUR",
        variant_keys=["control", "b"],
        counts=counts(("control", "view", D1, 100), ("b", "view", D1, 100)),
        conversion_rows=[
            Row(1, "control", D1, 2, 2000, "EUR"),
            Row(1, "", D1, 5, 5000, "EUR"),  # a reader who came straight to the support page
        ],
    )

    keys = [r.key for r in results.variants]
    assert keys == ["control", "b", ""]
    direct = results.variants[2]
    assert direct.conversions == 5
    assert direct.revenue_minor == 5000
    assert direct.beats_control is None
    assert results.variants[1].beats_control is not None
