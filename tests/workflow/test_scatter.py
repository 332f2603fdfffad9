"""Scatter on the demo cohort: deterministic records, the runaway guard, target BEDs."""

from __future__ import annotations

import csv
import gzip
import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, run_workflow
from tests.workflow.test_fidelity import dataset

pytestmark = pytest.mark.workflow


def body(vcf: Path) -> bytes:
    """Every record line, byte for byte (headers carry dates and command lines)."""
    with gzip.open(vcf, "rb") as handle:
        return b"".join(line for line in handle if not line.startswith(b"#"))


def table(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_records_are_identical_whatever_cores_batches_or_retries(tmp_path: Path) -> None:
    ref, sheet = dataset("demo", tmp_path)
    config = {"reference": str(ref), "samples": str(sheet),
              "regions": {"strategy": "balanced", "count": 12}}
    one = run_workflow(tmp_path / "one", config, cores=1)  # auto: 1 batch (1 job at a time)
    two = run_workflow(tmp_path / "two", config, cores=2)  # auto: 4 batches
    fixed = run_workflow(tmp_path / "fixed", config | {"regions": config["regions"] |
                                                        {"batches": 7}})
    for run in (one, two, fixed):
        assert run.returncode == 0, run.stderr[-3000:]
    batches = [len(list((r.workdir / "results/calls/cohort/batches").iterdir()))
               for r in (one, two, fixed)]
    assert batches == [1, 4, 7]
    reference = body(one.workdir / "results/calls/cohort.vcf.gz")
    assert len(reference) > 10_000
    assert body(two.workdir / "results/calls/cohort.vcf.gz") == reference
    assert body(fixed.workdir / "results/calls/cohort.vcf.gz") == reference

    # a retried job (its output lost, run again) changes nothing either
    shutil.rmtree(two.workdir / "results/calls/cohort/batches/b001")
    again = run_workflow(tmp_path / "two", config, cores=2)
    assert again.returncode == 0, again.stderr[-3000:]
    assert body(two.workdir / "results/calls/cohort.vcf.gz") == reference


def test_tiny_time_budget_triggers_the_runaway_guard(tmp_path: Path) -> None:
    ref, sheet = dataset("demo", tmp_path)
    config = {"reference": str(ref), "samples": str(sheet),
              "regions": {"strategy": "equal", "count": 4},
              "calling": {"region_time_budget": 0.001}}
    run = run_workflow(tmp_path / "work", config)
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "work" / "results"
    runaways = table(results / "qc/runaway_regions.tsv")
    assert [row["region"] for row in runaways] == ["r0000", "r0001", "r0002", "r0003"]
    assert {row["how"] for row in runaways} == {"fallback"}
    assert {row["budget_s"] for row in runaways} == {"0.001"}
    runtimes = table(results / "qc/region_runtimes.tsv")
    assert sum(int(row["records"]) for row in runtimes) > 200
    log = "".join(p.read_text() for p in (tmp_path / "work/logs/call_batch").rglob("*.log"))
    assert "--use-best-n-alleles 4 --limit-coverage 250" in log


def test_bed_strategy_calls_only_the_targets(tmp_path: Path) -> None:
    ref, sheet = dataset("demo", tmp_path)
    targets = tmp_path / "targets.bed"
    targets.write_text("q\t1000\t4000\nHLA-S*01:01\t2000\t9000\nq\t3000\t6000\n")
    config = {"reference": str(ref), "samples": str(sheet),
              "regions": {"strategy": "bed", "count": 8, "targets": str(targets)}}
    run = run_workflow(tmp_path / "work", config)
    assert run.returncode == 0, run.stderr[-3000:]
    plan = (tmp_path / "work/results/regions/regions.bed").read_text().splitlines()
    assert [line.split("\t")[:3] for line in plan] == [["q", "1000", "6000"],
                                                       ["HLA-S*01:01", "2000", "9000"]]
    with gzip.open(tmp_path / "work/results/calls/cohort.vcf.gz", "rt") as handle:
        sites = [line.split("\t")[:2] for line in handle if not line.startswith("#")]
    assert sites
    inside = {"q": (1000, 6000), "HLA-S*01:01": (2000, 9000)}
    assert all(inside[c][0] < int(p) <= inside[c][1] for c, p in sites)


def test_bad_targets_are_refused_before_calling(tmp_path: Path) -> None:
    ref, sheet = dataset("demo", tmp_path)
    targets = tmp_path / "targets.bed"
    targets.write_text("chr99\t0\t100\n")
    config = {"reference": str(ref), "samples": str(sheet),
              "regions": {"strategy": "bed", "targets": str(targets)}}
    run = run_workflow(tmp_path / "work", config)
    assert run.returncode != 0
    assert "targets.bed:1: contig 'chr99' is not in the reference" in run.stderr
    assert not run.call_jobs_ran
    missing = run_workflow(tmp_path / "work2", config | {"regions": {"strategy": "bed"}})
    assert "regions.strategy is bed but regions.targets is empty" in missing.stderr


def test_repository_demo_uses_the_balanced_default() -> None:
    assert "strategy: balanced" in (REPO / "config/config.yaml").read_text()
