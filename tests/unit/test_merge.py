"""Merging region VCFs: order and uniqueness are checked, the index works."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kubecall.errors import KubecallError
from kubecall.pipeline.calling import CallSettings, call_region
from kubecall.pipeline.merge import check_sorted_unique, merge_region_vcfs
from kubecall.pipeline.regions import plan_equal, read_fai

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
        parts.append(out)
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


def test_merge_of_regions_claiming_one_record_fails_and_leaves_nothing(tmp_path: Path) -> None:
    """The check reads the merged file's sites as bcftools lists them; a record two regions
    wrote stops the merge there, and neither the file nor its parts are left behind."""
    header = ("##fileformat=VCFv4.2\n##contig=<ID=q,length=100>\n"
              "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n")
    parts = []
    for name, positions in (("r0", [5, 9]), ("r1", [9, 20])):
        plain = tmp_path / f"{name}.vcf"
        plain.write_text(header + "".join(f"q\t{pos}\t.\tA\tC\t50\t.\t.\tGT\t0/1\n"
                                          for pos in positions))
        subprocess.run(["bgzip", "-f", str(plain)], check=True)
        parts.append(Path(f"{plain}.gz"))
    (tmp_path / "samples.txt").write_text("S1\n")
    merged = tmp_path / "cohort.vcf.gz"
    with pytest.raises(KubecallError, match=r"q:9 A>C twice"):
        merge_region_vcfs(parts, merged, ["q"], tmp_path / "samples.txt", tmp_path / "work")
    assert not merged.exists() and not list(tmp_path.glob("cohort.vcf.gz*"))


def test_merge_of_many_regions_does_not_stall_on_concat_progress(tmp_path: Path) -> None:
    """bcftools concat writes a line per input to stderr; with enough regions (here ~100 KiB
    of it, past a pipe's 64 KiB) a merge that read it only at the end would wait forever."""
    import threading

    import pysam

    header = ("##fileformat=VCFv4.2\n##contig=<ID=q,length=100000>\n"
              "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">\n"
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n")
    folder = tmp_path / ("long-region-directory-" * 8)
    folder.mkdir()
    parts = []
    for index in range(350):
        part = folder / f"r{index:04d}.vcf.gz"
        with pysam.BGZFile(str(part), "wb") as out:
            out.write(f"{header}q\t{index + 1}\t.\tA\tC\t50\t.\t.\tGT\t0/1\n".encode())
        parts.append(part)
    (tmp_path / "samples.txt").write_text("S1\n")
    merged = tmp_path / "cohort.vcf.gz"
    counted: list[int] = []
    merge = threading.Thread(target=lambda: counted.append(merge_region_vcfs(
        parts, merged, ["q"], tmp_path / "samples.txt", tmp_path / "work")), daemon=True)
    merge.start()
    merge.join(timeout=120)
    assert not merge.is_alive(), "the merge stalled (bcftools concat blocked on its stderr)"
    assert counted == [350]
