"""Server-rendered SVG charts: the dashboard, objective pages and review PDFs.

No JavaScript: the SVG is built here with format_html (labels are user data and
are escaped), so it renders the same in the browser, on paper and in
WeasyPrint. Output is deterministic for the same input (stable ids, fixed
number formatting), so pages can be compared and cached.

Every chart carries role="img", a <title> and a <desc>, and a table
alternative (`headers` + `rows`) that templates/partials/chart.html renders
next to it. Series differ by dash pattern and marker shape as well as colour,
so a black-and-white print stays readable.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

Number = float | int | Decimal

# Dark to light, so that neighbouring series also differ in grey when printed.
PALETTE = ("#0a3a6b", "#c05a00", "#2e7d32", "#6a1b9a", "#5d4037", "#00838f")
BAR_FILLS = ("#0a3a6b", "#8fb3d9", "#f2c99b", "#2e7d32", "#c8e6c9", "#6a1b9a")
DASHES = {"solid": "", "dashed": "6 4", "dotted": "2 3"}
MARKERS = ("circle", "square", "triangle", "none")
ALERT = "#b00020"

WIDTH = 640
HEIGHT = 260
MARGIN_LEFT = 52
MARGIN_RIGHT = 20
MARGIN_TOP = 34
MARGIN_BOTTOM = 44


@dataclass(frozen=True)
class Series:
    name: str
    values: list[Number | None]  # one per x label; None = gap (no data)
    style: str = "solid"  # "solid" | "dashed" | "dotted"
    marker: str = "circle"  # "circle" | "square" | "triangle" | "none"

    def __post_init__(self) -> None:
        if self.style not in DASHES:
            raise ValueError(f"unknown series style {self.style!r}")
        if self.marker not in MARKERS:
            raise ValueError(f"unknown marker {self.marker!r}")


@dataclass(frozen=True)
class Chart:
    svg: SafeString
    caption: str
    headers: list[str]
    rows: list[list[str]]


# Formatting -------------------------------------------------------------------


def _c(value: float) -> str:
    """An SVG coordinate: one decimal, never "-0.0", so output is byte-stable."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def format_value(value: Number | None) -> str:
    """A figure for the table alternative and the description; "no data" for None."""
    if value is None:
        return _("no data")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _tick_label(value: float, step: float) -> str:
    decimals = 0 if float(step).is_integer() else max(0, -math.floor(math.log10(step)) + 1)
    text = f"{value:.{decimals}f}"
    if decimals:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _floats(values: Iterable[Number | None]) -> list[float]:
    return [float(v) for v in values if v is not None]


def _nice_scale(low: float, high: float, ticks: int = 5) -> tuple[float, float, float]:
    """Round axis bounds and a 1/2/2.5/5 times 10^n step that covers [low, high]."""
    if high < low:
        low, high = high, low
    if math.isclose(low, high):
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    raw = (high - low) / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw - 1e-12)
    return math.floor(low / step + 1e-9) * step, math.ceil(high / step - 1e-9) * step, step


def _chart_id(kind: str, *parts: object) -> str:
    digest = hashlib.sha256(repr((kind, *parts)).encode()).hexdigest()[:10]
    return f"chart-{kind}-{digest}"


def _join(parts: Iterable[SafeString | str]) -> SafeString:
    return format_html_join("", "{}", ((part,) for part in parts))


# Building blocks ----------------------------------------------------------------


class _Frame:
    """The plot area of a chart with a category x axis and a linear y axis."""

    def __init__(self, *, n: int, y_low: float, y_high: float, width: int = WIDTH, height: int = HEIGHT):
        self.n = max(n, 1)
        self.left = MARGIN_LEFT
        self.right = width - MARGIN_RIGHT
        self.top = MARGIN_TOP
        self.bottom = height - MARGIN_BOTTOM
        self.y_low, self.y_high = y_low, y_high

    @property
    def band(self) -> float:
        return (self.right - self.left) / self.n

    def x(self, index: int) -> float:
        return self.left + (index + 0.5) * self.band

    def y(self, value: float, low: float | None = None, high: float | None = None) -> float:
        low = self.y_low if low is None else low
        high = self.y_high if high is None else high
        span = (high - low) or 1.0
        return self.bottom - (value - low) / span * (self.bottom - self.top)


def _y_axis(frame: _Frame, step: float, *, y_label: str) -> SafeString:
    parts = []
    count = math.floor((frame.y_high - frame.y_low) / step + 1e-9)
    for i in range(count + 1):
        value = frame.y_low + i * step
        y = _c(frame.y(value))
        parts.append(
            format_html(
                '<line class="chart-grid" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#d0d5da" stroke-width="1"/>'
                '<text class="chart-tick" x="{}" y="{}" text-anchor="end" dominant-baseline="middle"'
                ' font-size="11" fill="#333">{}</text>',
                _c(frame.left),
                y,
                _c(frame.right),
                y,
                _c(frame.left - 6),
                y,
                _tick_label(value, step),
            )
        )
    if y_label:
        parts.append(
            format_html(
                '<text class="chart-axis-label" x="12" y="{}" text-anchor="middle" font-size="11" fill="#333"'
                ' transform="rotate(-90 12 {})">{}</text>',
                _c((frame.top + frame.bottom) / 2),
                _c((frame.top + frame.bottom) / 2),
                y_label,
            )
        )
    parts.append(
        format_html(
            '<line class="chart-axis" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#333" stroke-width="1"/>',
            _c(frame.left),
            _c(frame.bottom),
            _c(frame.right),
            _c(frame.bottom),
        )
    )
    return _join(parts)


def _shorten(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


# Approximate advance of one character at font-size 11 (system sans-serif), for label fitting.
CHAR_WIDTH = 6.2


def _x_axis(frame: _Frame, labels: Sequence[str], *, thin_out: bool = True) -> SafeString:
    # Keep labels legible on long ranges: label every k-th point counting back from the latest,
    # with k the smallest step (up to 4) at which the longest label fits; shorten what still does not.
    longest = max((len(str(label)) for label in labels), default=0)
    every = max(1, math.ceil(len(labels) / 12)) if thin_out else 1
    while thin_out and every < max(len(labels), 1) and longest * CHAR_WIDTH + 6 > frame.band * every and every < 4:
        every += 1
    limit = max(4, int((frame.band * every - 6) / CHAR_WIDTH))
    parts = []
    for index, label in enumerate(labels):
        if (len(labels) - 1 - index) % every:
            continue
        parts.append(
            format_html(
                '<text class="chart-tick" x="{}" y="{}" text-anchor="middle" font-size="11" fill="#333">{}</text>',
                _c(frame.x(index)),
                _c(frame.bottom + 16),
                _shorten(str(label), limit),
            )
        )
    return _join(parts)


def _marker(shape: str, x: float, y: float, colour: str, *, size: float = 3.5, extra_class: str = "") -> SafeString:
    css = f"chart-marker {extra_class}".strip()
    if shape == "circle":
        return format_html('<circle class="{}" cx="{}" cy="{}" r="{}" fill="{}"/>', css, _c(x), _c(y), _c(size), colour)
    if shape == "hollow":
        return format_html(
            '<circle class="{}" cx="{}" cy="{}" r="{}" fill="#fff" stroke="{}" stroke-width="2"/>',
            css,
            _c(x),
            _c(y),
            _c(size + 1),
            colour,
        )
    if shape == "square":
        return format_html(
            '<rect class="{}" x="{}" y="{}" width="{}" height="{}" fill="{}"/>',
            css,
            _c(x - size),
            _c(y - size),
            _c(2 * size),
            _c(2 * size),
            colour,
        )
    if shape == "triangle":
        points = f"{_c(x)},{_c(y - size * 1.2)} {_c(x - size * 1.1)},{_c(y + size)} {_c(x + size * 1.1)},{_c(y + size)}"
        return format_html('<polygon class="{}" points="{}" fill="{}"/>', css, points, colour)
    return SafeString("")


def _polyline(points: Sequence[tuple[float, float] | None], colour: str, dash: str, *, width: float = 2) -> SafeString:
    """Line segments through consecutive points; a None breaks the line (a gap, not a zero)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for point in points:
        if point is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(point)
    parts = []
    for run in runs:
        if len(run) < 2:
            continue
        d = " ".join(f"{'M' if i == 0 else 'L'}{_c(x)} {_c(y)}" for i, (x, y) in enumerate(run))
        parts.append(
            format_html(
                '<path class="chart-line" d="{}" fill="none" stroke="{}" stroke-width="{}"{}/>',
                d,
                colour,
                width,
                format_html(' stroke-dasharray="{}"', dash) if dash else "",
            )
        )
    return _join(parts)


def _legend(entries: Sequence[tuple[str, str, str, str]], *, width: int = WIDTH) -> SafeString:
    """entries: (name, colour, dash, marker). Laid out left to right above the plot."""
    parts = []
    x = float(MARGIN_LEFT)
    for name, colour, dash, marker in entries:
        parts.append(
            format_html(
                '<g class="chart-legend-item"><line x1="{}" y1="14" x2="{}" y2="14" stroke="{}" stroke-width="2"{}/>'
                '{}<text x="{}" y="14" dominant-baseline="middle" font-size="11" fill="#222">{}</text></g>',
                _c(x),
                _c(x + 22),
                colour,
                format_html(' stroke-dasharray="{}"', dash) if dash else "",
                _marker(marker, x + 11, 14, colour),
                _c(x + 28),
                _shorten(name, 40),
            )
        )
        x += 40 + min(len(name), 40) * 6.2
        if x > width - 60:
            break
    return _join(parts)


def _svg(
    chart_id: str,
    title: str,
    desc: str,
    body: SafeString,
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
    css_class: str = "chart-svg",
) -> SafeString:
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="{}" id="{}" role="img" aria-labelledby="{}-title {}-desc"'
        ' viewBox="0 0 {} {}" width="{}" height="{}" preserveAspectRatio="xMidYMid meet"'
        ' font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>{}</svg>',
        css_class,
        chart_id,
        chart_id,
        chart_id,
        width,
        height,
        width,
        height,
        chart_id,
        title,
        chart_id,
        desc,
        body,
    )


def _range_text(x_labels: Sequence[str]) -> str:
    if not x_labels:
        return _("No periods.")
    if len(x_labels) == 1:
        return _("One period: %(label)s.") % {"label": x_labels[0]}
    return _("%(count)d periods from %(first)s to %(last)s.") % {
        "count": len(x_labels),
        "first": x_labels[0],
        "last": x_labels[-1],
    }


def _series_text(name: str, values: Sequence[Number | None]) -> str:
    present = [v for v in values if v is not None]
    if not present:
        return _("%(name)s: no data.") % {"name": name}
    return _("%(name)s: latest %(latest)s, lowest %(low)s, highest %(high)s.") % {
        "name": name,
        "latest": format_value(present[-1]),
        "low": format_value(min(present)),
        "high": format_value(max(present)),
    }


def _no_data(frame: _Frame) -> SafeString:
    return format_html(
        '<text class="chart-empty" x="{}" y="{}" text-anchor="middle" font-size="13" fill="#555">{}</text>',
        _c((frame.left + frame.right) / 2),
        _c((frame.top + frame.bottom) / 2),
        _("no data"),
    )


# Charts -------------------------------------------------------------------------


def line_chart(
    *,
    caption: str,
    x_labels: list[str],
    series: list[Series],
    y_label: str = "",
    target: float | None = None,
    y_min: float | None = None,
    y_max: float | None = None,
) -> Chart:
    """One or more series over categories (months). None values leave a gap."""
    x_labels = [str(label) for label in x_labels]
    for s in series:
        if len(s.values) != len(x_labels):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(x_labels)} labels")
    data = [v for s in series for v in _floats(s.values)]
    bounds = [*data, *([float(target)] if target is not None else [])]
    low = float(y_min) if y_min is not None else (min(bounds) if bounds else 0.0)
    high = float(y_max) if y_max is not None else (max(bounds) if bounds else 1.0)
    low, high, step = _nice_scale(low, high)
    if y_min is not None:
        low = float(y_min)
    if y_max is not None:
        high = float(y_max)
    frame = _Frame(n=len(x_labels), y_low=low, y_high=high)

    body = [_y_axis(frame, step, y_label=y_label), _x_axis(frame, x_labels)]
    if target is not None:
        ty = frame.y(float(target))
        body.append(
            format_html(
                '<g class="chart-target"><line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#222" stroke-width="1.5"'
                ' stroke-dasharray="10 3 2 3"/><text x="{}" y="{}" text-anchor="end" font-size="11" fill="#222">'
                "{}</text></g>",
                _c(frame.left),
                _c(ty),
                _c(frame.right),
                _c(ty),
                _c(frame.right),
                _c(ty - 4),
                _("Target %(value)s") % {"value": format_value(target)},
            )
        )
    legend = []
    for index, s in enumerate(series):
        colour = PALETTE[index % len(PALETTE)]
        dash = DASHES[s.style]
        points = [None if v is None else (frame.x(i), frame.y(float(v))) for i, v in enumerate(s.values)]
        markers = [_marker(s.marker, x, y, colour) for x, y in (p for p in points if p is not None)]
        # A lone point between gaps has no line, so it always gets a marker.
        if s.marker == "none":
            markers = [
                _marker("circle", p[0], p[1], colour)
                for i, p in enumerate(points)
                if p is not None
                and (i == 0 or points[i - 1] is None)
                and (i == len(points) - 1 or points[i + 1] is None)
            ]
        body.append(
            format_html(
                '<g class="chart-series chart-series-{}">{}{}</g>',
                index,
                _polyline(points, colour, dash),
                _join(markers),
            )
        )
        legend.append((s.name, colour, dash, s.marker))
    if not data:
        body.append(_no_data(frame))
    body.append(_legend(legend))

    desc = " ".join([_range_text(x_labels), *(_series_text(s.name, s.values) for s in series)])
    if target is not None:
        desc += " " + _("Target: %(value)s.") % {"value": format_value(target)}
    chart_id = _chart_id("line", caption, x_labels, [(s.name, s.values, s.style, s.marker) for s in series], target)
    headers = [_("Period"), *(s.name for s in series)]
    if target is not None:
        headers.append(_("Target"))
    rows = [
        [
            label,
            *(format_value(s.values[i]) for s in series),
            *([format_value(target)] if target is not None else []),
        ]
        for i, label in enumerate(x_labels)
    ]
    return Chart(svg=_svg(chart_id, caption, desc, _join(body)), caption=caption, headers=headers, rows=rows)


def bar_chart(*, caption: str, x_labels: list[str], series: list[Series]) -> Chart:
    """Grouped bars from zero, one group per x label. None draws no bar (and is not zero)."""
    x_labels = [str(label) for label in x_labels]
    for s in series:
        if len(s.values) != len(x_labels):
            raise ValueError(f"series {s.name!r} has {len(s.values)} values for {len(x_labels)} labels")
    data = [v for s in series for v in _floats(s.values)]
    low, high, step = _nice_scale(min([0.0, *data]), max([0.0, *data]) or 1.0)
    frame = _Frame(n=len(x_labels), y_low=low, y_high=high)
    body = [_y_axis(frame, step, y_label="")]
    groups = max(len(series), 1)
    bar_width = frame.band * 0.8 / groups
    zero = frame.y(0.0)
    legend = []
    for index, s in enumerate(series):
        fill = BAR_FILLS[index % len(BAR_FILLS)]
        dash = DASHES[s.style]
        bars = []
        for i, value in enumerate(s.values):
            if value is None:
                continue
            x = frame.x(i) - frame.band * 0.4 + index * bar_width
            y = frame.y(float(value))
            bars.append(
                format_html(
                    '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="#222"'
                    ' stroke-width="0.8"{}><title>{}</title></rect>',
                    _c(x),
                    _c(min(y, zero)),
                    _c(max(bar_width - 1, 1)),
                    _c(abs(zero - y)),
                    fill,
                    format_html(' stroke-dasharray="{}"', dash) if dash else "",
                    f"{s.name}, {x_labels[i]}: {format_value(value)}",
                )
            )
        body.append(format_html('<g class="chart-series chart-series-{}">{}</g>', index, _join(bars)))
        legend.append((s.name, fill, dash, "square"))
    body.append(_x_axis(frame, x_labels))
    if not data:
        body.append(_no_data(frame))
    body.append(_legend(legend))
    desc = " ".join([_range_text(x_labels), *(_series_text(s.name, s.values) for s in series)])
    chart_id = _chart_id("bar", caption, x_labels, [(s.name, s.values, s.style) for s in series])
    headers = [_("Period"), *(s.name for s in series)]
    rows = [[label, *(format_value(s.values[i]) for s in series)] for i, label in enumerate(x_labels)]
    return Chart(svg=_svg(chart_id, caption, desc, _join(body)), caption=caption, headers=headers, rows=rows)


def pareto_chart(*, caption: str, labels: list[str], counts: list[int], cumulative_pct: list[float]) -> Chart:
    """Bars of counts (left axis, descending) with the cumulative % line (right axis 0-100)."""
    labels = [str(label) for label in labels]
    if not (len(labels) == len(counts) == len(cumulative_pct)):
        raise ValueError("labels, counts and cumulative_pct must have the same length")
    low, high, step = _nice_scale(0.0, float(max(counts, default=0)) or 1.0)
    frame = _Frame(n=len(labels), y_low=low, y_high=high)
    frame.right = WIDTH - MARGIN_RIGHT - 26
    body = [_y_axis(frame, step, y_label=_("Count"))]
    bar_width = frame.band * 0.7
    bars = []
    for i, count in enumerate(counts):
        y = frame.y(float(count))
        bars.append(
            format_html(
                '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="#222"'
                ' stroke-width="0.8"><title>{}</title></rect>',
                _c(frame.x(i) - bar_width / 2),
                _c(y),
                _c(bar_width),
                _c(frame.bottom - y),
                BAR_FILLS[1],
                f"{labels[i]}: {count}",
            )
        )
    body.append(format_html('<g class="chart-series chart-series-0">{}</g>', _join(bars)))
    # Right axis: cumulative percentage, with the 80 % line the Pareto principle reads against.
    right_ticks = []
    for pct in (0, 20, 40, 60, 80, 100):
        right_ticks.append(
            format_html(
                '<text class="chart-tick" x="{}" y="{}" dominant-baseline="middle" font-size="11"'
                ' fill="#333">{}%</text>',
                _c(frame.right + 6),
                _c(frame.y(pct, 0, 100)),
                pct,
            )
        )
    y80 = _c(frame.y(80, 0, 100))
    right_ticks.append(
        format_html(
            '<line class="chart-reference" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#555" stroke-width="1"'
            ' stroke-dasharray="2 3"/>',
            _c(frame.left),
            y80,
            _c(frame.right),
            y80,
        )
    )
    body.append(_join(right_ticks))
    colour = PALETTE[0]
    points = [(frame.x(i), frame.y(float(p), 0, 100)) for i, p in enumerate(cumulative_pct)]
    body.append(
        format_html(
            '<g class="chart-series chart-series-1">{}{}</g>',
            _polyline(points, colour, ""),
            _join(_marker("circle", x, y, colour) for x, y in points),
        )
    )
    # Every category is named (shortened if need be): unlike months, they cannot be inferred.
    body.append(_x_axis(frame, labels, thin_out=False))
    if not counts:
        body.append(_no_data(frame))
    body.append(_legend([(_("Count"), BAR_FILLS[1], "", "square"), (_("Cumulative %"), colour, "", "circle")]))
    if labels:
        desc = _("%(count)d categories; the largest is %(label)s with %(n)d.") % {
            "count": len(labels),
            "label": labels[0],
            "n": counts[0],
        }
        within = sum(1 for p in cumulative_pct if float(p) <= 80) or 1
        desc += " " + _("%(k)d of %(count)d categories account for %(pct)s%% of the total.") % {
            "k": within,
            "count": len(labels),
            "pct": format_value(cumulative_pct[within - 1]),
        }
    else:
        desc = _("No data.")
    chart_id = _chart_id("pareto", caption, labels, list(counts), [str(p) for p in cumulative_pct])
    headers = [_("Category"), _("Count"), _("Cumulative %")]
    rows = [[label, str(counts[i]), format_value(cumulative_pct[i])] for i, label in enumerate(labels)]
    return Chart(svg=_svg(chart_id, caption, desc, _join(body)), caption=caption, headers=headers, rows=rows)


def control_chart(
    *,
    caption: str,
    x_labels: list[str],
    values: list[Number | None],
    centre: Number | None,
    ucl: list[Number | None],
    lcl: list[Number | None],
    out_of_control: list[bool],
    y_label: str = "",
    partial: list[bool] | None = None,
) -> Chart:
    """A Shewhart chart (p or u): points, centre line, per-point 3-sigma limits as steps.

    Points outside the limits are drawn as large marked diamonds, not only in a
    different colour, and are listed in the description and the table. A `partial` point
    (the running month, outside the limits' computation) is a hollow circle, named in the
    legend, the description and the table, so it is not read as a finished month.
    """
    x_labels = [str(label) for label in x_labels]
    partial = list(partial) if partial is not None else [False] * len(x_labels)
    if not (len(x_labels) == len(values) == len(ucl) == len(lcl) == len(out_of_control) == len(partial)):
        raise ValueError("x_labels, values, ucl, lcl, out_of_control and partial must have the same length")
    data = _floats([*values, *ucl, *lcl, centre])
    low, high, step = _nice_scale(min([0.0, *data]), max(data) if data else 1.0)
    frame = _Frame(n=len(x_labels), y_low=low, y_high=high)
    body = [_y_axis(frame, step, y_label=y_label), _x_axis(frame, x_labels)]

    def steps(limits: Sequence[Number | None]) -> list[tuple[float, float] | None]:
        # Limits differ by month (exposure varies), so each spans its own band.
        points: list[tuple[float, float] | None] = []
        for i, limit in enumerate(limits):
            if limit is None:
                points.append(None)
                continue
            y = frame.y(float(limit))
            points.extend([(frame.x(i) - frame.band / 2, y), (frame.x(i) + frame.band / 2, y), None])
        return points

    body.append(
        format_html(
            '<g class="chart-limits">{}{}</g>',
            _polyline(steps(ucl), "#555", "6 4", width=1.5),
            _polyline(steps(lcl), "#555", "6 4", width=1.5),
        )
    )
    if centre is not None:
        cy = _c(frame.y(float(centre)))
        body.append(
            format_html(
                '<line class="chart-centre" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#222" stroke-width="1.2"/>',
                _c(frame.left),
                cy,
                _c(frame.right),
                cy,
            )
        )
    colour = PALETTE[0]
    points = [None if v is None else (frame.x(i), frame.y(float(v))) for i, v in enumerate(values)]
    markers = []
    for i, point in enumerate(points):
        if point is None:
            continue
        if out_of_control[i]:
            x, y = point
            markers.append(
                format_html(
                    '<polygon class="chart-marker chart-out-of-control" points="{}" fill="{}" stroke="#000"'
                    ' stroke-width="1"><title>{}</title></polygon>',
                    f"{_c(x)},{_c(y - 7)} {_c(x + 7)},{_c(y)} {_c(x)},{_c(y + 7)} {_c(x - 7)},{_c(y)}",
                    ALERT,
                    _("%(label)s: %(value)s, outside the control limits")
                    % {
                        "label": x_labels[i],
                        "value": format_value(values[i]),
                    },
                )
            )
        elif partial[i]:
            markers.append(
                format_html(
                    '<circle class="chart-marker chart-partial" cx="{}" cy="{}" r="5" fill="#fff" stroke="{}"'
                    ' stroke-width="2"><title>{}</title></circle>',
                    _c(point[0]),
                    _c(point[1]),
                    colour,
                    _("%(label)s: %(value)s, running month (partial)")
                    % {"label": x_labels[i], "value": format_value(values[i])},
                )
            )
        else:
            markers.append(_marker("circle", point[0], point[1], colour))
    body.append(
        format_html('<g class="chart-series chart-series-0">{}{}</g>', _polyline(points, colour, ""), _join(markers))
    )
    if not _floats(values):
        body.append(_no_data(frame))
    body.append(
        _legend(
            [
                (y_label or _("Rate"), colour, "", "circle"),
                (_("Centre line"), "#222", "", "none"),
                (_("3-sigma limits"), "#555", "6 4", "none"),
                *([(_("Running month (partial)"), colour, "", "hollow")] if any(partial) else []),
            ]
        )
    )
    flagged = [x_labels[i] for i, flag in enumerate(out_of_control) if flag]
    running = [x_labels[i] for i, flag in enumerate(partial) if flag]
    desc = " ".join(
        [
            _range_text(x_labels),
            _series_text(y_label or _("Rate"), values),
            _("Centre line %(value)s.") % {"value": format_value(centre)},
            _("Outside the control limits: %(labels)s.") % {"labels": ", ".join(flagged)}
            if flagged
            else _("All points are within the control limits."),
            *(
                [
                    _("%(labels)s (running month) is partial and not in the centre line or limits.")
                    % {"labels": ", ".join(running)}
                ]
                if running
                else []
            ),
        ]
    )
    chart_id = _chart_id(
        "control",
        caption,
        x_labels,
        [str(v) for v in values],
        str(centre),
        [str(v) for v in ucl],
        [str(v) for v in lcl],
        list(out_of_control),
        *([list(partial)] if any(partial) else []),
    )
    headers = [_("Period"), y_label or _("Rate"), _("Centre line"), _("Upper limit"), _("Lower limit"), _("Signal")]
    rows = [
        [
            label,
            format_value(values[i]),
            format_value(centre),
            format_value(ucl[i]),
            format_value(lcl[i]),
            _("outside the limits") if out_of_control[i] else _("partial month") if partial[i] else "",
        ]
        for i, label in enumerate(x_labels)
    ]
    return Chart(svg=_svg(chart_id, caption, desc, _join(body)), caption=caption, headers=headers, rows=rows)


SPARK_WIDTH = 120
SPARK_HEIGHT = 28


def sparkline(values: list[Number | None], *, label: str) -> Chart:
    """A tiny trend line without axes, for a table cell; the last point is marked."""
    present = _floats(values)
    low = min(present) if present else 0.0
    high = max(present) if present else 1.0
    if math.isclose(low, high):
        low, high = low - 1, high + 1
    n = max(len(values), 1)

    def x(i: int) -> float:
        return 3 + (SPARK_WIDTH - 6) * (i / (n - 1) if n > 1 else 0.5)

    def y(v: float) -> float:
        return SPARK_HEIGHT - 3 - (v - low) / (high - low) * (SPARK_HEIGHT - 6)

    points = [None if v is None else (x(i), y(float(v))) for i, v in enumerate(values)]
    body = [_polyline(points, PALETTE[0], "", width=1.5)]
    last = next((p for p in reversed(points) if p is not None), None)
    if last is not None:
        body.append(_marker("circle", last[0], last[1], PALETTE[0], size=2.5))
    # Lone points between gaps would be invisible without a dot.
    for i, point in enumerate(points):
        if (
            point is not None
            and point is not last
            and (i == 0 or points[i - 1] is None)
            and (i == len(points) - 1 or points[i + 1] is None)
        ):
            body.append(_marker("circle", point[0], point[1], PALETTE[0], size=1.8))
    desc = _series_text(label, values)
    chart_id = _chart_id("spark", label, [str(v) for v in values])
    svg = _svg(
        chart_id, label, desc, _join(body), width=SPARK_WIDTH, height=SPARK_HEIGHT, css_class="chart-svg chart-spark"
    )
    rows = [[str(i + 1), format_value(v)] for i, v in enumerate(values)]
    return Chart(svg=svg, caption=label, headers=[_("Point"), label], rows=rows)
