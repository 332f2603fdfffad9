"""Per-region calling with real freebayes: ownership, odd contig names, silent failures."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from kubecall.calling import call_region, parse_extra, write_owned_records
from kubecall.errors import KubecallError
from kubecall.regions import Interval, Region, plan_equal, read_fai, write_plan

ODD = "HLA-DRB1*16:02:01"


def records(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt") as handle:
        return [line.split("\t") for line in handle if not line.startswith("#")]


def setup_call(ref: Path, bam: Path, tmp: Path, count: int) -> tuple[Path, Path]:
    manifest = tmp / "alignments.txt"
    manifest.write_text(f"{bam}\n")
    plan = tmp / "regions.bed"
    write_plan(plan_equal(read_fai(Path(f"{ref}.fai")), count), plan)
    return manifest, plan


def test_region_on_odd_contig_keeps_only_its_records(na12878: dict[str, Path],
                                                     tmp_path: Path) -> None:
    manifest, plan = setup_call(na12878["hla_ref"], na12878["hla_bam"], tmp_path, 3)
    out = tmp_path / "r0001.vcf.gz"
    result = call_region(na12878["hla_ref"], manifest, plan, "r0001", out, tmp_path / "fb.log")
    rows = records(out)
    assert rows and result.records_kept == len(rows)
    assert all(row[0] == ODD and 4118 < int(row[1]) <= 8237 for row in rows)
    assert not list(tmp_path.glob("*.partial")) and not list(tmp_path.glob("*.targets.bed"))


def test_records_outside_the_region_are_dropped(tmp_path: Path) -> None:
    region = Region("r0000", (Interval("a", 10, 20), Interval("b", 0, 5)))
    lines = ["##fileformat=VCFv4.2\n", "#CHROM\tPOS\n", "a\t10\tx\n", "a\t11\tx\n",
             "a\t20\tx\n", "a\t21\tx\n", "b\t5\tx\n", "b\t6\tx\n"]
    kept, dropped = write_owned_records(lines, region, tmp_path / "o.vcf.gz")
    assert (kept, dropped) == (3, 3)
    assert [r[:2] for r in records(tmp_path / "o.vcf.gz")] == [["a", "11"], ["a", "20"],
                                                                ["b", "5"]]


def test_missing_index_fails_although_freebayes_exits_zero(na12878: dict[str, Path],
                                                           tmp_path: Path) -> None:
    bam = tmp_path / "noindex.bam"
    shutil.copy(na12878["bam"], bam)
    manifest, plan = setup_call(na12878["ref"], bam, tmp_path, 2)
    out = tmp_path / "r0000.vcf.gz"
    with pytest.raises(KubecallError, match=r"freebayes failed on region r0000 \(\{q\}:1-6178\): "
                                            r".*(ERROR\(freebayes\)|\[E::).*full stderr in"):
        call_region(na12878["ref"], manifest, plan, "r0000", out, tmp_path / "fb.log")
    assert "ERROR(freebayes)" in (tmp_path / "fb.log").read_text()
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


def test_truncated_input_fails_the_job(na12878: dict[str, Path], tmp_path: Path) -> None:
    bam = tmp_path / "cut.bam"
    bam.write_bytes(na12878["bam"].read_bytes()[:150_000])
    shutil.copy(f"{na12878['bam']}.bai", f"{bam}.bai")
    manifest, plan = setup_call(na12878["ref"], bam, tmp_path, 1)
    with pytest.raises(KubecallError, match="EOF marker is absent|exit status"):
        call_region(na12878["ref"], manifest, plan, "r0000", tmp_path / "o.vcf.gz",
                    tmp_path / "fb.log")


def test_extra_arguments_are_passed_and_reserved_ones_refused() -> None:
    assert parse_extra("--min-alternate-count 3 --ploidy=2") == [
        "--min-alternate-count", "3", "--ploidy=2"]
    for bad in ("-r q:1-10", "--region=q", "-f other.fa", "--targets t.bed", "-L x"):
        with pytest.raises(KubecallError, match="is set by the workflow"):
            parse_extra(bad)
    with pytest.raises(KubecallError, match="cannot parse"):
        parse_extra("--foo 'unclosed")


def test_extra_arguments_change_the_calls(na12878: dict[str, Path], tmp_path: Path) -> None:
    manifest, plan = setup_call(na12878["ref"], na12878["bam"], tmp_path, 1)
    default = call_region(na12878["ref"], manifest, plan, "r0000", tmp_path / "a.vcf.gz",
                          tmp_path / "a.log")
    strict = call_region(na12878["ref"], manifest, plan, "r0000", tmp_path / "b.vcf.gz",
                         tmp_path / "b.log", extra="--min-alternate-count 12")
    assert default.records_kept == 154
    assert 0 < strict.records_kept < default.records_kept
