"""Calling modes per_group and per_sample: each call set as called alone, then merged."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pysam
import pytest

from kubecall.devtools.concordance import compare_records
from tests.conftest import run_workflow, write_sheet
from tests.workflow.test_fidelity import dataset

pytestmark = pytest.mark.workflow

GROUPS = {"S01": "A", "S02": "A", "S03": "B", "S04": "B", "NA12878": "B"}


def grouped_sheet(tmp: Path) -> tuple[Path, Path, list[tuple[str, str]]]:
    ref, sheet = dataset("demo", tmp)
    rows = [line.split("\t") for line in sheet.read_text().splitlines()[1:]]
    grouped = write_sheet(tmp / "grouped.tsv", [(s, a, GROUPS[s]) for s, a in rows],
                          ("sample", "alignment", "group"))
    return ref, grouped, [(s, a) for s, a in rows]


def test_per_group_calls_each_group_alone_then_merges(tmp_path: Path) -> None:
    ref, sheet, rows = grouped_sheet(tmp_path)
    run = run_workflow(tmp_path / "work", {
        "reference": str(ref), "samples": str(sheet),
        "regions": {"strategy": "equal", "count": 6},
        "calling": {"mode": "per_group", "group_by": "group"}})
    assert run.returncode == 0, run.stderr[-3000:]
    calls = tmp_path / "work/results/calls"
    for group in ("A", "B"):
        bams = [a for s, a in rows if GROUPS[s] == group]
        serial = tmp_path / f"serial-{group}.vcf.gz"
        called = subprocess.run(["freebayes", "-f", str(ref), *bams], capture_output=True,
                                check=True).stdout
        subprocess.run(["bgzip", "-c"], input=called, stdout=serial.open("wb"), check=True)
        comparison = compare_records(serial, calls / f"group-{group}.vcf.gz")
        assert comparison.discordant_sites == 0 and comparison.records_a > 20, group

    with pysam.VariantFile(str(calls / "cohort.vcf.gz")) as merged:
        assert list(merged.header.samples) == list(GROUPS)  # sheet order
    # every sample keeps exactly its group's variant calls (bcftools merge may rewrite an
    # allele's representation where groups spelled the same indel differently, not its POS)
    for sample, group in GROUPS.items():
        assert variant_positions(calls / "cohort.vcf.gz", sample) == variant_positions(
            calls / f"group-{group}.vcf.gz", sample), sample
    # a site group B alone called is missing (not hom-ref) for group A's samples
    a_sites = all_positions(calls / "group-A.vcf.gz")
    with pysam.VariantFile(str(calls / "cohort.vcf.gz")) as merged:
        b_only = [r for r in merged if (r.chrom, r.pos) not in a_sites]
    assert b_only
    assert all(r.samples["S01"]["GT"] in ((None,), (None, None)) for r in b_only)


def variant_positions(vcf: Path, sample: str) -> set[tuple[str, int]]:
    """Where ``sample`` carries a non-reference allele."""
    with pysam.VariantFile(str(vcf)) as calls:
        return {(r.chrom, r.pos) for r in calls
                if any(a not in (None, 0) for a in r.samples[sample]["GT"] or ())}


def all_positions(vcf: Path) -> set[tuple[str, int]]:
    with pysam.VariantFile(str(vcf)) as calls:
        return {(r.chrom, r.pos) for r in calls}


def test_per_sample_makes_one_call_set_per_sample(tmp_path: Path) -> None:
    ref, sheet = dataset("demo", tmp_path)
    run = run_workflow(tmp_path / "work", {
        "reference": str(ref), "samples": str(sheet),
        "regions": {"strategy": "equal", "count": 3},
        "calling": {"mode": "per_sample"}})
    assert run.returncode == 0, run.stderr[-3000:]
    calls = tmp_path / "work/results/calls"
    assert sorted(p.name for p in calls.glob("sample-*.vcf.gz")) == sorted(
        f"sample-{s}.vcf.gz" for s in GROUPS)
    with pysam.VariantFile(str(calls / "cohort.vcf.gz")) as merged:
        assert list(merged.header.samples) == list(GROUPS)
        assert sum(1 for _ in merged) > 100


def test_per_group_without_group_values_is_refused_at_load(tmp_path: Path) -> None:
    ref, sheet = dataset("demo", tmp_path)
    run = run_workflow(tmp_path / "work", {
        "reference": str(ref), "samples": str(sheet),
        "calling": {"mode": "per_group"}})
    assert run.returncode != 0
    assert "have no 'group' value; fill the 'group' column" in run.stderr
    assert not (tmp_path / "work/logs").exists()
