"""The report's figures as :class:`~kubecall.report.svg.Chart` objects.

Each function takes plain data and returns a chart whose series are labelled, so tests can
check what a figure holds; :meth:`~kubecall.report.svg.Chart.svg` writes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kubecall.report.bcftools_stats import SampleCounts
from kubecall.report.data import RegionRow
from kubecall.report.svg import Chart

NORMAL_COLOUR = "#4c72b0"
RUNAWAY_COLOUR = "#d62728"
ACCENT_COLOUR = "#55a868"
# One colour per series of the per-sample figure.
SERIES_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
# Above this many bars, per-bar tick labels would overlap: label a subset.
MAX_TICK_LABELS = 40
# Above this many bars (regions, or samples times counts), a rectangle with its tooltip each
# makes a heavy page (1.1 MB for 2,504 samples' counts): each series becomes one path of
# vertical lines instead (0.2 MB), which looks the same at that density.
MAX_BARS = 400
WIDE = (864, 326)  # px
SMALL = (442, 307)


def region_runtimes_figure(regions: Sequence[RegionRow], budget: float | None) -> Chart:
    """Seconds per region in plan order; runaway regions (split or fallback) in red."""
    chart = Chart("Calling time per region", *WIDE, ylabel="seconds", legend=True)
    normal = [(i, r) for i, r in enumerate(regions) if not r.runaway]
    runaway = [(i, r) for i, r in enumerate(regions) if r.runaway]
    dense = len(regions) > MAX_BARS
    _bars(chart, normal, [r.seconds for _, r in normal], NORMAL_COLOUR, "normal", dense, "s")
    if runaway:
        _bars(chart, runaway, [r.seconds for _, r in runaway], RUNAWAY_COLOUR,
              "runaway (split or fallback)", dense, "s", hatch=True)
    if budget:
        chart.hline(budget, "#000000", f"time budget ({budget:g} s)")
    _region_ticks(chart, [r.name for r in regions])
    return chart


def batch_runtimes_figure(batch_seconds: Mapping[str, float],
                          runaway_batches: frozenset[str] = frozenset()) -> Chart:
    """Wall seconds per calling job (batch); batches holding a runaway region in red."""
    chart = Chart("Wall time per calling job (batch)"
                  + ("; red: holds a runaway region" if runaway_batches else ""), *WIDE,
                  ylabel="seconds")
    names = list(batch_seconds)
    chart.bars(range(len(names)), [batch_seconds[n] for n in names],
               [RUNAWAY_COLOUR if n in runaway_batches else NORMAL_COLOUR for n in names],
               "batch wall time",
               tips=[f"{n}: {batch_seconds[n]:,.1f} s" for n in names])
    _region_ticks(chart, names)
    return chart


def work_vs_runtime_figure(regions: Sequence[RegionRow]) -> Chart:
    """Expected work (the plan's weight) against measured seconds, one point per region."""
    chart = Chart("Expected work vs runtime", *SMALL, xlabel="expected work (plan weight)",
                  ylabel="seconds", legend=True)
    def points(chosen: list[RegionRow], colour: str, label: str, marker: str) -> None:
        chart.points([r.weight for r in chosen], [r.seconds for r in chosen], colour, label,
                     marker=marker, tips=[f"{r.name}: weight {r.weight:,.0f}, {r.seconds:,.1f} s"
                                          for r in chosen])

    points([r for r in regions if not r.runaway], NORMAL_COLOUR, "normal", "o")
    if any(r.runaway for r in regions):
        points([r for r in regions if r.runaway], RUNAWAY_COLOUR, "runaway", "x")
    return chart


def variants_per_contig_figure(contig_records: Mapping[str, int], limit: int = 40) -> Chart:
    """Records per contig, in reference order; contigs without records are left out."""
    shown = [(name, count) for name, count in contig_records.items() if count][:limit]
    chart = Chart("Variants per contig", *SMALL, ylabel="records", xtick_rotation=45,
                  xtick_font="small", xlim=(-0.6, len(shown) - 0.4))
    chart.bars(range(len(shown)), [count for _, count in shown], NORMAL_COLOUR, "records",
               tips=[f"{name}: {count:,} records" for name, count in shown])
    chart.xticks = [(i, name) for i, (name, _) in enumerate(shown)]
    return chart


def variants_per_region_figure(regions: Sequence[RegionRow]) -> Chart:
    """Records each region kept, in plan order."""
    chart = Chart("Variants per region", *WIDE, ylabel="records")
    _bars(chart, list(enumerate(regions)), [r.records for r in regions],
          [RUNAWAY_COLOUR if r.runaway else ACCENT_COLOUR for r in regions], "records",
          len(regions) > MAX_BARS, "records")
    _region_ticks(chart, [r.name for r in regions])
    return chart


def histogram_figure(values: Sequence[float], title: str, xlabel: str, bins: int = 40,
                     value_range: tuple[float, float] | None = None,
                     log_counts: bool = False) -> Chart:
    """A histogram of ``values`` (an empty chart with a note when there are none);
    ``log_counts`` for skewed values such as QUAL, where most records sit near zero."""
    chart = Chart(title, *SMALL, xlabel=xlabel, ylabel="records", log_y=log_counts)
    if not values:
        chart.note = "no values"
        return chart
    low, high = value_range if value_range else (min(values), max(values))
    if high <= low:
        low, high = low - 0.5, high + 0.5
    counts = bin_counts(values, bins, low, high)
    width = (high - low) / bins
    edges = [low + i * width for i in range(bins + 1)]
    chart.bars([low + (i + 0.5) * width for i in range(bins)], counts, NORMAL_COLOUR, title,
               width=width, tips=[f"{edges[i]:,.3g} to {edges[i + 1]:,.3g}: {n:,}"
                                  for i, n in enumerate(counts)])
    if value_range:
        chart.xlim = value_range
    return chart


def bin_counts(values: Sequence[float], bins: int, low: float, high: float) -> list[int]:
    """How many values fall in each of ``bins`` equal bins over ``[low, high]``: the last
    bin holds ``high`` itself and values outside the range are not counted (as numpy)."""
    counts = [0] * bins
    scale = bins / (high - low)
    for value in values:
        if low <= value <= high:
            counts[min(int((value - low) * scale), bins - 1)] += 1
    return counts


def per_sample_figure(samples: Sequence[SampleCounts]) -> Chart:
    """Heterozygous, homozygous-alt, indel and singleton counts per sample."""
    series = {
        "het SNPs": [s.hets for s in samples],
        "hom-alt SNPs": [s.nonref_hom for s in samples],
        "indels": [s.indels for s in samples],
        "singletons": [s.singletons for s in samples],
    }
    names = [s.sample for s in samples]
    chart = Chart("Per-sample counts (bcftools stats)", *WIDE, ylabel="count", legend=True,
                  xtick_rotation=45, xtick_font="small", xlim=(-0.5, max(len(names), 1) - 0.5))
    width = 0.8 / len(series)
    dense = len(samples) * len(series) > MAX_BARS  # 1000 Genomes: 2,504 samples
    for offset, ((label, counts), colour) in enumerate(zip(series.items(), SERIES_COLOURS,
                                                           strict=True)):
        positions = [i - 0.4 + (offset + 0.5) * width for i in range(len(samples))]
        if dense:
            chart.vlines(positions, counts, colour, label)
        else:
            chart.bars(positions, counts, colour, label, width=width,
                       tips=[f"{name}: {count:,} {label}"
                             for name, count in zip(names, counts, strict=True)])
    chart.xticks = [(i, name) for i, name in enumerate(names)] \
        if len(names) <= MAX_TICK_LABELS else []
    return chart


def _bars(chart: Chart, rows: Sequence[tuple[int, RegionRow]], heights: Sequence[float],
          colour: str | Sequence[str], label: str, dense: bool, unit: str,
          hatch: bool = False) -> None:
    """One labelled series of regions (by plan position): a bar each, or lines when
    ``dense``."""
    positions = [i for i, _ in rows]
    if dense:
        chart.vlines(positions, heights, colour, label)
    else:
        chart.bars(positions, heights, colour, label, hatch=hatch,
                   tips=[f"{r.name} ({r.span}): {h:,.6g} {unit}" for (_, r), h in zip(rows, heights,
                                                                           strict=True)])


def _region_ticks(chart: Chart, names: Sequence[str]) -> None:
    """Label every bar when few, else about MAX_TICK_LABELS evenly spaced ones."""
    step = max(1, -(-len(names) // MAX_TICK_LABELS))
    chart.xticks = [(i, names[i]) for i in range(0, len(names), step)]
    chart.xtick_rotation, chart.xtick_font = 90, "x-small"
    chart.xlim = (-0.6, len(names) - 0.4)
