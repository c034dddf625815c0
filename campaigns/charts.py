"""A small inline SVG line chart for the admin: no scripts, no third-party assets."""

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

COLOURS = ("#1b5e20", "#b3261e", "#0d47a1", "#6a1b9a", "#e65100", "#37474f")


def line_chart(
    *,
    title: str,
    series: Mapping[str, Sequence[tuple[date, float]]],
    width: int = 720,
    height: int = 220,
) -> SafeString:
    """Return an accessible SVG chart with one line per series over consecutive days."""
    days = sorted({day for points in series.values() for day, _ in points})
    if not days:
        return format_html('<p class="help">{}: no data yet.</p>', title)
    first, last = days[0], days[-1]
    span = max((last - first).days, 1)
    top = max((value for points in series.values() for _, value in points), default=0) or 1
    left, right, upper, lower = 48, 12, 24, 28
    plot_w, plot_h = width - left - right, height - upper - lower

    def x(day: date) -> float:
        return left + plot_w * (day - first).days / span

    def y(value: float) -> float:
        return upper + plot_h * (1 - value / top)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="14" font-size="13" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{upper + plot_h}" x2="{left + plot_w}" y2="{upper + plot_h}" '
        'stroke="#888"/>',
        f'<line x1="{left}" y1="{upper}" x2="{left}" y2="{upper + plot_h}" stroke="#888"/>',
        f'<text x="{left - 6}" y="{upper + 4}" font-size="11" text-anchor="end">{top:,.0f}</text>',
        f'<text x="{left - 6}" y="{upper + plot_h}" font-size="11" text-anchor="end">0</text>',
        f'<text x="{left}" y="{height - 8}" font-size="11">{first.isoformat()}</text>',
        f'<text x="{left + plot_w}" y="{height - 8}" font-size="11" text-anchor="end">'
        f"{last.isoformat()}</text>",
    ]
    for index, (name, points) in enumerate(sorted(series.items())):
        colour = COLOURS[index % len(COLOURS)]
        # Days without a row are zero, so a quiet day shows as a dip, not a straight line.
        values = dict(points)
        filled = [
            (first + timedelta(days=i), values.get(first + timedelta(days=i), 0))
            for i in range((last - first).days + 1)
        ]
        path = " ".join(f"{x(day):.1f},{y(value):.1f}" for day, value in filled)
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        # A dot per day, so that a single day (or a lone spike) is visible and can be read.
        parts.extend(
            f'<circle cx="{x(day):.1f}" cy="{y(value):.1f}" r="3" fill="{colour}">'
            f"<title>{escape(name)} {day.isoformat()}: {value:,.0f}</title></circle>"
            for day, value in filled
        )
        parts.append(
            f'<text x="{left + plot_w - 4}" y="{upper + 14 * (index + 1)}" font-size="12" '
            f'text-anchor="end" fill="{colour}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every value above is a number or escaped.
