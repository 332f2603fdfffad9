"""Region planning: exact tiling, 0-based half-open ownership, odd contig names."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kubecall.errors import KubecallError
from kubecall.pipeline.regions import (
    WINDOW_GRID,
    Interval,
    Region,
    find_region,
    padded_intervals,
    plan_equal,
    read_fai,
    read_plan,
    region_names,
    write_plan,
    write_targets,
)

ODD = "HLA-DRB1*16:02:01"
CONTIGS = [("chr1", 1000), (ODD, 333), ("chrM", 17)]


def covered(regions: list[Region]) -> dict[str, list[int]]:
    """Per contig, how many regions own each base."""
    counts = {name: [0] * length for name, length in CONTIGS}
    for region in regions:
        for interval in region.intervals:
            for pos in range(interval.start, interval.end):
                counts[interval.contig][pos] += 1
    return counts


@pytest.mark.parametrize("count", [1, 2, 3, 16, 1350])
def test_equal_plan_tiles_every_base_exactly_once(count: int) -> None:
    regions = plan_equal(CONTIGS, count)
    assert len(regions) == count
    assert all(all(c == 1 for c in per_base) for per_base in covered(regions).values())
    lengths = [r.length for r in regions]
    assert max(lengths) - min(lengths) <= 1


def test_regions_are_in_reference_order_and_names_sort_the_same_way() -> None:
    regions = plan_equal(CONTIGS, 16)
    order = {name: rank for rank, (name, _) in enumerate(CONTIGS)}
    starts = [(order[r.intervals[0].contig], r.intervals[0].start) for r in regions]
    assert starts == sorted(starts)
    assert [r.name for r in regions] == sorted(r.name for r in regions)


def test_region_crossing_a_contig_end_holds_an_interval_on_each_side() -> None:
    first, second = plan_equal(CONTIGS, 2)
    assert first.intervals == (Interval("chr1", 0, 675),)
    assert second.intervals == (Interval("chr1", 675, 1000), Interval(ODD, 0, 333),
                                Interval("chrM", 0, 17))


def test_ownership_is_half_open() -> None:
    interval = Interval(ODD, 10, 20)
    assert interval.owns(ODD, 10) and interval.owns(ODD, 19)
    assert not interval.owns(ODD, 20) and not interval.owns(ODD, 9)
    assert not interval.owns("chr1", 15)


def test_padded_windows_reach_at_least_padding_out_to_the_grid() -> None:
    lengths = {"chr1": 10 * WINDOW_GRID, ODD: 333}
    region = Region("r", (Interval("chr1", 2 * WINDOW_GRID + 250, 9 * WINDOW_GRID + 500),
                          Interval(ODD, 0, 100)))
    assert padded_intervals(region, 300, lengths) == [
        Interval("chr1", WINDOW_GRID, lengths["chr1"]), Interval(ODD, 0, 333)]
    on_grid = Region("r", (Interval("chr1", 3 * WINDOW_GRID, 4 * WINDOW_GRID),))
    assert padded_intervals(on_grid, 1, lengths) == [
        Interval("chr1", 2 * WINDOW_GRID, 5 * WINDOW_GRID)]
    # windows of nearby cuts coincide: what lets the region-count sweep call each once
    near = [Region("r", (Interval("chr1", 3 * WINDOW_GRID + s, 3 * WINDOW_GRID + s + 100),))
            for s in (400, 500)]
    assert padded_intervals(near[0], 300, lengths) == padded_intervals(near[1], 300, lengths)
    assert padded_intervals(region, 0, lengths) == list(region.intervals)


def test_too_many_regions_is_a_clear_error() -> None:
    with pytest.raises(KubecallError, match="count is 2000 but the reference has only 1350"):
        plan_equal(CONTIGS, 2000)


def test_region_names_sort_in_plan_order_beyond_four_digits() -> None:
    names = region_names(12000)
    assert names[0] == "r00000" and names == sorted(names)


def test_plan_round_trips_odd_names_through_bed(tmp_path: Path) -> None:
    regions = plan_equal(CONTIGS, 5)
    write_plan(regions, tmp_path / "regions.bed")
    assert read_plan(tmp_path / "regions.bed") == regions
    assert find_region(regions, "r0003") == regions[3]
    with pytest.raises(KubecallError, match="'r9999' is not in the region plan"):
        find_region(regions, "r9999")


def test_bad_plan_line_names_file_and_line(tmp_path: Path) -> None:
    plan = tmp_path / "regions.bed"
    plan.write_text("chr1\t0\t10\tr0000\nchr1\t10\n")
    with pytest.raises(KubecallError, match=r"regions.bed:2: expected 4 BED columns"):
        read_plan(plan)


def test_fai_reading_keeps_odd_names(na12878: dict[str, Path]) -> None:
    assert read_fai(Path(f"{na12878['hla_ref']}.fai")) == [(ODD, 12356)]


def test_missing_fai_says_how_to_make_it(tmp_path: Path) -> None:
    with pytest.raises(KubecallError, match="run 'samtools faidx'"):
        read_fai(tmp_path / "ref.fa.fai")


def test_region_strings_select_the_same_reads_as_the_bed(na12878: dict[str, Path],
                                                          tmp_path: Path) -> None:
    """The htslib string (braces) and the BED file both survive ':' and '*' in the name."""
    region = Region("r0000", (Interval(ODD, 3000, 6000),))
    bed = tmp_path / "t.bed"
    write_targets(region.intervals, bed)
    by_string = subprocess.run(
        ["samtools", "view", "-c", str(na12878["hla_bam"]), region.intervals[0].htslib_region()],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    by_bed = subprocess.run(
        ["samtools", "view", "-c", "-L", str(bed), str(na12878["hla_bam"])],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    assert int(by_string) > 100
    assert by_string == by_bed
