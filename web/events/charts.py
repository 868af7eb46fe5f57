"""Small charts for the reports, drawn on the server as inline SVG: no JavaScript, no library, no CDN.

Colours come from classes in site.css (the CSP forbids inline style attributes). Each chart is an
<svg role="img"> with a <title> and a <desc> that say what it shows in words; the page also has
every number in a table, so nobody depends on the picture.
"""
from __future__ import annotations

from markupsafe import Markup, escape

WIDTH = 640
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 44, 12, 28, 26


def _svg(chart_id: str, height: int, title: str, desc: str, body: list[str], css: str) -> Markup:
    head = (f'<svg class="chart {css}" viewBox="0 0 {WIDTH} {height}" role="img" '
            f'aria-labelledby="{chart_id}-t {chart_id}-d" focusable="false">'
            f'<title id="{chart_id}-t">{escape(title)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>')
    return Markup(head + "".join(body) + "</svg>")


def _nice_max(value: float) -> int:
    """A round axis maximum at or above `value` (1, 2, 5 × 10^n)."""
    value = max(1, value)
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def _text(x: float, y: float, text: str, css: str = "chart-label", anchor: str = "middle") -> str:
    return f'<text class="{css}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'


def searches_per_day(chart_id: str, days: list[tuple[str, int, int]], labels: dict[str, str]) -> Markup:
    """Stacked bars of searches per day, residents below and handlers on top."""
    height = 240
    plot_h = height - PAD_TOP - PAD_BOTTOM
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    top = _nice_max(max((r + h for _, r, h in days), default=0))
    slot = plot_w / max(1, len(days))
    bar = max(2.0, slot * 0.7)
    body = _axis(top, plot_h, plot_w, "{:d}")
    for i, (day, resident, handler) in enumerate(days):
        x = PAD_LEFT + i * slot + (slot - bar) / 2
        base = PAD_TOP + plot_h
        for count, css in ((resident, "chart-resident"), (handler, "chart-handler")):
            if count:
                h = plot_h * count / top
                base -= h
                body.append(f'<rect class="{css}" x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}"/>')
        day_number = int(day[-2:])
        if day_number == 1 or day_number % 5 == 0:
            body.append(_text(x + bar / 2, height - 8, str(day_number)))
    body += _legend([(labels["resident"], "chart-resident"), (labels["handler"], "chart-handler")])
    total = sum(r + h for _, r, h in days)
    busiest = max(days, key=lambda d: d[1] + d[2], default=None)
    desc = labels["desc"].format(total=total, days=len(days),
                                 busiest=busiest[0] if busiest and total else "-",
                                 most=(busiest[1] + busiest[2]) if busiest else 0)
    return _svg(chart_id, height, labels["title"], desc, body, "chart-days")


def trend_line(chart_id: str, points: list[tuple[str, float | None]], labels: dict[str, str]) -> Markup:
    """A line of rates (0–1) per month; months without data leave a gap in the line."""
    height = 220
    plot_h = height - PAD_TOP - PAD_BOTTOM
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    body = _axis(100, plot_h, plot_w, "{:d} %")
    step = plot_w / max(1, len(points))
    segment: list[str] = []
    lines: list[list[str]] = []
    marks: list[str] = []   # drawn after the line, so the points sit on top of it
    for i, (label, value) in enumerate(points):
        x = PAD_LEFT + step * (i + 0.5)
        body.append(_text(x, height - 8, label))
        if value is None:
            if segment:
                lines.append(segment)
            segment = []
            continue
        y = PAD_TOP + plot_h * (1 - value)
        segment.append(f"{x:.1f},{y:.1f}")
        marks.append(f'<circle class="chart-point" cx="{x:.1f}" cy="{y:.1f}" r="4"/>')
        marks.append(_text(x, y - 9, f"{round(value * 100)} %", "chart-value"))
    if segment:
        lines.append(segment)
    body += [f'<polyline class="chart-line" points="{" ".join(s)}"/>' for s in lines if len(s) > 1] + marks
    known = [f"{label}: {round(v * 100)} %" for label, v in points if v is not None]
    desc = labels["desc"].format(values=", ".join(known) or labels["empty"])
    return _svg(chart_id, height, labels["title"], desc, body, "chart-trend")


def yes_no_bars(chart_id: str, rows: list[tuple[str, int, int]], labels: dict[str, str]) -> Markup:
    """One horizontal bar per article: the share of yes (left) and no (right), counts written beside."""
    row_h = 40
    height = PAD_TOP + row_h * max(1, len(rows)) + 8
    plot_w = WIDTH - PAD_RIGHT - 8
    body = _legend([(labels["yes"], "chart-yes"), (labels["no"], "chart-no")])
    for i, (label, yes, no) in enumerate(rows):
        y = PAD_TOP + i * row_h
        total = yes + no
        body.append(_text(8, y + 12, label if len(label) <= 80 else label[:79] + "…", "chart-label", "start"))
        yes_w = plot_w * yes / total if total else 0
        if yes_w:
            body.append(f'<rect class="chart-yes" x="8" y="{y + 17}" width="{yes_w:.1f}" height="14"/>')
        if total - yes:
            body.append(f'<rect class="chart-no" x="{8 + yes_w:.1f}" y="{y + 17}" width="{plot_w - yes_w:.1f}" '
                        f'height="14"/>')
        body.append(_text(WIDTH - PAD_RIGHT, y + 12, labels["counts"].format(yes=yes, no=no), "chart-label", "end"))
    desc = labels["desc"].format(values="; ".join(f"{label}: {yes}/{no}" for label, yes, no in rows) or "-")
    return _svg(chart_id, height, labels["title"], desc, body, "chart-yesno")


def _axis(top: int, plot_h: float, plot_w: float, fmt: str) -> list[str]:
    parts = []
    for fraction in (0, 0.5, 1):
        y = PAD_TOP + plot_h * (1 - fraction)
        parts.append(f'<line class="chart-grid" x1="{PAD_LEFT}" x2="{PAD_LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(_text(PAD_LEFT - 6, y + 4, fmt.format(int(top * fraction)), "chart-label", "end"))
    return parts


def _legend(items: list[tuple[str, str]]) -> list[str]:
    parts, x = [], PAD_LEFT
    for label, css in items:
        parts.append(f'<rect class="{css}" x="{x}" y="6" width="12" height="12"/>')
        parts.append(_text(x + 18, 16, label, "chart-label", "start"))
        x += 30 + 8 * len(label)
    return parts
