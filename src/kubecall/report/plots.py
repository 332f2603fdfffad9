"""The report's figures, drawn with matplotlib's object API (no pyplot state, Agg only).

Each function takes plain data and returns a :class:`~matplotlib.figure.Figure`; series are
labelled (bar containers, lines, collections) so tests can check what a figure holds.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from kubecall.report.bcftools_stats import SampleCounts
from kubecall.report.data import RegionRow

NORMAL_COLOUR = "#4c72b0"
RUNAWAY_COLOUR = "#d62728"
ACCENT_COLOUR = "#55a868"
# Above this many bars, per-bar tick labels would overlap: label a subset.
MAX_TICK_LABELS = 40
# Above this many regions, one bar patch each is slow to draw (seconds at 3,000): each series
# becomes one collection of vertical lines instead, which looks the same at that density.
MAX_BARS = 400
WIDE = (9.0, 3.4)
SMALL = (4.6, 3.2)


def region_runtimes_figure(regions: Sequence[RegionRow], budget: float | None) -> Figure:
    """Seconds per region in plan order; runaway regions (split or fallback) in red."""
    figure = Figure(figsize=WIDE, layout="constrained")
    axes = figure.add_subplot()
    normal = [(i, r) for i, r in enumerate(regions) if not r.runaway]
    runaway = [(i, r) for i, r in enumerate(regions) if r.runaway]
    dense = len(regions) > MAX_BARS
    _bars(axes, [i for i, _ in normal], [r.seconds for _, r in normal], NORMAL_COLOUR,
          "normal", dense)
    if runaway:
        _bars(axes, [i for i, _ in runaway], [r.seconds for _, r in runaway], RUNAWAY_COLOUR,
              "runaway (split or fallback)", dense, hatch="//")
    if budget:
        axes.axhline(budget, color="black", linestyle="--", linewidth=1,
                     label=f"time budget ({budget:g} s)")
    _region_ticks(axes, [r.name for r in regions])
    axes.set_ylabel("seconds")
    axes.set_title("Calling time per region")
    axes.legend(loc="upper right", fontsize="small")
    return figure


def batch_runtimes_figure(batch_seconds: Mapping[str, float],
                          runaway_batches: frozenset[str] = frozenset()) -> Figure:
    """Wall seconds per calling job (batch); batches holding a runaway region in red."""
    figure = Figure(figsize=WIDE, layout="constrained")
    axes = figure.add_subplot()
    names = list(batch_seconds)
    colours = [RUNAWAY_COLOUR if n in runaway_batches else NORMAL_COLOUR for n in names]
    axes.bar(range(len(names)), [batch_seconds[n] for n in names], color=colours,
             label="batch wall time")
    _region_ticks(axes, names)
    axes.set_ylabel("seconds")
    axes.set_title("Wall time per calling job (batch)"
                   + ("; red: holds a runaway region" if runaway_batches else ""))
    return figure


def work_vs_runtime_figure(regions: Sequence[RegionRow]) -> Figure:
    """Expected work (the plan's weight) against measured seconds, one point per region."""
    figure = Figure(figsize=SMALL, layout="constrained")
    axes = figure.add_subplot()
    normal = [r for r in regions if not r.runaway]
    runaway = [r for r in regions if r.runaway]
    axes.scatter([r.weight for r in normal], [r.seconds for r in normal], s=14,
                 color=NORMAL_COLOUR, label="normal")
    if runaway:
        axes.scatter([r.weight for r in runaway], [r.seconds for r in runaway], s=28,
                     marker="x", color=RUNAWAY_COLOUR, label="runaway")
    axes.set_xlabel("expected work (plan weight)")
    axes.set_ylabel("seconds")
    axes.set_title("Expected work vs runtime")
    axes.legend(fontsize="small")
    return figure


def variants_per_contig_figure(contig_records: Mapping[str, int], limit: int = 40) -> Figure:
    """Records per contig, in reference order; contigs without records are left out."""
    shown = [(name, count) for name, count in contig_records.items() if count][:limit]
    figure = Figure(figsize=SMALL, layout="constrained")
    axes = figure.add_subplot()
    axes.bar(range(len(shown)), [count for _, count in shown], color=NORMAL_COLOUR,
             label="records")
    axes.set_xticks(range(len(shown)), [name for name, _ in shown], rotation=45, ha="right",
                    fontsize="small")
    axes.set_ylabel("records")
    axes.set_title("Variants per contig")
    return figure


def variants_per_region_figure(regions: Sequence[RegionRow]) -> Figure:
    """Records each region kept, in plan order."""
    figure = Figure(figsize=WIDE, layout="constrained")
    axes = figure.add_subplot()
    dense = len(regions) > MAX_BARS
    _bars(axes, list(range(len(regions))), [r.records for r in regions],
          [RUNAWAY_COLOUR if r.runaway else ACCENT_COLOUR for r in regions], "records", dense)
    _region_ticks(axes, [r.name for r in regions])
    axes.set_ylabel("records")
    axes.set_title("Variants per region")
    return figure


def histogram_figure(values: Sequence[float], title: str, xlabel: str, bins: int = 40,
                     value_range: tuple[float, float] | None = None,
                     log_counts: bool = False) -> Figure:
    """A histogram of ``values`` (an empty figure with a note when there are none);
    ``log_counts`` for skewed values such as QUAL, where most records sit near zero."""
    figure = Figure(figsize=SMALL, layout="constrained")
    axes = figure.add_subplot()
    if values:
        _, _, patches = axes.hist(values, bins=bins, range=value_range, color=NORMAL_COLOUR,
                                  log=log_counts)
        patches.set_label(title)  # hist labels only its first bar; name the whole series
    else:
        axes.text(0.5, 0.5, "no values", ha="center", va="center", transform=axes.transAxes)
    axes.set_xlabel(xlabel)
    axes.set_ylabel("records")
    axes.set_title(title)
    return figure


def per_sample_figure(samples: Sequence[SampleCounts]) -> Figure:
    """Heterozygous, homozygous-alt, indel and singleton counts per sample."""
    series = {
        "het SNPs": [s.hets for s in samples],
        "hom-alt SNPs": [s.nonref_hom for s in samples],
        "indels": [s.indels for s in samples],
        "singletons": [s.singletons for s in samples],
    }
    figure = Figure(figsize=WIDE, layout="constrained")
    axes = figure.add_subplot()
    width = 0.8 / len(series)
    for offset, (label, counts) in enumerate(series.items()):
        axes.bar([i + offset * width for i in range(len(samples))], counts, width=width,
                 label=label)
    names = [s.sample for s in samples]
    centre = width * (len(series) - 1) / 2
    if len(names) <= MAX_TICK_LABELS:
        axes.set_xticks([i + centre for i in range(len(names))], names, rotation=45,
                        ha="right", fontsize="small")
    axes.set_ylabel("count")
    axes.set_title("Per-sample counts (bcftools stats)")
    axes.legend(fontsize="small", ncols=4)
    return figure


def warm_up_figure() -> Figure:
    """A tiny figure with the text elements every figure has: drawing it loads the fonts."""
    figure = Figure(figsize=(1, 1))
    axes = figure.subplots()
    axes.set_title("t")
    axes.set_xlabel("x")
    return figure


def figure_png(figure: Figure, dpi: int = 96) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def figure_png_base64(figure: Figure, dpi: int = 96) -> str:
    """The figure as a base64 PNG, for an ``<img src="data:...">`` in a self-contained page."""
    return base64.b64encode(figure_png(figure, dpi)).decode("ascii")


def _bars(axes: Axes, positions: Sequence[int], heights: Sequence[float],
          colour: str | Sequence[str], label: str, dense: bool, hatch: str | None = None) -> None:
    """One labelled series: a bar per value, or vertical lines when ``dense``."""
    if dense:
        axes.vlines(positions, 0, heights, colors=colour, label=label, linewidth=0.8)
    else:
        axes.bar(positions, heights, color=colour, label=label, hatch=hatch)


def _region_ticks(axes: Axes, names: Sequence[str]) -> None:
    """Label every bar when few, else about MAX_TICK_LABELS evenly spaced ones."""
    step = max(1, -(-len(names) // MAX_TICK_LABELS))
    positions = list(range(0, len(names), step))
    axes.set_xticks(positions, [names[i] for i in positions], rotation=90, fontsize="x-small")
    axes.set_xlim(-0.6, len(names) - 0.4)
