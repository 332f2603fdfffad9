"""Region strategies and batching: index data read right, balance, snapping, targets."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pysam
import pytest

from kubecall.devtools.simulate import SimulationParams, simulate_cohort
from kubecall.errors import KubecallError
from kubecall.pipeline.batching import (
    assign_batches,
    batch_names,
    default_batch_count,
    read_batch_regions,
    write_batches,
)
from kubecall.pipeline.index_weights import WINDOW, cohort_weights, read_index_weights
from kubecall.pipeline.planning import (
    WeightedRegion,
    find_n_gaps,
    make_plan,
    plan_balanced,
    plan_targets,
    read_targets,
)
from kubecall.pipeline.regions import Interval, Region, read_fai


@pytest.fixture(scope="module")
def uneven(tmp_path_factory: pytest.TempPathFactory):
    """Two samples with strongly uneven coverage and an N gap in each contig."""
    out = tmp_path_factory.mktemp("uneven")
    files = simulate_cohort(out, SimulationParams(samples=2, length=240_000, depth=8, seed=11,
                                                  contigs=2, uneven=True, n_gap=3000))
    bam = files.samples[0].alignment
    subprocess.run(["samtools", "index", "-c", str(bam), f"{bam}.csi"], check=True)
    cram = out / "S1.cram"
    # small slices, so that this small CRAM has as many index entries per window as a
    # whole-genome CRAM (10,000 reads a slice) has per megabase
    subprocess.run(["samtools", "view", "-C", "-T", str(files.reference), "--output-fmt-option",
                    "seqs_per_slice=300", "-o", str(cram), str(bam)], check=True)
    subprocess.run(["samtools", "index", str(cram)], check=True)
    return files, cram


def reads_per_window(bam: Path, contig: str, windows: int) -> list[int]:
    with pysam.AlignmentFile(str(bam)) as handle:
        return [handle.count(contig, i * WINDOW, (i + 1) * WINDOW) for i in range(windows)]


@pytest.mark.parametrize("kind", ["bai", "csi", "crai"])
def test_index_data_follows_read_counts(kind: str, uneven) -> None:
    files, cram = uneven
    bam = files.samples[0].alignment
    index = {"bai": Path(f"{bam}.bai"), "csi": Path(f"{bam}.csi"), "crai": Path(f"{cram}.crai")}
    contigs = [name for name, _ in files.contigs]
    weights = read_index_weights(index[kind], contigs)
    for contig, length in files.contigs:
        counts = reads_per_window(bam, contig, (length + WINDOW - 1) // WINDOW)
        data = weights[contig]
        # the data of the busiest and the quietest thirds rank like their read counts
        busy = sorted(range(len(counts)), key=counts.__getitem__)
        third = len(busy) // 3
        quiet_reads = sum(counts[i] for i in busy[:third])
        busy_reads = sum(counts[i] for i in busy[-third:])
        quiet_data = sum(data[i] for i in busy[:third] if i < len(data))
        busy_data = sum(data[i] for i in busy[-third:] if i < len(data))
        assert busy_reads > 3 * quiet_reads
        assert busy_data > 2 * quiet_data, (kind, contig)
        if kind == "bai":  # the linear index resolves every window: totals agree closely
            share = [d / sum(data) for d in data]
            reads = [c / sum(counts) for c in counts]
            assert max(abs(a - b) for a, b in zip(share, reads, strict=False)) < 0.03


def test_wrong_index_is_a_clear_error(tmp_path: Path) -> None:
    fake = tmp_path / "x.bam.bai"
    fake.write_bytes(b"TBI\x01" + bytes(8))
    with pytest.raises(KubecallError, match="x.bam.bai: not a BAI index"):
        read_index_weights(fake, ["a"])


def test_balanced_regions_carry_equal_data_on_uneven_coverage(uneven) -> None:
    files, _ = uneven
    pairs = [(s.alignment, s.index) for s in files.samples]
    contigs = list(files.contigs)
    balanced = make_plan("balanced", 12, contigs, files.reference, pairs)
    equal = make_plan("equal", 12, contigs, files.reference, pairs)

    def reads(region: Region) -> int:
        total = 0
        with pysam.AlignmentFile(str(pairs[0][0])) as handle:
            for i in region.intervals:
                total += handle.count(i.contig, i.start, i.end)
        return total

    def spread(plan: list[WeightedRegion]) -> float:
        counts = [reads(item.region) for item in plan]
        return max(counts) / (sum(counts) / len(counts))

    print(f"max/mean reads per region: balanced {spread(balanced):.2f}, "
          f"equal {spread(equal):.2f}")
    assert spread(balanced) < 1.35 < spread(equal)
    covered = sum(item.region.length for item in balanced)
    assert covered == sum(length for _, length in contigs)


def test_n_gaps_are_found(uneven) -> None:
    files, _ = uneven
    gaps = find_n_gaps(files.reference, list(files.contigs))
    assert len(gaps) == 2 and all(end - start == 3000 for _, start, end in gaps)


def test_cuts_snap_to_contig_ends_and_n_gaps_when_near() -> None:
    contigs = [("a", 100_000), ("b", 100_000)]
    # the same data per base everywhere (the last window of each contig is short)
    flat = {name: [min(WINDOW, length - start) / 100 for start in range(0, length, WINDOW)]
            for name, length in contigs}
    # ideal cuts every 25,000 bases; each may move 10% of a region's weight (2,500 bases)
    gaps = [("a", 26_000, 26_500), ("b", 77_400, 77_800)]
    plan = plan_balanced(contigs, flat, 8, gaps)
    ends = [(item.region.intervals[-1].contig, item.region.intervals[-1].end)
            for item in plan[:-1]]
    assert ("a", 100_000) in ends  # the contig end, exactly
    assert ("a", 26_250) in ends  # a gap within reach: cut in its middle
    assert ("b", 75_000) in ends  # b's gap is 2,600 bp from the ideal cut: too far
    weights = [item.weight for item in plan]
    assert max(weights) / (sum(weights) / len(weights)) < 1.1


def test_targets_are_checked_merged_and_grouped(tmp_path: Path) -> None:
    contigs = [("chr1", 1000), ("HLA-X*01:01", 500)]
    bed = tmp_path / "t.bed"
    bed.write_text("track name=x\nHLA-X*01:01\t10\t20\nchr1\t100\t200\tgene\n"
                   "chr1\t150\t300\nchr1\t500\t600\n")
    targets = read_targets(bed, contigs)
    assert targets == [Interval("chr1", 100, 300), Interval("chr1", 500, 600),
                       Interval("HLA-X*01:01", 10, 20)]
    plan = plan_targets(targets, 2)
    assert [item.region.intervals for item in plan] == [
        (Interval("chr1", 100, 300),),
        (Interval("chr1", 500, 600), Interval("HLA-X*01:01", 10, 20)),
    ]
    assert len(plan_targets(targets, 10)) == 3  # at most one region per target
    for text, message in [("chrX\t1\t5\n", "contig 'chrX' is not in the reference"),
                          ("chr1\t5\t2000\n", "beyond the end of chr1"),
                          ("chr1 5 10\n", "expected tab-separated")]:
        bed.write_text(text)
        with pytest.raises(KubecallError, match=f"t.bed:1: .*{message}"):
            read_targets(bed, contigs)


def test_batches_balance_work_longest_first() -> None:
    weights = [90, 50, 40, 40, 30, 20, 10, 10, 5, 5]
    plan = [WeightedRegion(Region(f"r{i:04d}", (Interval("c", i, i + 1),)), float(w))
            for i, w in enumerate(weights)]
    assignment = assign_batches(plan, 3)
    loads = {name: 0.0 for name in batch_names(3)}
    for item in plan:
        loads[assignment[item.region.name]] += item.weight
    assert sorted(loads.values()) == [100.0, 100.0, 100.0]
    assert assign_batches(plan, 3) == assignment  # deterministic
    assert batch_names(1200)[0] == "b0000"


def test_default_batches_are_twice_the_jobs_at_once_or_one_job_of_every_core() -> None:
    assert default_batch_count(32, threads=2, jobs_at_once=1) == 1  # local: every core
    assert default_batch_count(32, threads=1, jobs_at_once=2) == 4
    assert default_batch_count(3000, threads=4, jobs_at_once=100) == 200  # a cluster
    assert default_batch_count(32, threads=4, jobs_at_once=100) == 8  # a region a thread
    assert default_batch_count(1, threads=4, jobs_at_once=100) == 1


def test_a_batch_reads_its_regions_back_whole_from_the_batches_table(tmp_path: Path) -> None:
    # a region across a contig end, and contig names with colons (HLA alleles)
    plan = [WeightedRegion(Region("r0000", (Interval("chr1", 0, 500),)), 12.0),
            WeightedRegion(Region("r0001", (Interval("chr1", 500, 900),
                                            Interval("HLA-A*01:01:01:01", 0, 80))), 9.5),
            WeightedRegion(Region("r0002", (Interval("HLA-A*01:01:01:01", 80, 3000),)), 3.0)]
    table = tmp_path / "batches.tsv"
    write_batches(plan, {"r0000": "b000", "r0001": "b001", "r0002": "b000"}, table)
    assert read_batch_regions(table, "b000") == [(plan[0].region, 12.0), (plan[2].region, 3.0)]
    assert read_batch_regions(table, "b001") == [(plan[1].region, 9.5)]
    assert read_batch_regions(table, "b002") == []
    table.write_text("region\tbatch\tweight\tbases\nr0000\tb000\t12.0\t500\n")  # an old plan
    with pytest.raises(KubecallError, match=r"batches.tsv:2: .*rerun plan_regions"):
        read_batch_regions(table, "b000")


def test_cohort_weights_sample_the_cohort(uneven) -> None:
    files, _ = uneven
    pairs = [(s.alignment, s.index) for s in files.samples]
    both = cohort_weights(pairs, files.reference, 32)
    one = cohort_weights(pairs, files.reference, 1)
    contig = files.contigs[0][0]
    assert sum(both[contig]) > 1.5 * sum(one[contig])
    assert read_fai(Path(f"{files.reference}.fai"))[0][0] == contig
