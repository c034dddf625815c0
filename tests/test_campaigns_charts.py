import re
from datetime import date

from campaigns.charts import line_chart


def test_a_single_day_is_drawn_as_a_point_not_a_slope():
    svg = line_chart(title="Impressions", series={"b": [(date(2026, 11, 25), 7.0)]})

    assert len(re.findall(r"<circle ", svg)) == 1
    assert "b 2026-11-25: 7" in svg
    assert 'points="48.0,24.0"' in svg  # one point at the top of the scale, nothing after it


def test_quiet_days_between_points_are_drawn_as_zero():
    svg = line_chart(
        title="Impressions",
        series={"control": [(date(2026, 11, 1), 4.0), (date(2026, 11, 3), 2.0)]},
    )

    assert "control 2026-11-02: 0" in svg
    assert len(re.findall(r"<circle ", svg)) == 3


def test_no_data_says_so():
    assert "no data yet" in line_chart(title="Impressions", series={})
