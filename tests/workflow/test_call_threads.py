"""Calling jobs of several threads through the real workflow: fewer batches, each calling
regions in several freebayes at once, and the same records as one freebayes at a time."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import run_workflow
from tests.workflow.test_fidelity import dataset
from tests.workflow.test_scatter import body

pytestmark = pytest.mark.workflow


def test_two_threads_per_calling_job_call_the_same_records(tmp_path: Path) -> None:
    ref, sheet = dataset("demo", tmp_path)
    config = {"reference": str(ref), "samples": str(sheet),
              "regions": {"strategy": "balanced", "count": 12}}
    serial = run_workflow(tmp_path / "serial", config, cores=1)  # 1 batch of 1 thread
    # 2 cores, 2 threads a job: one calling job at a time, so 1 batch (not 4)
    threaded = run_workflow(tmp_path / "threaded", config, "--set-threads", "call_batch=2",
                            cores=2)
    for run in (serial, threaded):
        assert run.returncode == 0, run.stderr[-3000:]
    batches = sorted(p.name for p in (threaded.workdir / "results/calls/cohort/batches")
                     .iterdir())
    assert batches == ["b000"]
    for batch in batches:
        log = (threaded.workdir / f"logs/call_batch/cohort/{batch}.log").read_text()
        assert "regions, 2 freebayes at a time, longest expected first" in log
    reference = body(serial.workdir / "results/calls/cohort.vcf.gz")
    assert len(reference) > 10_000
    assert body(threaded.workdir / "results/calls/cohort.vcf.gz") == reference
    # every region measured on its own: its own CPU seconds and records
    with open(threaded.workdir / "results/qc/region_runtimes.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) == 12 and all(float(row["cpu_seconds"]) > 0 for row in rows)
