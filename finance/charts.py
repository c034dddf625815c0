"""Small inline SVG charts for the finance dashboard: no JavaScript, no third-party assets."""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#3b6ea5", "#8fb8de", "#c0504d", "#9bbb59")
WIDTH, HEIGHT = 720, 240
LEFT, BOTTOM, TOP = 64, 28, 24


TICKS = 4


def _tick_step(value: float, *, integer: bool) -> float:
    """Return a round step (1, 2, 2.5 or 5 times a power of ten); TICKS of them cover `value`."""
    raw = max(value, 0) / TICKS
    if raw <= 0:
        return 1
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if raw <= m * magnitude)
    # Counts of people have no fractional ticks.
    return max(1, math.ceil(step)) if integer else step


def _tick_label(value: float, step: float) -> str:
    decimals = 0 if float(step).is_integer() else 2
    return f"{value:,.{decimals}f}"


def bar_chart(
    *,
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    unit: str = "",
    integer: bool = False,
) -> SafeString:
    """Return an SVG of grouped bars: one group per label, one bar per series.

    Negative values are drawn as zero-height bars; the figures are in the table beside it.
    `integer` says the values are counts, so the axis shows whole numbers only.
    """
    highest = max((max(values, default=0) for _, values in series), default=0)
    step = _tick_step(float(highest), integer=integer)
    top = step * TICKS
    plot_w, plot_h = WIDTH - LEFT - 8, HEIGHT - BOTTOM - TOP
    group_w = plot_w / max(1, len(labels))
    bar_w = max(2.0, (group_w * 0.8) / max(1, len(series)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'class="finance-chart" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{LEFT}" y="14" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    for i in range(TICKS + 1):
        y = TOP + plot_h - plot_h * i / TICKS
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
            f"{_tick_label(step * i, step)}</text>"
        )
    for g, label in enumerate(labels):
        x0 = LEFT + g * group_w + group_w * 0.1
        for s, (name, values) in enumerate(series):
            value = max(0.0, float(values[g]))
            h = plot_h * value / top
            parts.append(
                f'<rect x="{x0 + s * bar_w:.1f}" y="{TOP + plot_h - h:.1f}" '
                f'width="{bar_w - 1:.1f}" height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}">'
                f"<title>{escape(name)} {escape(label)}: {values[g]:,.2f} {escape(unit)}</title>"
                "</rect>"
            )
        parts.append(
            f'<text x="{LEFT + g * group_w + group_w / 2:.1f}" y="{HEIGHT - 10}" '
            f'font-size="10" text-anchor="middle">{escape(label)}</text>'
        )
    legend_x = WIDTH - 8
    for s, (name, _) in reversed(list(enumerate(series))):
        legend_x -= 12 + 7 * len(name)
        parts.append(
            f'<rect x="{legend_x}" y="5" width="9" height="9" fill="{PALETTE[s % len(PALETTE)]}"/>'
            f'<text x="{legend_x + 12}" y="13" font-size="11">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 (every text is escaped above)
