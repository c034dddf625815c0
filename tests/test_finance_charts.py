import re

from finance.charts import bar_chart


def axis_labels(svg: str) -> list[str]:
    return re.findall(r'text-anchor="end">([^<]+)</text>', svg)


def test_count_axis_shows_distinct_whole_numbers():
    svg = bar_chart(title="Supporters", labels=["Nov 26"], series=[("new", [1])], integer=True)

    assert axis_labels(svg) == ["0", "1", "2", "3", "4"]


def test_money_axis_shows_fractions_when_the_step_needs_them():
    svg = bar_chart(title="Gross", labels=["Nov 26"], series=[("gross", [9.6])], unit="EUR")

    assert axis_labels(svg) == ["0.00", "2.50", "5.00", "7.50", "10.00"]


def test_axis_covers_large_values_with_round_steps():
    svg = bar_chart(title="Gross", labels=["a", "b"], series=[("gross", [12_345.0, 80.0])])

    assert axis_labels(svg) == ["0", "5,000", "10,000", "15,000", "20,000"]


def test_texts_are_escaped():
    svg = bar_chart(title="<b>", labels=["<i>"], series=[("<s>", [1])])

    assert "<b>" not in svg and "&lt;b&gt;" in svg
    assert "<i>" not in svg
