"""The bundled demo cohort through the default profile, as `make run` runs it."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pysam
import pytest

from kubecall.pipeline.batching import read_batches
from tests.conftest import REPO

pytestmark = pytest.mark.workflow


def snakemake_in(workdir: Path) -> subprocess.CompletedProcess:
    """The command `make run` runs, in a copy of the repository's config and demo data."""
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
         "--profile", str(REPO / "profiles" / "default"), "--directory", str(workdir),
         "--cores", "2"],
        capture_output=True, text=True, check=False,
    )


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("demo")
    shutil.copytree(REPO / "config", workdir / "config")
    shutil.copytree(REPO / "resources" / "demo", workdir / "resources" / "demo")
    done = snakemake_in(workdir)
    assert done.returncode == 0, done.stderr[-3000:]
    return workdir


def region_records(workdir: Path) -> int:
    total = 0
    for vcf in sorted((workdir / "results/calls/cohort/batches").glob("b*/r*.vcf.gz")):
        with gzip.open(vcf, "rt") as handle:
            total += sum(1 for line in handle if not line.startswith("#"))
    return total


def test_call_set_is_indexed_and_holds_every_region_record(demo_run: Path) -> None:
    vcf = demo_run / "results/calls/cohort.vcf.gz"
    with pysam.VariantFile(str(vcf)) as calls:
        assert list(calls.header.samples) == ["S01", "S02", "S03", "S04", "NA12878"]
        records = list(calls)
        # the index answers region queries on every contig, odd names included
        for contig in ("q", "syn1", "HLA-S*01:01"):
            assert list(calls.fetch(contig)), contig
    assert len(records) == region_records(demo_run) > 100
    contigs = {r.chrom for r in records}
    assert contigs == {"q", "syn1", "HLA-S*01:01"}


def test_stats_count_the_same_records_and_samples(demo_run: Path) -> None:
    stats = (demo_run / "results/stats/cohort.stats.txt").read_text()
    summary = dict(line.split("\t")[2:4] for line in stats.splitlines()
                   if line.startswith("SN\t"))
    assert summary["number of samples:"] == "5"
    assert int(summary["number of records:"]) == region_records(demo_run)


def test_every_rule_leaves_logs_and_benchmarks(demo_run: Path) -> None:
    regions = list((demo_run / "results/calls/cohort/batches").glob("b*/r*.vcf.gz"))
    assert len(regions) == 16
    batches = sorted(p.name for p in (demo_run / "results/calls/cohort/batches").iterdir())
    assert batches == ["b000", "b001", "b002", "b003"]  # twice the 2 cores
    plan = read_batches(demo_run / "results/regions/batches.tsv")
    for batch in batches:
        log = (demo_run / f"logs/call_batch/cohort/{batch}.log").read_text()
        # kubecall's lines, and each region's freebayes stderr under its command
        assert "freebayes at a time, longest expected first" in log
        headings = sorted(line.split(":")[0] for line in log.splitlines()
                          if line.startswith("# region ") and ": freebayes -f " in line)
        assert headings == sorted(f"# region {row['region']}"
                                  for row in plan if row["batch"] == batch)
        header = (demo_run / f"benchmarks/call_batch/cohort/{batch}.tsv").read_text().split("\t")
        assert header[0] == "s"
    for name in ("preflight_cohort", "plan_regions", "merge_calls/cohort",
                 "summarize_regions", "compute_stats", "describe_run"):
        assert (demo_run / f"benchmarks/{name}.tsv").exists()
        assert (demo_run / f"logs/{name}.log").exists()


def test_cram_sample_was_called(demo_run: Path) -> None:
    """NA12878 is the CRAM sample; it has reads (and so genotypes) on contig q only."""
    with pysam.VariantFile(str(demo_run / "results/calls/cohort.vcf.gz")) as calls:
        called = [r for r in calls.fetch("q") if r.samples["NA12878"]["GT"] != (None, None)]
        elsewhere = [r for r in calls.fetch("syn1")
                     if r.samples["NA12878"]["GT"] not in ((None,), (None, None))]
    assert len(called) > 100
    assert elsewhere == []


def test_second_run_does_nothing(demo_run: Path) -> None:
    again = snakemake_in(demo_run)
    assert again.returncode == 0
    assert "Nothing to be done" in again.stdout + again.stderr
