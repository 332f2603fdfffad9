"""Charts written as SVG markup: labelled series of bars, vertical lines, points and
horizontal lines over one pair of axes, with ticks, a legend and a title.

The report's figures need nothing more, and writing them directly is about a hundred times
faster than importing and running a plotting library: matplotlib's import and layout took
1.7 s of a demo run's 4-5 s around calling. The same chart gives the same bytes; every bar
and point carries a ``<title>``, which a browser shows as a tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

FONT_FAMILY = "system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif"
# px by role; tick labels use "tick" unless a chart asks for a smaller size
FONT_PX = {"title": 13, "label": 11, "tick": 10, "small": 9, "x-small": 8}
# Average glyph width as a share of the font size: enough to size margins for labels, as
# nothing measures the text before a browser draws it.
GLYPH_WIDTH = 0.6
TICK_LABEL_CHARS = 24  # longer tick labels are shortened (the tooltip keeps the whole name)
TICK_LENGTH = 4
PAD = 6
GRID_COLOUR = "#e6e6e6"
AXIS_COLOUR = "#444444"
HATCH_ID_PREFIX = "hatch-"


@dataclass(frozen=True)
class Series:
    """One labelled series.

    ``kind``: ``bars`` (centred on ``xs``, ``width`` wide), ``lines`` (vertical lines from
    the axis to each value: bars when they are too many to draw one by one), ``points`` or
    ``hline`` (one horizontal line at ``ys[0]``). ``colours`` holds one colour per value.
    """

    label: str
    kind: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    colours: tuple[str, ...]
    width: float = 0.8
    marker: str = "o"
    hatch: bool = False
    dashed: bool = False
    tips: tuple[str, ...] = ()


@dataclass
class Chart:
    """A chart of ``width`` x ``height`` px; add series, then :meth:`svg` writes it."""

    title: str
    width: int
    height: int
    xlabel: str = ""
    ylabel: str = ""
    log_y: bool = False
    legend: bool = False
    # categorical ticks as (x, label); None: numeric ticks from the data
    xticks: list[tuple[float, str]] | None = None
    xtick_rotation: int = 0  # 0, 45 or 90 degrees
    xtick_font: str = "tick"
    xlim: tuple[float, float] | None = None
    note: str = ""  # a message in the middle of the axes (a chart without data)
    series: list[Series] = field(default_factory=list)

    def bars(self, xs: Sequence[float], heights: Sequence[float], colour: str | Sequence[str],
             label: str, *, width: float = 0.8, hatch: bool = False,
             tips: Sequence[str] = ()) -> Series:
        """Bars centred on ``xs``; ``colour`` one for all or one per bar."""
        return self._add(Series(label, "bars", _floats(xs), _floats(heights),
                                _colours(colour, len(xs)), width=width, hatch=hatch,
                                tips=tuple(tips)))

    def vlines(self, xs: Sequence[float], heights: Sequence[float],
               colour: str | Sequence[str], label: str) -> Series:
        """A vertical line from the axis to each height: bars at a density where one
        rectangle each would be unreadable and heavy."""
        return self._add(Series(label, "lines", _floats(xs), _floats(heights),
                                _colours(colour, len(xs))))

    def points(self, xs: Sequence[float], ys: Sequence[float], colour: str, label: str, *,
               marker: str = "o", tips: Sequence[str] = ()) -> Series:
        """Points at (x, y); ``marker`` ``o`` (disc) or ``x`` (cross)."""
        return self._add(Series(label, "points", _floats(xs), _floats(ys),
                                _colours(colour, len(xs)), marker=marker, tips=tuple(tips)))

    def hline(self, y: float, colour: str, label: str, *, dashed: bool = True) -> Series:
        """A horizontal line across the axes at ``y``."""
        return self._add(Series(label, "hline", (), (float(y),), (colour,), dashed=dashed))

    def svg(self) -> str:
        """The chart as a standalone ``<svg>`` element."""
        return _Drawing(self).render()

    def _add(self, series: Series) -> Series:
        self.series.append(series)
        return series


def _floats(values: Sequence[float]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _colours(colour: str | Sequence[str], count: int) -> tuple[str, ...]:
    return (colour,) * count if isinstance(colour, str) else tuple(colour)


def text_width(text: str, font: str) -> float:
    """Estimated width of ``text`` in px at font role ``font``."""
    return len(text) * FONT_PX[font] * GLYPH_WIDTH


def shorten(label: str, limit: int = TICK_LABEL_CHARS) -> str:
    """``label``, cut to ``limit`` characters with an ellipsis if longer."""
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def nice_step(span: float, target: int = 5) -> float:
    """A step of 1, 2, 2.5 or 5 times a power of ten giving about ``target`` ticks."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / target
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw * (1 - 1e-9))


def linear_ticks(low: float, high: float) -> list[float]:
    """Tick values on a nice step covering ``[low, high]`` (inside it, ends included)."""
    step = nice_step(high - low)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def format_tick(value: float, step: float) -> str:
    """A tick value with as many decimals as its step needs, thousands separated."""
    decimals = next((d for d in range(7) if abs(round(step, d) - step) < 1e-9 * max(1, step)),
                    6)
    return f"{value:,.{decimals}f}"


def format_value(value: float) -> str:
    """A value for a tooltip: integers whole, others to 3 significant digits."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"


class _Drawing:
    """Layout and markup of one chart (a helper of :meth:`Chart.svg`)."""

    def __init__(self, chart: Chart) -> None:
        self.chart = chart
        self.x_low, self.x_high = self._x_range()
        self.y_low, self.y_high, self.y_ticks = self._y_axis()
        self.x_ticks = self._x_ticks()
        self.legend_rows = self._legend_rows()
        self.left, self.right, self.top, self.bottom = self._margins()

    # ---- scales -------------------------------------------------------------------------
    def _x_range(self) -> tuple[float, float]:
        if self.chart.xlim is not None:
            return self.chart.xlim
        lows, highs = [], []
        for s in self.chart.series:
            half = s.width / 2 if s.kind == "bars" else 0.0
            lows += [x - half for x in s.xs]
            highs += [x + half for x in s.xs]
        if not lows:
            return 0.0, 1.0
        low, high = min(lows), max(highs)
        if high == low:
            return low - 0.5, high + 0.5
        margin = (high - low) * 0.05
        return low - margin, high + margin

    def _y_axis(self) -> tuple[float, float, list[float]]:
        values = [y for s in self.chart.series for y in s.ys]
        if self.chart.log_y:
            positive = [v for v in values if v > 0] or [1.0]
            # the axis starts a decade lower when the smallest value is under twice a power
            # of ten (a count of 1), so that its bar still shows
            low = 10.0 ** math.floor(math.log10(min(positive) / 2))
            high = 10.0 ** math.ceil(math.log10(max(positive)))
            if high <= low:
                high = low * 10
            exponents = range(round(math.log10(low)), round(math.log10(high)) + 1)
            return low, high, [10.0 ** e for e in exponents]
        starts_at_zero = any(s.kind in ("bars", "lines") for s in self.chart.series)
        low = min(values + ([0.0] if starts_at_zero else []), default=0.0)
        high = max(values, default=1.0)
        if not starts_at_zero and values:
            margin = (high - low) * 0.05 or 0.5
            low, high = low - margin, high + margin
        if high <= low:
            high = low + 1.0
        step = nice_step(high - low)
        low, high = math.floor(low / step) * step, math.ceil(high / step) * step
        return low, high, linear_ticks(low, high)

    def _x_ticks(self) -> list[tuple[float, str, str]]:
        """(x, shown label, whole label) of each x tick."""
        if self.chart.xticks is not None:
            return [(x, shorten(label), label) for x, label in self.chart.xticks]
        ticks = linear_ticks(self.x_low, self.x_high)
        step = nice_step(self.x_high - self.x_low)
        return [(t, format_tick(t, step), format_tick(t, step)) for t in ticks]

    def _y_labels(self) -> list[str]:
        if self.chart.log_y:
            return [f"{t:,.0f}" if t >= 1 else f"{t:g}" for t in self.y_ticks]
        step = self.y_ticks[1] - self.y_ticks[0] if len(self.y_ticks) > 1 else 1.0
        return [format_tick(t, step) for t in self.y_ticks]

    def sx(self, x: float) -> float:
        span = self.x_high - self.x_low
        return self.left + (x - self.x_low) / span * (self.chart.width - self.left - self.right)

    def sy(self, y: float) -> float:
        bottom, top = self.chart.height - self.bottom, self.top
        if self.chart.log_y:
            y = max(y, self.y_low)
            fraction = (math.log10(y) - math.log10(self.y_low)) / (
                math.log10(self.y_high) - math.log10(self.y_low))
        else:
            fraction = (y - self.y_low) / (self.y_high - self.y_low)
        return bottom - fraction * (bottom - top)

    # ---- layout -------------------------------------------------------------------------
    def _legend_items(self) -> list[Series]:
        return [s for s in self.chart.series if self.chart.legend and s.label]

    def _legend_rows(self) -> list[list[Series]]:
        """Legend entries in rows that fit the chart's width (16 px swatch and gap each)."""
        rows: list[list[Series]] = []
        used = self.chart.width
        for item in self._legend_items():
            width = 22 + text_width(item.label, "small") + 12
            if used + width > self.chart.width - 2 * PAD:
                rows.append([])
                used = 0.0
            rows[-1].append(item)
            used += width
        return rows

    def _margins(self) -> tuple[float, float, float, float]:
        y_labels = max((text_width(t, "tick") for t in self._y_labels()), default=0.0)
        left = PAD + (FONT_PX["label"] + PAD if self.chart.ylabel else 0) + y_labels \
            + TICK_LENGTH + 3
        x_font = self.chart.xtick_font
        longest = max((text_width(shown, x_font) for _, shown, _ in self.x_ticks), default=0.0)
        if self.chart.xtick_rotation == 90:
            x_labels = longest
        elif self.chart.xtick_rotation == 45:
            x_labels = longest * math.sqrt(0.5) + FONT_PX[x_font]
        else:
            x_labels = FONT_PX[x_font]
        bottom = PAD + (FONT_PX["label"] + PAD if self.chart.xlabel else 0) + x_labels \
            + TICK_LENGTH + 3
        top = PAD + FONT_PX["title"] + PAD + len(self.legend_rows) * (FONT_PX["small"] + 6)
        # room for half of a horizontal last x tick label, centred on the axis' end
        last = self.x_ticks[-1][1] if self.x_ticks and not self.chart.xtick_rotation else ""
        right = PAD + max(text_width(last, x_font) / 2, FONT_PX["tick"])
        return left, right, top, bottom

    # ---- markup -------------------------------------------------------------------------
    def render(self) -> str:
        chart = self.chart
        parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{chart.width}" '
            f'height="{chart.height}" viewBox="0 0 {chart.width} {chart.height}" '
            f'font-family="{escape(FONT_FAMILY)}" role="img">',
            f"<title>{escape(chart.title)}</title>",
            *self._hatch_patterns(),
            f'<rect width="{chart.width}" height="{chart.height}" fill="#ffffff"/>',
            *self._grid_and_axes(),
            *(self._series(s) for s in chart.series),
            *self._note(),
            *self._legend(),
            f'<text x="{chart.width / 2:.1f}" y="{PAD + FONT_PX["title"]:.1f}" '
            f'font-size="{FONT_PX["title"]}" font-weight="bold" text-anchor="middle">'
            f"{escape(chart.title)}</text>",
            "</svg>",
        ]
        return "\n".join(p for p in parts if p)

    def _hatch_patterns(self) -> list[str]:
        """A diagonal-line pattern per hatched series (ids unique within a page of charts)."""
        patterns = []
        for s in self.chart.series:
            if s.hatch:
                patterns.append(
                    f'<defs><pattern id="{self._hatch_id(s)}" width="6" height="6" '
                    f'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
                    f'<rect width="6" height="6" fill="{s.colours[0]}"/>'
                    f'<line x1="0" y1="0" x2="0" y2="6" stroke="#ffffff" stroke-width="2"/>'
                    f"</pattern></defs>")
        return patterns

    def _hatch_id(self, series: Series) -> str:
        slug = "".join(c if c.isalnum() else "-" for c in f"{self.chart.title}-{series.label}")
        return HATCH_ID_PREFIX + slug.lower()

    def _grid_and_axes(self) -> list[str]:
        chart = self.chart
        x0, x1 = self.left, chart.width - self.right
        y0, y1 = chart.height - self.bottom, self.top
        out = [f'<g class="axes" font-size="{FONT_PX["tick"]}" fill="{AXIS_COLOUR}">']
        for tick, label in zip(self.y_ticks, self._y_labels(), strict=True):
            y = self.sy(tick)
            out.append(f'<line x1="{x0:.1f}" y1="{y:.1f}" x2="{x1:.1f}" y2="{y:.1f}" '
                       f'stroke="{GRID_COLOUR}"/>')
            out.append(f'<text x="{x0 - TICK_LENGTH - 2:.1f}" y="{y + 3.5:.1f}" '
                       f'text-anchor="end">{escape(label)}</text>')
        font = FONT_PX[chart.xtick_font]
        for x_value, shown, whole in self.x_ticks:
            x = self.sx(x_value)
            out.append(f'<line x1="{x:.1f}" y1="{y0:.1f}" x2="{x:.1f}" '
                       f'y2="{y0 + TICK_LENGTH:.1f}" stroke="{AXIS_COLOUR}"/>')
            y = y0 + TICK_LENGTH + 2
            tip = f"<title>{escape(whole)}</title>" if shown != whole else ""
            if chart.xtick_rotation:
                out.append(f'<text x="{x + font / 3:.1f}" y="{y:.1f}" font-size="{font}" '
                           f'text-anchor="end" transform="rotate(-{chart.xtick_rotation} '
                           f'{x + font / 3:.1f} {y:.1f})">{tip}{escape(shown)}</text>')
            else:
                out.append(f'<text x="{x:.1f}" y="{y + font:.1f}" font-size="{font}" '
                           f'text-anchor="middle">{tip}{escape(shown)}</text>')
        out.append(f'<path d="M{x0:.1f} {y1:.1f}V{y0:.1f}H{x1:.1f}" fill="none" '
                   f'stroke="{AXIS_COLOUR}"/>')
        label_font = FONT_PX["label"]
        if chart.xlabel:
            out.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{chart.height - PAD:.1f}" '
                       f'font-size="{label_font}" text-anchor="middle">'
                       f"{escape(chart.xlabel)}</text>")
        if chart.ylabel:
            x, y = PAD + label_font, (y0 + y1) / 2
            out.append(f'<text x="{x:.1f}" y="{y:.1f}" font-size="{label_font}" '
                       f'text-anchor="middle" transform="rotate(-90 {x:.1f} {y:.1f})">'
                       f"{escape(chart.ylabel)}</text>")
        out.append("</g>")
        return out

    def _series(self, s: Series) -> str:
        head = (f'<g class="series" data-kind="{s.kind}" data-label="{escape(s.label)}" '
                f'data-count="{len(s.ys)}">')
        return "\n".join([head, *getattr(self, f"_{s.kind}")(s), "</g>"])

    def _bars(self, s: Series) -> list[str]:
        base = self.sy(self.y_low if self.chart.log_y else max(0.0, self.y_low))
        out = []
        for i, (x, height, colour) in enumerate(zip(s.xs, s.ys, s.colours, strict=True)):
            left, right = self.sx(x - s.width / 2), self.sx(x + s.width / 2)
            top = self.sy(height) if height > 0 or not self.chart.log_y else base
            fill = f"url(#{self._hatch_id(s)})" if s.hatch else colour
            tip = s.tips[i] if s.tips else format_value(height)
            out.append(f'<rect x="{left:.2f}" y="{min(top, base):.2f}" '
                       f'width="{max(right - left, 0.1):.2f}" height="{abs(base - top):.2f}" '
                       f'fill="{fill}"><title>{escape(tip)}</title></rect>')
        return out

    def _lines(self, s: Series) -> list[str]:
        """One path per colour, each a move-and-vertical-line per value."""
        base = self.sy(max(0.0, self.y_low))
        by_colour: dict[str, list[str]] = {}
        for x, height, colour in zip(s.xs, s.ys, s.colours, strict=True):
            by_colour.setdefault(colour, []).append(
                f"M{self.sx(x):.2f} {base:.2f}V{self.sy(height):.2f}")
        return [f'<path d="{"".join(segments)}" stroke="{colour}" stroke-width="0.8" '
                f'fill="none"/>' for colour, segments in by_colour.items()]

    def _points(self, s: Series) -> list[str]:
        out = []
        for i, (x, y, colour) in enumerate(zip(s.xs, s.ys, s.colours, strict=True)):
            cx, cy = self.sx(x), self.sy(y)
            tip = escape(s.tips[i] if s.tips else f"{format_value(x)}, {format_value(y)}")
            if s.marker == "x":
                out.append(f'<path d="M{cx - 4:.1f} {cy - 4:.1f}l8 8M{cx - 4:.1f} '
                           f'{cy + 4:.1f}l8 -8" stroke="{colour}" stroke-width="1.5">'
                           f"<title>{tip}</title></path>")
            else:
                out.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="2.5" fill="{colour}">'
                           f"<title>{tip}</title></circle>")
        return out

    def _hline(self, s: Series) -> list[str]:
        y = self.sy(s.ys[0])
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        return [f'<line x1="{self.left:.1f}" y1="{y:.1f}" x2="{self.chart.width - self.right:.1f}"'
                f' y2="{y:.1f}" stroke="{s.colours[0]}"{dash}/>']

    def _note(self) -> list[str]:
        if not self.chart.note:
            return []
        x = (self.left + self.chart.width - self.right) / 2
        y = (self.top + self.chart.height - self.bottom) / 2
        return [f'<text class="note" x="{x:.1f}" y="{y:.1f}" font-size="{FONT_PX["label"]}" '
                f'text-anchor="middle">{escape(self.chart.note)}</text>']

    def _legend(self) -> list[str]:
        out = []
        font = FONT_PX["small"]
        for row, items in enumerate(self.legend_rows):
            y = PAD + FONT_PX["title"] + PAD + row * (font + 6)
            x = self.left
            for s in items:
                colour = s.colours[0] if s.colours else AXIS_COLOUR
                fill = f"url(#{self._hatch_id(s)})" if s.hatch else colour
                if s.kind == "hline":
                    dash = ' stroke-dasharray="5 3"' if s.dashed else ""
                    swatch = (f'<line x1="{x:.1f}" y1="{y + 5:.1f}" x2="{x + 16:.1f}" '
                              f'y2="{y + 5:.1f}" stroke="{colour}"{dash}/>')
                else:
                    swatch = (f'<rect x="{x:.1f}" y="{y:.1f}" width="16" height="10" '
                              f'fill="{fill}"/>')
                out.append(f'<g class="legend-entry">{swatch}<text x="{x + 22:.1f}" '
                           f'y="{y + 9:.1f}" font-size="{font}">{escape(s.label)}</text></g>')
                x += 22 + text_width(s.label, "small") + 12
        return out
