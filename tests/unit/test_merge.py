"""Merging region VCFs: the plan's order is checked, files are joined as they are, the index
works; a file out of order or in another sample order is refused and nothing is left."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kubecall.errors import KubecallError
from kubecall.pipeline.calling import CallSettings, call_region
from kubecall.pipeline.merge import check_sorted_unique, merge_region_vcfs
from kubecall.pipeline.regions import Interval, Region, plan_equal, read_fai

ORDER = ["q", "HLA-DRB1*16:02:01"]


def test_sorted_unique_accepts_multiallelic_neighbours() -> None:
    lines = ["q\t5\tA\tC", "q\t5\tA\tG", "q\t9\tAT\tA", "HLA-DRB1*16:02:01\t1\tC\tT"]
    assert check_sorted_unique(lines, ORDER) == 4


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (["q\t9\tA\tC", "q\t5\tA\tC"], r"out of order at q:5"),
        (["HLA-DRB1*16:02:01\t1\tC\tT", "q\t5\tA\tC"], r"out of order at q:5"),
        (["q\t5\tA\tC", "q\t5\tA\tG", "q\t5\tA\tC"], r"q:5 A>C twice"),
        (["chrX\t5\tA\tC"], r"contig 'chrX', absent from the reference"),
    ],
)
def test_sorted_unique_rejects(lines: list[str], expected: str) -> None:
    with pytest.raises(KubecallError, match=expected):
        check_sorted_unique(lines, ORDER)


def test_merge_of_real_regions_is_indexed_and_complete(na12878: dict[str, Path],
                                                       tmp_path: Path) -> None:
    ref = na12878["hla_ref"]
    manifest = tmp_path / "alignments.txt"
    manifest.write_text(f"{na12878['hla_bam']}\n")
    contigs = read_fai(Path(f"{ref}.fai"))
    settings = CallSettings(ref, manifest)
    parts = []
    total = 0
    for region in plan_equal(contigs, 4):
        out = tmp_path / f"{region.name}.vcf.gz"
        total += call_region(region, dict(contigs), settings, out,
                             tmp_path / f"{region.name}.log").records
        parts.append((region, out))
    merged = tmp_path / "cohort.vcf.gz"
    (tmp_path / "samples.txt").write_text("1\n")
    count = merge_region_vcfs(parts, merged, [c for c, _ in contigs], tmp_path / "samples.txt",
                              tmp_path / "work")
    assert count == total == 154
    assert Path(f"{merged}.tbi").stat().st_mtime >= merged.stat().st_mtime
    window = subprocess.run(["tabix", str(merged), "{HLA-DRB1*16:02:01}:3000-6000"],
                            capture_output=True, text=True, check=True).stdout.splitlines()
    assert window and all(3000 <= int(line.split("\t")[1]) <= 6000 for line in window)
    assert not list(tmp_path.glob("*.partial*"))


HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=q,length=100000>\n"
          "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
          "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t{samples}\n")


def region_vcf(path: Path, positions: list[int], samples: str = "S1\tS2") -> Path:
    """A bgzipped region VCF as call_batch writes one (pysam's BGZF), records at
    ``positions`` in the order given."""
    import pysam

    with pysam.BGZFile(str(path), "wb") as out:
        out.write((HEADER.format(samples=samples) + "".join(
            f"q\t{pos}\t.\tA\tC\t50\t.\t.\tGT\t0/1\t0/0\n" for pos in positions)).encode())
    return path


def test_regions_that_overlap_in_the_plan_are_refused_before_anything_is_written(
        tmp_path: Path) -> None:
    """Joined as they are, two regions owning one position could both hold a record there:
    the plan's intervals must be disjoint and in reference order."""
    (tmp_path / "samples.txt").write_text("S1\nS2\n")
    plans = {"overlap": [Region("r0", (Interval("q", 0, 10),)),
                         Region("r1", (Interval("q", 8, 20),))],
             "out of order": [Region("r0", (Interval("q", 10, 20),)),
                              Region("r1", (Interval("q", 0, 10),))],
             "unknown contig": [Region("r0", (Interval("chrX", 0, 10),))]}
    messages = {"overlap": r"region r1 \(\{q\}:9-20\) overlaps or precedes",
                "out of order": r"region r1 \(\{q\}:1-10\) overlaps or precedes",
                "unknown contig": r"region r0 is on contig 'chrX', absent from the reference"}
    for name, regions in plans.items():
        parts = [(region, region_vcf(tmp_path / f"{region.name}.vcf.gz", []))
                 for region in regions]
        merged = tmp_path / "cohort.vcf.gz"
        with pytest.raises(KubecallError, match=messages[name]):
            merge_region_vcfs(parts, merged, ["q"], tmp_path / "samples.txt", tmp_path / "work")
        assert not list(tmp_path.glob("cohort.vcf.gz*")), name


def test_a_region_vcf_out_of_order_fails_and_leaves_nothing(tmp_path: Path) -> None:
    """A file call_batch did not write (its records out of order) is refused by the index
    built over every record's position; neither the call set nor its parts are left."""
    (tmp_path / "samples.txt").write_text("S1\nS2\n")
    parts = [(Region("r0", (Interval("q", 0, 50),)), region_vcf(tmp_path / "r0.vcf.gz", [5, 9])),
             (Region("r1", (Interval("q", 50, 100),)),
              region_vcf(tmp_path / "r1.vcf.gz", [80, 60]))]
    merged = tmp_path / "cohort.vcf.gz"
    with pytest.raises(KubecallError, match=r"tabix -f failed: .*[Uu]nsorted positions"):
        merge_region_vcfs(parts, merged, ["q"], tmp_path / "samples.txt", tmp_path / "work")
    assert not list(tmp_path.glob("cohort.vcf.gz*"))


@pytest.mark.parametrize(("first", "second", "expected"), [
    ("S2\tS1", "S2\tS1", r"list samples in another order than .*samples.txt"),
    ("S1\tS2", "S2\tS1", r"bcftools concat failed: .*different samples.*rerun calling"),
])
def test_region_vcfs_in_another_sample_order_are_refused(
        tmp_path: Path, first: str, second: str, expected: str) -> None:
    """Region files are joined without reading their records, so their sample columns must
    already be the sheet's: a file in freebayes' own order (an earlier kubecall's) stops the
    merge, which says to call again."""
    (tmp_path / "samples.txt").write_text("S1\nS2\n")
    parts = [(Region("r0", (Interval("q", 0, 50),)),
              region_vcf(tmp_path / "r0.vcf.gz", [5], first)),
             (Region("r1", (Interval("q", 50, 100),)),
              region_vcf(tmp_path / "r1.vcf.gz", [60], second))]
    merged = tmp_path / "cohort.vcf.gz"
    with pytest.raises(KubecallError, match=expected):
        merge_region_vcfs(parts, merged, ["q"], tmp_path / "samples.txt", tmp_path / "work")
    assert not list(tmp_path.glob("cohort.vcf.gz*"))


def test_merge_of_many_regions_does_not_stall_on_concat_progress(tmp_path: Path) -> None:
    """bcftools concat writes a line per input to stderr; with enough regions (here ~100 KiB
    of it, past a pipe's 64 KiB) a merge that read it only at the end would wait forever."""
    import threading

    folder = tmp_path / ("long-region-directory-" * 8)
    folder.mkdir()
    parts = [(Region(f"r{index:04d}", (Interval("q", index, index + 1),)),
              region_vcf(folder / f"r{index:04d}.vcf.gz", [index + 1]))
             for index in range(350)]
    (tmp_path / "samples.txt").write_text("S1\nS2\n")
    merged = tmp_path / "cohort.vcf.gz"
    counted: list[int] = []
    merge = threading.Thread(target=lambda: counted.append(merge_region_vcfs(
        parts, merged, ["q"], tmp_path / "samples.txt", tmp_path / "work")), daemon=True)
    merge.start()
    merge.join(timeout=120)
    assert not merge.is_alive(), "the merge stalled (bcftools concat blocked on its stderr)"
    assert counted == [350]
    positions = subprocess.run(["bcftools", "query", "-f", "%POS\n", str(merged)],
                               capture_output=True, text=True, check=True).stdout.split()
    assert positions == [str(index + 1) for index in range(350)]
