"""The demo cohort through profiles/slurm on a real one-node SLURM cluster.

Skipped only when SLURM cannot run here (slurm-wlm/munge not installed, not root, or the
daemons do not start), with the reason; CI installs slurm-wlm and munge, so it runs there.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pysam
import pytest

from tests.conftest import REPO
from tests.support.slurm import Cluster, ClusterUnavailable, start_cluster, stop_cluster

pytestmark = pytest.mark.slurm


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    try:
        running = start_cluster(tmp_path_factory.mktemp("slurm"))
    except ClusterUnavailable as exc:
        pytest.skip(f"SLURM cannot run here: {exc}")
    try:
        yield running
    finally:
        stop_cluster(running)


def demo_workdir(root: Path) -> Path:
    """A copy of the repository's config and demo data, as `make run` sees them."""
    shutil.copytree(REPO / "config", root / "config")
    shutil.copytree(REPO / "resources" / "demo", root / "resources" / "demo")
    return root


def snakemake(workdir: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
            "--directory", str(workdir), *args]


def records(vcf: Path) -> int:
    with pysam.VariantFile(str(vcf)) as calls:
        return sum(1 for _ in calls)


def test_demo_cohort_runs_through_slurm(cluster: Cluster, tmp_path: Path) -> None:
    local_dir = demo_workdir(tmp_path / "local")
    slurm_dir = demo_workdir(tmp_path / "slurm")
    # The local reference run waits on the CPU while the SLURM run mostly waits on polling:
    # run them side by side.
    local = subprocess.Popen(snakemake(local_dir, "--profile", str(REPO / "profiles/local"),
                                       "--cores", "1", "--quiet", "rules"),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Hang guards, not speeds: a 2-core machine under load average 40 took over 600 s.
        done = subprocess.run(
            snakemake(
                slurm_dir, "--profile", str(REPO / "profiles" / "slurm"),
                # profiles/default sits next to the Snakefile and would be merged in on top
                "--workflow-profile", "none",
                # no slurmdbd here, so sacct cannot answer: squeue (MinJobAge=600) does
                "--slurm-status-command", "squeue",
                # a test cluster answers at once; real ones want the plugin's 40 s default
                "--slurm-init-seconds-before-status-checks", "1",
            ),
            capture_output=True, text=True, env=cluster.env, check=False, timeout=1800,
        )
        local_output, _ = local.communicate(timeout=1800)
    finally:
        if local.poll() is None:
            local.kill()
            local.communicate()
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:] + cluster.logs()
    assert local.returncode == 0, local_output[-3000:]

    # every job went through sbatch, and the controller saw each one complete
    submitted = dict(re.findall(
        r"has been submitted with SLURM jobid (\d+) \(log: \S*/slurm_logs/rule_(\w+)/", log))
    run_id = re.search(r"SLURM run ID: (\S+)", log).group(1)
    completed = {job["JobId"]: job for job in cluster.completed_jobs()
                 if job.get("Name") == run_id and job.get("JobState") == "COMPLETED"}
    batches = len(list((slurm_dir / "results/calls/cohort/batches").iterdir()))
    # preflight, plan, the calling batches, merge, region QC, stats, run.json, report
    assert len(submitted) == 7 + batches and batches > 1
    assert set(completed) == set(submitted)

    # the profile's resources reached sbatch: time limit (minutes), CPUs and memory per rule
    expected = {"call_batch": ("720", "cpu=2,mem=16000M"),  # 2 threads x 8000 MB
                "preflight_cohort": ("120", "cpu=2,mem=2000M"),
                # the jobs reading the whole call set: 720 minutes
                "merge_calls": ("720", "cpu=1,mem=2000M"),
                "compute_stats": ("720", "cpu=1,mem=2000M"),
                "render_report": ("720", "cpu=1,mem=2000M")}
    for job_id, rule in submitted.items():
        job = completed[job_id]
        limit, tres = expected.get(rule, ("60", "cpu=1,mem=2000M"))
        assert (job["TimeLimit"], job["Tres"].startswith(f"{tres},")) == (limit, True), (
            rule, job["TimeLimit"], job["Tres"])

    # same outputs, same call set size as on local cores
    for output in ("results/calls/cohort.vcf.gz", "results/calls/cohort.vcf.gz.tbi",
                   "results/stats/cohort.stats.txt", "results/run.json"):
        assert (slurm_dir / output).stat().st_size > 0, output
    slurm_records = records(slurm_dir / "results/calls/cohort.vcf.gz")
    assert slurm_records == records(local_dir / "results/calls/cohort.vcf.gz") > 100
