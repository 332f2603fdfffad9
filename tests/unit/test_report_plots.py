"""The report's figures hold the series they claim (checked on the charts' series)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubecall.errors import KubecallError
from kubecall.report import plots
from kubecall.report.bcftools_stats import SampleCounts, parse_stats
from kubecall.report.data import RegionRow
from kubecall.report.svg import Chart
from kubecall.report.vcf_summary import Reservoir


def region(name: str, batch: str, seconds: float, how: str = "normal", weight: float = 1.0,
           records: int = 0) -> RegionRow:
    return RegionRow(name, batch, weight, 1000, how, seconds, records, f"c:1-{name}")


REGIONS = [
    region("r0", "b0", 1.5, weight=10, records=7),
    region("r1", "b1", 9.0, "split", weight=12, records=30),
    region("r2", "b0", 2.5, weight=11, records=4),
    region("r3", "b1", 7.0, "fallback", weight=13, records=2),
]


def series(chart: Chart, kind: str = "bars") -> dict[str, list[float]]:
    """Values by series label, for the chart's series of ``kind``."""
    return {s.label: list(s.ys) for s in chart.series if s.kind == kind}


def tick_labels(chart: Chart) -> list[str]:
    return [label for _, label in chart.xticks or []]


def test_region_runtimes_separate_runaway_regions_and_draw_the_budget() -> None:
    chart = plots.region_runtimes_figure(REGIONS, budget=5.0)
    assert series(chart) == {"normal": [1.5, 2.5], "runaway (split or fallback)": [9.0, 7.0]}
    runaway = next(s for s in chart.series if s.label.startswith("runaway"))
    assert list(runaway.xs) == [1, 3]  # plan order
    assert runaway.colours[0] == plots.RUNAWAY_COLOUR and runaway.hatch
    (budget,) = [s for s in chart.series if s.kind == "hline"]
    assert budget.ys == (5.0,) and "budget" in budget.label
    assert tick_labels(chart) == ["r0", "r1", "r2", "r3"]
    assert runaway.tips[0] == "r1 (c:1-r1): 9 s"  # what hovering a bar says


def test_region_runtimes_without_runaways_has_one_series_and_no_budget_line() -> None:
    chart = plots.region_runtimes_figure(REGIONS[::2], budget=None)
    assert series(chart) == {"normal": [1.5, 2.5]}
    assert series(chart, "hline") == {}


def test_many_regions_are_drawn_as_lines_with_a_readable_number_of_tick_labels() -> None:
    many = [region(f"r{i}", "b0", float(i % 7), "split" if i % 100 == 3 else "normal")
            for i in range(1000)]
    chart = plots.region_runtimes_figure(many, None)
    assert series(chart) == {}  # no rectangle per region at this size
    lines = {s.label: list(zip(s.xs, s.ys, strict=True)) for s in chart.series}
    assert len(lines["normal"]) == 990 and len(lines["runaway (split or fallback)"]) == 10
    assert lines["runaway (split or fallback)"][:2] == [(3, 3), (103, 5)]
    assert len(tick_labels(chart)) <= plots.MAX_TICK_LABELS
    records = plots.variants_per_region_figure(many)
    assert [len(s.ys) for s in records.series if s.kind == "lines"] == [1000]


def test_batch_runtimes_colour_batches_holding_a_runaway() -> None:
    chart = plots.batch_runtimes_figure({"b0": 4.0, "b1": 16.0}, frozenset({"b1"}))
    assert series(chart) == {"batch wall time": [4.0, 16.0]}
    assert list(chart.series[0].colours) == [plots.NORMAL_COLOUR, plots.RUNAWAY_COLOUR]


def test_work_vs_runtime_plots_each_region_once() -> None:
    chart = plots.work_vs_runtime_figure(REGIONS)
    points = {s.label: list(zip(s.xs, s.ys, strict=True)) for s in chart.series}
    assert points == {"normal": [(10, 1.5), (11, 2.5)], "runaway": [(12, 9.0), (13, 7.0)]}


def test_variants_per_contig_skips_empty_contigs_in_reference_order() -> None:
    chart = plots.variants_per_contig_figure({"chr1": 5, "chrUn": 0, "HLA-S*01:01": 2})
    assert series(chart) == {"records": [5, 2]}
    assert tick_labels(chart) == ["chr1", "HLA-S*01:01"]


def test_variants_per_region_in_plan_order() -> None:
    assert series(plots.variants_per_region_figure(REGIONS)) == {"records": [7, 30, 4, 2]}


def test_histogram_counts_every_value_and_notes_an_empty_series() -> None:
    chart = plots.histogram_figure([0.1, 0.2, 0.5, 0.55, 0.9], "Allele balance", "AB",
                                   bins=10, value_range=(0.0, 1.0))
    heights = series(chart)["Allele balance"]
    assert len(heights) == 10 and sum(heights) == 5 and heights[5] == 2
    (bars,) = chart.series
    assert bars.xs[0] == pytest.approx(0.05) and bars.width == pytest.approx(0.1)
    empty = plots.histogram_figure([], "QUAL", "QUAL")
    assert series(empty) == {} and empty.note == "no values"


def test_bin_counts_follow_numpy_histogram_at_the_edges() -> None:
    # numpy.histogram's rules: half-open bins, the last one closed, values outside dropped
    assert plots.bin_counts([0.0, 0.25, 0.5, 1.0, 1.5, -0.1], 4, 0.0, 1.0) == [1, 1, 1, 1]
    values = [i / 7 for i in range(100)]
    assert sum(plots.bin_counts(values, 40, min(values), max(values))) == 100


def test_per_sample_figure_has_one_series_per_count() -> None:
    samples = [SampleCounts("A", 10, 3, 5, 4, 4, 1, 20.0, 2, 0),
               SampleCounts("B", 11, 1, 6, 5, 2, 0, 30.0, 0, 4)]
    chart = plots.per_sample_figure(samples)
    assert series(chart) == {"het SNPs": [5, 6], "hom-alt SNPs": [3, 1], "indels": [1, 0],
                             "singletons": [2, 0]}
    # each sample's four bars sit side by side around its tick, not on the next sample's
    centres = sorted(x for s in chart.series for x in s.xs)
    assert all(-0.4 < x < 0.4 for x in centres[:4]) and all(0.6 < x < 1.4 for x in centres[4:])
    assert tick_labels(chart) == ["A", "B"]
    # a cohort's worth of samples: one line per count, no tooltip-carrying bar each
    cohort = [SampleCounts(f"HG{i:05d}", 10, 3, 5, 4, 4, 1, 20.0, 2, 0) for i in range(2504)]
    wide = plots.per_sample_figure(cohort)
    assert {s.kind for s in wide.series} == {"lines"}
    assert [len(s.ys) for s in wide.series] == [2504] * 4 and tick_labels(wide) == []


def test_reservoir_keeps_everything_below_capacity_and_a_fixed_sample_above() -> None:
    small = Reservoir(capacity=10)
    for value in range(5):
        small.add(value)
    assert small.values == [0, 1, 2, 3, 4] and small.seen == 5

    def sample() -> list[float]:
        big = Reservoir(capacity=100, seed=4)
        for value in range(10_000):
            big.add(value)
        return big.values

    first = sample()
    assert len(first) == 100 and first == sample()  # seeded: same file, same picture
    assert max(first) > 5_000  # late values get in, not just the first 100


def test_parse_stats_reads_summary_tstv_and_samples(tmp_path: Path) -> None:
    stats = tmp_path / "stats.txt"
    stats.write_text(
        "# SN\t[2]id\t[3]key\t[4]value\n"
        "SN\t0\tnumber of records:\t323\n"
        "SN\t0\tnumber of SNPs:\t313\n"
        "TSTV\t0\t105\t204\t0.51\t104\t203\t0.51\n"
        "PSC\t0\tS01\t289\t14\t16\t15\t15\t4\t20.5\t3\t0\t0\t7\n"
    )
    parsed = parse_stats(stats)
    assert parsed.count("number of records") == 323 and parsed.count("number of SNPs") == 313
    assert (parsed.ts, parsed.tv, parsed.ts_tv) == (105, 204, 0.51)
    (sample,) = parsed.samples
    assert (sample.sample, sample.hets, sample.nonref_hom, sample.missing) == ("S01", 16, 14, 7)


def test_parse_stats_names_the_file_and_line_of_a_bad_row(tmp_path: Path) -> None:
    stats = tmp_path / "stats.txt"
    stats.write_text("SN\t0\tnumber of records:\t323\nPSC\t0\tS01\tnot-a-number\n")
    with pytest.raises(KubecallError, match=r"stats.txt:2: not a bcftools stats line"):
        parse_stats(stats)


def test_call_summary_round_trips_through_json(tmp_path: Path) -> None:
    from kubecall.report.vcf_summary import CallSetSummary

    qual = Reservoir(capacity=2)
    for value in (5.0, 7.0, 9.0):
        qual.add(value)
    summary = CallSetSummary({"chr1": 3, "HLA-S*01:01": 0}, qual, Reservoir(), Reservoir())
    summary.write_json(tmp_path / "s.json")
    again = CallSetSummary.read_json(tmp_path / "s.json")
    assert again.contig_records == summary.contig_records
    assert (again.qual.values, again.qual.seen) == (qual.values, 3)
    assert again.records == 3 and again.depth.values == []
