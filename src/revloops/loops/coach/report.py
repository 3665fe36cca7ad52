"""Coach's report: the model of ``revloops report`` and its renderer to one static, offline HTML file.

The renderer is pure: :func:`render_html` turns a :class:`ReportModel` into a string and does no I/O.
The document loads nothing (no scripts, style sheets, fonts or images by URL); every chart is inline
SVG computed here, so the file opens anywhere, offline, and prints. All text is escaped: names come
from CRM records and are never trusted.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Literal

from pydantic import Field, model_validator

from revloops.core.model import Frozen

__all__ = [
    "PALETTE",
    "Chart",
    "ChartKind",
    "Kpi",
    "ReportModel",
    "Section",
    "Series",
    "Table",
    "nice_ticks",
    "render_html",
]

ChartKind = Literal["bar", "hbar", "line", "stacked"]
Cell = str | int | float | None


# ---------------------------------------------------------------------------------------------- model


class Series(Frozen):
    """One named series of ``(category, value)`` points; ``None`` (or a non-finite value) is a gap.

    Categories are unique within a series: series of one chart are aligned by category name.
    """

    name: str
    points: list[tuple[str, float | None]]

    @model_validator(mode="after")
    def _unique_categories(self) -> Series:
        seen: set[str] = set()
        dupes: list[str] = []
        for category, _ in self.points:
            if category in seen and category not in dupes:
                dupes.append(category)
            seen.add(category)
        if dupes:
            raise ValueError(f"series {self.name!r} repeats categories {dupes!r}: make them unique")
        return self


class Chart(Frozen):
    """A chart: ``bar`` (grouped columns), ``hbar`` (horizontal bars), ``line`` or ``stacked`` columns.

    ``unit`` ("%", "h", "$", "deals"...) is shown in axis labels and tooltips.
    """

    id: str
    title: str
    kind: ChartKind
    series: list[Series]
    unit: str = ""
    note: str = ""


class Table(Frozen):
    """A table; every row has one cell per column."""

    id: str
    title: str
    columns: list[str]
    rows: list[list[Cell]]
    note: str = ""

    @model_validator(mode="after")
    def _rectangular(self) -> Table:
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.id!r}: row {i} has {len(row)} cells for {len(self.columns)} columns")
        return self


class Kpi(Frozen):
    """A headline number: its label, its value already formatted, and an optional detail line."""

    label: str
    value: str
    detail: str = ""


class Section(Frozen):
    """A section of the report: a title, a summary, then KPIs, charts and tables in that order."""

    id: str
    title: str
    summary: str = ""
    kpis: list[Kpi] = Field(default_factory=list)
    charts: list[Chart] = Field(default_factory=list)
    tables: list[Table] = Field(default_factory=list)


class ReportModel(Frozen):
    """The whole report. ``notes`` are shown in a banner at the top ("Data is synthetic (seeded)").

    Section ids, chart ids and table ids are each unique across the report (they become anchors).
    """

    title: str
    subtitle: str = ""
    generated_at: datetime
    notes: list[str] = Field(default_factory=list)
    sections: list[Section]

    @model_validator(mode="after")
    def _unique_ids(self) -> ReportModel:
        kinds = {
            "section": [s.id for s in self.sections],
            "chart": [c.id for s in self.sections for c in s.charts],
            "table": [t.id for s in self.sections for t in s.tables],
        }
        for kind, ids in kinds.items():
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} ids: {dupes!r}")
        return self


# ------------------------------------------------------------------------------------ text and numbers

# Paul Tol's "bright" qualitative scheme: distinguishable under the common colour-vision deficiencies.
PALETTE: tuple[str, ...] = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB")
_DASHES = ("", "6 3", "2 3", "8 3 2 3")  # lines beyond the palette's length also change dash pattern

_INK = "#1f2937"
_MUTED = "#6b7280"
_GRID = "#e5e7eb"
_AXIS = "#9ca3af"
_ZERO = "#4b5563"

# Characters XML 1.0 forbids (and HTML flags): C0/C1 controls but tab/newline/CR, lone surrogates,
# U+FFFE/U+FFFF. CRM text can hold any of them; they are shown as U+FFFD instead.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_PREFIX_UNITS = frozenset({"$", "€", "£", "¥"})
_CTX = Context(prec=34, rounding=ROUND_HALF_EVEN)


def _clean(text: str) -> str:
    return _BAD_CHARS.sub("\ufffd", text)


def _esc(text: str) -> str:
    """Text made safe for HTML text, HTML attributes and SVG (which is parsed as XML) alike."""
    return html.escape(_clean(text), quote=True)


def _char_w(ch: str) -> float:
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return 1.0
    if ch in "il.,:;'|!()[] ":
        return 0.32
    if ch.isupper() or ch in "mwMW%@&":
        return 0.72
    return 0.56


def _text_w(text: str, size: float) -> float:
    """An estimate of the rendered width of ``text`` in a sans-serif font of ``size`` px."""
    return sum(_char_w(ch) for ch in text) * size


def _truncate(text: str, max_px: float, size: float) -> str:
    """``text`` cut with an ellipsis so that it fits in ``max_px`` (at least one character is kept)."""
    text = _clean(text)
    if _text_w(text, size) <= max_px:
        return text
    budget = max_px - _text_w("…", size)
    out: list[str] = []
    used = 0.0
    for ch in text:
        w = _char_w(ch) * size
        if used + w > budget and out:
            break
        out.append(ch)
        used += w
    return "".join(out).rstrip() + "…"


def _trim(number: str) -> str:
    if "." in number and "e" not in number:
        number = number.rstrip("0").rstrip(".")
    return "0" if number in ("-0", "") else number


def _with_unit(text: str, unit: str) -> str:
    if not unit:
        return text
    if unit in _PREFIX_UNITS:
        return f"-{unit}{text[1:]}" if text.startswith("-") else f"{unit}{text}"
    if unit == "%" or (len(unit) <= 2 and unit.isalpha()):
        return f"{text}{unit}"
    return f"{text} {unit}"


def _fmt_full(value: float) -> str:
    """A value as precise as a tooltip wants it: ``12,345``, ``1,234.57``, ``0.0123``."""
    a = abs(value)
    if value == 0:
        return "0"
    if a >= 1e15 or a < 1e-4:
        return f"{value:.4g}"
    if value == int(value):
        return f"{value:,.0f}"
    if a >= 1:
        return _trim(f"{value:,.2f}")
    return _trim(f"{value:.3g}")


def _fmt_compact(value: float) -> str:
    """A value short enough to label a bar: ``12.3k``, ``4.5M``, ``87``, ``0.42``."""
    a = abs(value)
    if value == 0:
        return "0"
    if a >= 1e15 or a < 0.01:
        return f"{value:.2g}"
    for div, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            q = value / div
            return _trim(f"{q:.1f}" if abs(q) < 100 else f"{q:.0f}") + suffix
    if a >= 100:
        return f"{value:.0f}"
    if a >= 10:
        return _trim(f"{value:.1f}")
    return _trim(f"{value:.2f}")


def _short_unit(unit: str) -> bool:
    """Whether ``unit`` is short enough to repeat on every tick and bar label ("$", "%", "h", "ms")."""
    return unit in _PREFIX_UNITS or len(unit) <= 2


def _value_label(value: float, unit: str) -> str:
    """A bar's value label: compact, with the unit when it is short ("$12k", "42%", "3.5h")."""
    text = _fmt_compact(value)
    return _with_unit(text, unit) if _short_unit(unit) else text


def _n(x: float) -> str:
    """An SVG coordinate: one decimal, no ``-0``."""
    s = f"{x:.1f}"
    if s.endswith(".0"):
        s = s[:-2]
    return "0" if s == "-0" else s


# ------------------------------------------------------------------------------------------------ axes


def _dec(value: float) -> Decimal:
    """A float as the decimal it was written as (``0.1`` is 0.1, not 0.1000000000000000055...)."""
    return Decimal(repr(float(value)))


def _nice(lo: Decimal, hi: Decimal, count: int) -> tuple[list[Decimal], Decimal]:
    """Ticks covering ``[lo, hi]`` at a 1, 2 or 5 × 10^n step giving about ``count`` intervals."""
    with localcontext(_CTX):
        if lo > hi:
            lo, hi = hi, lo
        span = hi - lo
        size = max(abs(lo), abs(hi))
        if span == 0 or span < size * Decimal("1e-12"):
            if size == 0:
                lo, hi = Decimal(0), Decimal(1)
            else:
                centre = (lo + hi) / 2
                pad = abs(centre) / 10
                lo, hi = centre - pad, centre + pad
            span = hi - lo
        raw = span / count
        exp = raw.adjusted()
        mantissa = raw.scaleb(-exp)
        m = next(c for c in (1, 2, 5, 10) if mantissa <= c)
        step = Decimal(m).scaleb(exp)
        start = (lo / step).to_integral_value(rounding=ROUND_FLOOR) * step
        end = (hi / step).to_integral_value(rounding=ROUND_CEILING) * step
        n = int(((end - start) / step).to_integral_value())
        ticks = [start + step * i for i in range(n + 1)]
        return [t if t != 0 else Decimal(0) for t in ticks], step


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Axis ticks covering ``[lo, hi]``: evenly spaced at a step of 1, 2 or 5 × 10^n.

    The step is the smallest such value giving at most ``count`` intervals over the range; the first
    tick is at or below ``lo`` and the last at or above ``hi``, and every tick is a multiple of the step.
    An empty range (``lo == hi``) is widened around the value (``0`` becomes ``0..1``). Ticks are exact
    decimals turned into floats, so ranges of subnormal numbers get ticks floats cannot hold exactly.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(f"ticks need a finite range, got {lo!r}..{hi!r}")
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    ticks, _ = _nice(_dec(lo), _dec(hi), count)
    return [float(t) for t in ticks]


class _Axis:
    """A value axis: nice ticks and the mapping of a value to its share of the axis length."""

    def __init__(self, values: Sequence[Decimal], *, include_zero: bool, count: int = 5) -> None:
        lo = min(values, default=Decimal(0))
        hi = max(values, default=Decimal(0))
        if include_zero:
            lo, hi = min(lo, Decimal(0)), max(hi, Decimal(0))
        elif lo > 0 and lo < hi / 2:
            lo = Decimal(0)  # a line far from zero keeps its own range; one near it shows zero
        elif hi < 0 and hi > lo / 2:
            hi = Decimal(0)
        self.ticks, self.step = _nice(lo, hi, count)
        self.lo, self.hi = self.ticks[0], self.ticks[-1]

    def frac(self, value: Decimal | float) -> float:
        """Where ``value`` falls between the first tick (0.0) and the last (1.0), clamped."""
        with localcontext(_CTX):
            v = value if isinstance(value, Decimal) else _dec(value)
            f = float((v - self.lo) / (self.hi - self.lo))
        return min(1.0, max(0.0, f))

    def labels(self, unit: str) -> list[str]:
        """Tick labels: ``0 2k 4k``, ``0 0.5 1``, with a short ``unit`` ("$5k", "20%", "3h").

        A long unit ("accounts") is left to the chart's caption and tooltips rather than every tick.
        """
        with localcontext(_CTX):
            size = max(abs(self.lo), abs(self.hi))
            out: list[str] = []
            for t in self.ticks:
                if t == 0:
                    text = "0"
                elif size >= Decimal("1e15") or size < Decimal("1e-3"):
                    text = format(t.normalize(), "e").replace("e+", "e")
                else:
                    div, suffix = Decimal(1), ""
                    for d, s in ((Decimal("1e12"), "T"), (Decimal("1e9"), "B"),
                                 (Decimal("1e6"), "M"), (Decimal("1e3"), "k")):
                        if size >= (d if s != "k" else Decimal("1e4")):  # 1,000 to 9,999 stay in full
                            div, suffix = d, s
                            break
                    decimals = max(0, -(self.step / div).adjusted())
                    text = format(t / div, f",.{decimals}f") + suffix
                out.append(_with_unit(text, unit) if _short_unit(unit) else text)
            return out


# ---------------------------------------------------------------------------------------------- charts

_W = 600            # every chart's SVG width (it scales down with its column)
_PLOT_H = 220       # plot height of column and line charts
_TICK_SIZE = 11
_LABEL_SIZE = 11
_VALUE_SIZE = 10
_LEGEND_SIZE = 12


def _colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _dash(i: int) -> str:
    return _DASHES[(i // len(PALETTE)) % len(_DASHES)]


def _text(x: float, y: float, text: str, *, size: float = _TICK_SIZE, fill: str = _MUTED,
          anchor: str = "middle", full: str | None = None, extra: str = "", weight: str = "") -> str:
    """An SVG ``<text>``; ``full`` (when it differs from ``text``) becomes its ``<title>`` tooltip."""
    tip = f"<title>{_esc(full)}</title>" if full is not None and full != text else ""
    w = f' font-weight="{weight}"' if weight else ""
    return (f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size:g}" fill="{fill}" text-anchor="{anchor}"'
            f'{w}{extra}>{tip}{_esc(text)}</text>')


def _grid_of(chart: Chart) -> tuple[list[str], list[list[float | None]]]:
    """The chart's categories (first-seen order across series) and each series' value per category."""
    cats: list[str] = []
    index: dict[str, int] = {}
    for s in chart.series:
        for cat, _ in s.points:
            if cat not in index:
                index[cat] = len(cats)
                cats.append(cat)
    values: list[list[float | None]] = []
    for s in chart.series:
        row: list[float | None] = [None] * len(cats)
        for cat, v in s.points:
            row[index[cat]] = v if v is not None and math.isfinite(v) else None
        values.append(row)
    return cats, values


def _tip(chart: Chart, series: int, cat: str, value: float) -> str:
    head = f"{chart.series[series].name} · {cat}" if len(chart.series) > 1 else cat
    return f"{head}: {_with_unit(_fmt_full(value), chart.unit)}"


def _legend(chart: Chart, left: float, top: float) -> tuple[list[str], float]:
    """The legend (only with more than one series) laid out in rows; returns parts and its height."""
    if len(chart.series) <= 1:
        return [], 0.0
    parts: list[str] = ['<g class="legend">']
    x, y = left, top + 10
    for i, s in enumerate(chart.series):
        label = _truncate(s.name, 170, _LEGEND_SIZE)
        width = 16 + 6 + _text_w(label, _LEGEND_SIZE) + 18
        if x + width > _W - 8 and x > left:
            x, y = left, y + 18
        if chart.kind == "line":
            dash = f' stroke-dasharray="{_dash(i)}"' if _dash(i) else ""
            swatch = (f'<line x1="{_n(x)}" y1="{_n(y - 4)}" x2="{_n(x + 16)}" y2="{_n(y - 4)}" '
                      f'stroke="{_colour(i)}" stroke-width="2.5"{dash}/>'
                      f'<circle cx="{_n(x + 8)}" cy="{_n(y - 4)}" r="3" fill="{_colour(i)}"/>')
        else:
            swatch = (f'<rect x="{_n(x + 2)}" y="{_n(y - 10)}" width="12" height="12" rx="2" '
                      f'fill="{_colour(i)}"/>')
        parts.append(f'<g class="legend-item">{swatch}'
                     + _text(x + 22, y, label, size=_LEGEND_SIZE, fill=_INK, anchor="start", full=s.name)
                     + "</g>")
        x += width
    parts.append("</g>")
    return parts, y - top + 10


def _svg(width: float, height: float, label: str, body: list[str]) -> str:
    return (f'<svg class="chart-svg" role="img" aria-label="{_esc(label)}" width="{_n(width)}" '
            f'height="{_n(height)}" viewBox="0 0 {_n(width)} {_n(height)}" '
            f'preserveAspectRatio="xMidYMid meet">' + "".join(body) + "</svg>")


def _no_data(chart: Chart) -> str:
    height = 200.0
    body = [
        f'<rect class="no-data" x="8" y="8" width="{_W - 16}" height="{_n(height - 16)}" rx="6" '
        f'fill="#f9fafb" stroke="#d1d5db" stroke-width="1.5" stroke-dasharray="6 4"/>',
        _text(_W / 2, height / 2 - 2, "No data", size=16, fill=_MUTED, weight="600"),
        _text(_W / 2, height / 2 + 20, "nothing to chart for this period", size=12, fill=_AXIS),
    ]
    return _svg(_W, height, f"{chart.title}: no data", body)


def _x_labels(cats: list[str], plot_l: float, band: float, y: float) -> tuple[list[str], float]:
    """Category labels under a column or line chart; returns parts and the height they take."""
    widths = [_text_w(_clean(c), _LABEL_SIZE) for c in cats]
    parts: list[str] = ['<g class="x-labels">']
    if len(cats) <= 8 or max(widths, default=0) <= band - 6:
        for i, cat in enumerate(cats):
            label = _truncate(cat, max(band - 6, 14), _LABEL_SIZE)
            parts.append(_text(plot_l + band * (i + 0.5), y + 12, label, size=_LABEL_SIZE, full=cat))
        parts.append("</g>")
        return parts, 22.0
    every = max(1, math.ceil(14 / band))
    longest = 0.0
    for i, cat in enumerate(cats):
        if i % every:
            continue
        label = _truncate(cat, 110, _LABEL_SIZE)
        longest = max(longest, _text_w(label, _LABEL_SIZE))
        x = plot_l + band * (i + 0.5)
        parts.append(_text(x + 3, y + 10, label, size=_LABEL_SIZE, anchor="end", full=cat,
                           extra=f' transform="rotate(-40 {_n(x + 3)} {_n(y + 10)})"'))
    parts.append("</g>")
    return parts, 16 + longest * math.sin(math.radians(40)) + 8


def _y_axis(axis: _Axis, unit: str, plot_l: float, plot_r: float, plot_t: float,
            plot_b: float) -> list[str]:
    parts = ['<g class="y-axis">']
    height = plot_b - plot_t
    for t, label in zip(axis.ticks, axis.labels(unit), strict=True):
        y = plot_b - axis.frac(t) * height
        parts.append(f'<line class="grid" x1="{_n(plot_l)}" y1="{_n(y)}" x2="{_n(plot_r)}" y2="{_n(y)}" '
                     f'stroke="{_GRID}" stroke-width="1"/>')
        parts.append(_text(plot_l - 8, y + 4, label, anchor="end"))
    parts.append(f'<line class="axis" x1="{_n(plot_l)}" y1="{_n(plot_t)}" x2="{_n(plot_l)}" '
                 f'y2="{_n(plot_b)}" stroke="{_AXIS}" stroke-width="1"/>')
    parts.append(f'<line class="axis" x1="{_n(plot_l)}" y1="{_n(plot_b)}" x2="{_n(plot_r)}" '
                 f'y2="{_n(plot_b)}" stroke="{_AXIS}" stroke-width="1"/>')
    if axis.lo < 0 < axis.hi:
        y0 = plot_b - axis.frac(Decimal(0)) * height
        parts.append(f'<line class="zero" x1="{_n(plot_l)}" y1="{_n(y0)}" x2="{_n(plot_r)}" '
                     f'y2="{_n(y0)}" stroke="{_ZERO}" stroke-width="1.2"/>')
    parts.append("</g>")
    return parts


def _bar(x: float, y: float, w: float, h: float, colour: str, tip: str) -> str:
    return (f'<rect class="bar" x="{_n(x)}" y="{_n(y)}" width="{_n(max(w, 0.0))}" '
            f'height="{_n(max(h, 0.0))}" fill="{colour}"><title>{_esc(tip)}</title></rect>')


def _aria(chart: Chart, cats: list[str]) -> str:
    kinds = {"bar": "bar chart", "hbar": "horizontal bar chart", "line": "line chart",
             "stacked": "stacked bar chart"}
    names = ", ".join(s.name for s in chart.series)
    return (f"{chart.title}: {kinds[chart.kind]} of {len(chart.series)} series ({names}) "
            f"over {len(cats)} categories")


def _column_chart(chart: Chart, cats: list[str], values: list[list[float | None]]) -> str:
    """``bar``, ``stacked`` and ``line``: categories across, values up."""
    legend, legend_h = _legend(chart, 12, 2)
    plot_t = 16 + legend_h + (6 if legend_h else 0)
    with localcontext(_CTX):
        if chart.kind == "stacked":
            extents: list[Decimal] = []
            for c in range(len(cats)):
                col = [_dec(v) for row in values if (v := row[c]) is not None]
                extents.append(sum((v for v in col if v > 0), Decimal(0)))
                extents.append(sum((v for v in col if v < 0), Decimal(0)))
        else:
            extents = [_dec(v) for row in values for v in row if v is not None]
    axis = _Axis(extents, include_zero=chart.kind != "line")
    tick_labels = axis.labels(chart.unit)
    plot_l = max(36.0, max(_text_w(t, _TICK_SIZE) for t in tick_labels) + 16)
    plot_r = _W - 14.0
    plot_b = plot_t + _PLOT_H
    n_cat = len(cats)
    band = (plot_r - plot_l) / n_cat

    body: list[str] = [*legend]
    body += _y_axis(axis, chart.unit, plot_l, plot_r, plot_t, plot_b)

    def y_of(v: Decimal | float) -> float:
        return plot_b - axis.frac(v) * _PLOT_H

    y0 = y_of(Decimal(0))
    below = 0.0  # room the labels of negative bars take under the plot
    n_series = len(chart.series)
    if chart.kind == "bar":
        group = min(band * 0.78, 56.0 * n_series)
        bar_w = group / n_series
        gap = min(2.0, bar_w * 0.15) if n_series > 1 else 0.0
        labels = [(i, c, v) for i, row in enumerate(values) for c, v in enumerate(row) if v is not None]
        show = len(labels) <= 36 and all(
            _text_w(_value_label(v, chart.unit), _VALUE_SIZE) <= bar_w + gap + 2 for _, _, v in labels)
        body.append('<g class="bars">')
        for i, c, v in labels:
            x = plot_l + band * c + (band - group) / 2 + i * bar_w + gap / 2
            yv = y_of(v)
            body.append(_bar(x, min(yv, y0), bar_w - gap, abs(yv - y0), _colour(i),
                             _tip(chart, i, cats[c], v)))
            if show:
                text = _value_label(v, chart.unit)
                ty = yv - 4 if v >= 0 else yv + 11
                if v < 0:
                    below = max(below, ty + 2 - plot_b)
                body.append(_text(x + (bar_w - gap) / 2, ty, text, size=_VALUE_SIZE, fill=_INK,
                                  extra=' class="value"'))
        body.append("</g>")
    elif chart.kind == "stacked":
        bar_w = min(band * 0.62, 64.0)
        show = n_cat <= 16 and band >= 26
        body.append('<g class="bars">')
        with localcontext(_CTX):
            for c, cat in enumerate(cats):
                x = plot_l + band * c + (band - bar_w) / 2
                pos, neg = Decimal(0), Decimal(0)
                for i, row in enumerate(values):
                    v = row[c]
                    if v is None or v == 0:
                        continue
                    base = pos if v > 0 else neg
                    top = base + _dec(v)
                    ya, yb = y_of(base), y_of(top)
                    body.append(_bar(x, min(ya, yb), bar_w, abs(ya - yb), _colour(i), _tip(chart, i, cat, v)))
                    if v > 0:
                        pos = top
                    else:
                        neg = top
                if show and (pos != 0 or neg != 0):
                    total = float(pos + neg)
                    edge = pos if pos != 0 else neg
                    ty = y_of(edge) - 4 if edge > 0 else y_of(edge) + 11
                    if edge < 0:
                        below = max(below, ty + 2 - plot_b)
                    body.append(_text(x + bar_w / 2, ty, _value_label(total, chart.unit), size=_VALUE_SIZE,
                                      fill=_INK, extra=' class="value"'))
        body.append("</g>")
    else:
        radius = 3.0 if n_cat <= 40 else 2.0
        body.append('<g class="lines">')
        for i, row in enumerate(values):
            segments: list[list[tuple[float, float]]] = [[]]
            for c, v in enumerate(row):
                if v is None:
                    if segments[-1]:
                        segments.append([])
                    continue
                segments[-1].append((plot_l + band * (c + 0.5), y_of(v)))
            dash = f' stroke-dasharray="{_dash(i)}"' if _dash(i) else ""
            for seg in segments:
                if len(seg) > 1:
                    d = " ".join(f"{'M' if k == 0 else 'L'}{_n(x)} {_n(y)}" for k, (x, y) in enumerate(seg))
                    body.append(f'<path class="line" d="{d}" fill="none" stroke="{_colour(i)}" '
                                f'stroke-width="2.2" stroke-linejoin="round" stroke-linecap="round"{dash}/>')
            for c, v in enumerate(row):
                if v is None:
                    continue
                body.append(f'<circle class="point" cx="{_n(plot_l + band * (c + 0.5))}" cy="{_n(y_of(v))}" '
                            f'r="{radius:g}" fill="{_colour(i)}" stroke="#ffffff" stroke-width="1">'
                            f"<title>{_esc(_tip(chart, i, cats[c], v))}</title></circle>")
        body.append("</g>")

    x_parts, x_h = _x_labels(cats, plot_l, band, plot_b + below + 2)
    body += x_parts
    height = plot_b + below + 2 + x_h + 6
    return _svg(_W, height, _aria(chart, cats), body)


def _hbar_chart(chart: Chart, cats: list[str], values: list[list[float | None]]) -> str:
    """``hbar``: categories down the left, values across; grouped when there are several series."""
    legend, legend_h = _legend(chart, 12, 2)
    plot_t = 10 + legend_h + (8 if legend_h else 0)
    n_series = len(chart.series)
    row_h = max(26.0, n_series * 13.0 + 10, min(40.0, 210.0 / len(cats)))  # few rows still fill a panel
    label_w = min(170.0, max(_text_w(_clean(c), _LABEL_SIZE) for c in cats))
    plot_l = label_w + 20
    finite = [v for row in values for v in row if v is not None]
    compact = [_value_label(v, chart.unit) for v in finite]
    group = min(row_h * 0.74, 24.0 * n_series)
    bar_h = group / n_series
    show = bar_h >= 9
    value_w = max(_text_w(t, _VALUE_SIZE) for t in compact) + 10 if show else 0.0
    plot_r = _W - 14.0 - value_w
    plot_w = plot_r - plot_l
    axis = _Axis([_dec(v) for v in finite], include_zero=True, count=max(2, min(6, int(plot_w // 75))))
    plot_b = plot_t + row_h * len(cats)

    def x_of(v: Decimal | float) -> float:
        return plot_l + axis.frac(v) * plot_w

    body: list[str] = [*legend, '<g class="x-axis">']
    labels = axis.labels(chart.unit)
    spacing = plot_w / max(1, len(axis.ticks) - 1)
    every = 1 if max(_text_w(t, _TICK_SIZE) for t in labels) <= spacing - 6 else 2
    for k, (t, label) in enumerate(zip(axis.ticks, labels, strict=True)):
        x = x_of(t)
        body.append(f'<line class="grid" x1="{_n(x)}" y1="{_n(plot_t)}" x2="{_n(x)}" y2="{_n(plot_b)}" '
                    f'stroke="{_GRID}" stroke-width="1"/>')
        if k % every == 0:
            body.append(_text(x, plot_b + 16, label))
    body.append(f'<line class="axis" x1="{_n(plot_l)}" y1="{_n(plot_b)}" x2="{_n(plot_r)}" y2="{_n(plot_b)}" '
                f'stroke="{_AXIS}" stroke-width="1"/>')
    x0 = x_of(Decimal(0))
    body.append(f'<line class="zero" x1="{_n(x0)}" y1="{_n(plot_t)}" x2="{_n(x0)}" y2="{_n(plot_b)}" '
                f'stroke="{_ZERO if axis.lo < 0 else _AXIS}" stroke-width="1.2"/>')
    body.append('</g><g class="y-labels">')
    for c, cat in enumerate(cats):
        label = _truncate(cat, label_w, _LABEL_SIZE)
        body.append(_text(plot_l - 8, plot_t + row_h * (c + 0.5) + 4, label, size=_LABEL_SIZE, fill=_INK,
                          anchor="end", full=cat))
    body.append('</g><g class="bars">')
    for c, cat in enumerate(cats):
        for i, row in enumerate(values):
            v = row[c]
            if v is None:
                continue
            y = plot_t + row_h * c + (row_h - group) / 2 + i * bar_h
            gap = min(2.0, bar_h * 0.15) if n_series > 1 else 0.0
            xv = x_of(v)
            body.append(_bar(min(xv, x0), y + gap / 2, abs(xv - x0), bar_h - gap, _colour(i),
                             _tip(chart, i, cat, v)))
            if show:
                tx = max(xv, x0) + 4
                body.append(_text(tx, y + bar_h / 2 + 3.5, _value_label(v, chart.unit), size=_VALUE_SIZE,
                                  fill=_INK, anchor="start", extra=' class="value"'))
    body.append("</g>")
    return _svg(_W, plot_b + 28, _aria(chart, cats), body)


def _chart_svg(chart: Chart) -> str:
    cats, values = _grid_of(chart)
    if not any(v is not None for row in values for v in row):
        return _no_data(chart)
    if chart.kind == "hbar":
        return _hbar_chart(chart, cats, values)
    return _column_chart(chart, cats, values)


def _chart_html(chart: Chart) -> str:
    cid = _esc(chart.id)
    unit = f'<span class="unit">{_esc(chart.unit)}</span>' if chart.unit else ""
    note = f'<p class="note">{_esc(chart.note)}</p>' if chart.note else ""
    return (f'<figure class="chart" id="chart-{cid}" data-chart="{cid}" data-kind="{chart.kind}">'
            f"<figcaption>{_esc(chart.title)}{unit}</figcaption>{_chart_svg(chart)}{note}</figure>")


# ---------------------------------------------------------------------------------------------- tables


def _decimals(column: list[Cell]) -> int:
    """Decimals for a column's floats: as many as its most precise value needs, at most two."""
    need = 0
    for v in column:
        if isinstance(v, float) and math.isfinite(v) and abs(v) < 1e15:
            if round(v, 1) != v:
                return 2
            if round(v) != v:
                need = 1
    return need


def _cell(value: Cell, decimals: int) -> tuple[str, str]:
    """A cell's text and its classes."""
    if value is None:
        return "—", "empty"
    if isinstance(value, bool):
        return ("yes" if value else "no"), ""
    if isinstance(value, int):
        return (f"{value:,.{decimals}f}" if decimals and abs(value) < 10**15 else f"{value:,}"), "num"
    if isinstance(value, float):
        if math.isnan(value):
            return "—", "num empty"
        if math.isinf(value):
            return ("∞" if value > 0 else "−∞"), "num"
        if abs(value) >= 1e15:
            return f"{value:.4g}", "num"
        text = f"{value:,.{decimals}f}"
        if text.startswith("-") and not text.strip("-0.,"):
            text = text[1:]  # -0.004 shown with two decimals is 0.00, not -0.00
        return text, "num"
    return value, ""


def _table_html(table: Table) -> str:
    tid = _esc(table.id)
    cols = list(zip(*table.rows, strict=True)) if table.rows else [() for _ in table.columns]
    numeric = [any(isinstance(v, int | float) and not isinstance(v, bool) for v in col)
               and all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in col)
               for col in cols]
    decimals = [_decimals(list(col)) for col in cols]
    head = "".join(f'<th scope="col" class="num">{_esc(name)}</th>' if numeric[j]
                   else f'<th scope="col">{_esc(name)}</th>' for j, name in enumerate(table.columns))
    body: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        for j, value in enumerate(row):
            text, cls = _cell(value, decimals[j])
            if numeric[j] and "num" not in cls:
                cls = f"num {cls}".strip()
            cells.append(f'<td class="{cls}">{_esc(text)}</td>' if cls else f"<td>{_esc(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        body.append(f'<tr><td class="empty" colspan="{max(1, len(table.columns))}">No rows</td></tr>')
    note = f'<p class="note">{_esc(table.note)}</p>' if table.note else ""
    return (f'<figure class="table" id="table-{tid}" data-table="{tid}">'
            f"<figcaption>{_esc(table.title)}</figcaption>"
            f'<div class="table-scroll"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>{note}</figure>")


# ---------------------------------------------------------------------------------------------- page

_CSS = """
:root{--ink:#1f2937;--muted:#6b7280;--line:#e5e7eb;--bg:#f3f4f6;--card:#fff;--accent:#1f3a5f}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);
font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","Liberation Sans",
sans-serif}
.page{max-width:1240px;margin:0 auto;padding:0 28px}
.report-header{background:var(--accent);color:#fff;padding:26px 0 22px;margin-bottom:22px}
h1{margin:0;font-size:26px;font-weight:650;letter-spacing:-.01em;line-height:1.25}
.subtitle{margin:4px 0 0;color:#d5deea;font-size:15px}
.meta{margin:10px 0 0;color:#aebfd6;font-size:12.5px}
.notes{background:#fff8e1;border:1px solid #f1d894;border-left:4px solid #d99a00;border-radius:6px;
padding:10px 14px;margin:0 0 18px;color:#5c4500}
.notes strong{display:block;font-size:12px;text-transform:uppercase;letter-spacing:.05em;margin-bottom:2px}
.notes ul{margin:0;padding-left:18px}
.toc{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 16px;margin:0 0 18px}
.toc h2{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:0 0 8px;
font-weight:600}
.toc ol{margin:0;padding:0;list-style:none;display:flex;flex-wrap:wrap;gap:6px 8px;counter-reset:toc}
.toc li{counter-increment:toc}
.toc a{display:inline-block;padding:3px 11px;border-radius:999px;background:#eaf0f7;color:var(--accent);
text-decoration:none;font-size:13px}
.toc a::before{content:counter(toc) ". ";color:var(--muted)}
.toc a:hover{background:#d9e4f1}
.section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:20px 22px 22px;
margin:0 0 18px}
.section>h2{margin:0 0 4px;font-size:19px;line-height:1.3}
.summary{margin:0 0 14px;color:#374151;max-width:90ch}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:12px;margin:0 0 18px}
.kpi{border:1px solid var(--line);border-radius:8px;padding:11px 14px;background:#f9fafb}
.kpi-label{font-size:11.5px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em;font-weight:600}
.kpi-value{font-size:24px;font-weight:650;line-height:1.25;margin-top:3px;font-variant-numeric:tabular-nums}
.kpi-detail{font-size:12.5px;color:var(--muted);margin-top:2px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:16px;margin:0 0 18px}
.charts:last-child,.tables:last-child,.kpis:last-child{margin-bottom:0}
figure{margin:0}
.chart{border:1px solid var(--line);border-radius:8px;padding:12px 14px 10px;background:#fff;min-width:0}
.chart figcaption,.table figcaption{font-weight:600;font-size:14px;margin:0 0 6px}
.unit{font-weight:400;color:var(--muted);font-size:12px;margin-left:8px;border:1px solid var(--line);
border-radius:4px;padding:0 5px}
.chart svg{display:block;width:100%;height:auto;max-width:100%;overflow:visible}
.note{font-size:12px;color:var(--muted);margin:6px 0 0}
.tables{display:grid;grid-template-columns:minmax(0,1fr);gap:18px}
.table{min-width:0}
.table-scroll{overflow-x:auto;border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:7px 12px;text-align:left;border-bottom:1px solid var(--line);vertical-align:top}
thead th{background:#f3f5f8;font-weight:600;color:#374151;white-space:nowrap}
tbody tr:nth-child(even) td{background:#fafbfc}
tbody tr:last-child td{border-bottom:none}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.empty{color:#9ca3af}
.footer{color:var(--muted);font-size:12px;text-align:center;padding:4px 0 28px}
@media (max-width:620px){.page{padding:0 14px}.charts{grid-template-columns:minmax(0,1fr)}}
@media print{
@page{size:A4;margin:14mm}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{background:#fff;font-size:10.5pt}
.page{max-width:none;padding:0}
.report-header{background:#fff;color:#000;border-bottom:2px solid #000;padding:0 0 8pt;margin-bottom:12pt}
.subtitle,.meta{color:#333}
.toc{border:none;padding:0}
.toc a{background:none;padding:0 8px 0 0;color:#000}
.section{border:none;border-radius:0;padding:0;margin:0 0 16pt;break-inside:auto}
.section+.section{break-before:page}
.section>h2{break-after:avoid}
.charts{grid-template-columns:minmax(0,1fr)}
.chart,.kpi,tr,.notes{break-inside:avoid}
.chart svg{max-width:16cm}
.table-scroll{overflow:visible;border:none}
thead{display:table-header-group}
a{color:inherit;text-decoration:none}
}
"""

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"


def _when(at: datetime) -> str:
    text = at.strftime("%Y-%m-%d %H:%M")
    zone = at.tzname()
    return f"{text} {zone}" if zone else text


def _section_html(section: Section) -> str:
    sid = _esc(section.id)
    parts = [f'<section class="section" id="section-{sid}" data-section="{sid}">',
             f"<h2>{_esc(section.title)}</h2>"]
    if section.summary:
        parts.append(f'<p class="summary">{_esc(section.summary)}</p>')
    if section.kpis:
        parts.append('<div class="kpis">')
        for k in section.kpis:
            detail = f'<div class="kpi-detail">{_esc(k.detail)}</div>' if k.detail else ""
            parts.append(f'<div class="kpi"><div class="kpi-label">{_esc(k.label)}</div>'
                         f'<div class="kpi-value">{_esc(k.value)}</div>{detail}</div>')
        parts.append("</div>")
    if section.charts:
        parts.append('<div class="charts">' + "".join(_chart_html(c) for c in section.charts) + "</div>")
    if section.tables:
        parts.append('<div class="tables">' + "".join(_table_html(t) for t in section.tables) + "</div>")
    parts.append("</section>")
    return "".join(parts)


def render_html(model: ReportModel) -> str:
    """The report as one complete HTML5 document that loads nothing from anywhere.

    Styles are in the file, charts are inline SVG (no JavaScript), every piece of text is escaped,
    and the same model always gives the same string.
    """
    when = _when(model.generated_at)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="generator" content="revloops">',
        f"<title>{_esc(model.title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        '<header class="report-header"><div class="page">',
        f"<h1>{_esc(model.title)}</h1>",
    ]
    if model.subtitle:
        out.append(f'<p class="subtitle">{_esc(model.subtitle)}</p>')
    out.append(f'<p class="meta">Generated <time datetime="{_esc(model.generated_at.isoformat())}">'
               f"{_esc(when)}</time></p></div></header>")
    out.append('<main class="page">')
    if model.notes:
        items = "".join(f"<li>{_esc(n)}</li>" for n in model.notes)
        out.append(f'<div class="notes" role="note"><strong>Note</strong><ul>{items}</ul></div>')
    if model.sections:
        links = "".join(f'<li><a href="#section-{_esc(s.id)}">{_esc(s.title)}</a></li>'
                        for s in model.sections)
        out.append(f'<nav class="toc" aria-label="Contents"><h2>Contents</h2><ol>{links}</ol></nav>')
    out.extend(_section_html(s) for s in model.sections)
    out.append(f'</main><footer class="footer page">{_esc(model.title)} · generated {_esc(when)} by revloops'
               "</footer></body></html>\n")
    return "\n".join(out)
