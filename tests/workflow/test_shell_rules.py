"""Shell rules: quoted paths, and outputs that get their name only once complete."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, run_workflow, write_sheet

pytestmark = pytest.mark.workflow


def _config(reference: Path, sheet: Path) -> dict:
    return {"reference": str(reference), "samples": str(sheet), "regions": {"count": 2}}


def test_reference_path_with_a_space(na12878: dict[str, Path], tmp_path: Path) -> None:
    """The .fai is made by the workflow and bcftools stats reads the same path."""
    ref_dir = tmp_path / "my refs"
    ref_dir.mkdir()
    shutil.copy(na12878["ref"], ref_dir / "q.fa")
    sheet = write_sheet(tmp_path / "s.tsv", [("1", str(na12878["bam"]))])
    run = run_workflow(tmp_path / "work", _config(ref_dir / "q.fa", sheet))
    assert run.returncode == 0, run.stderr[-3000:]
    assert (ref_dir / "q.fa.fai").read_text() == na12878["ref"].with_suffix(".fa.fai").read_text()
    stats = (tmp_path / "work" / "results" / "stats" / "cohort.stats.txt").read_text()
    assert "number of records:\t154" in stats


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"),
                    reason="needs a private mount namespace for a tiny tmpfs")
def test_full_disk_leaves_no_truncated_stats(na12878: dict[str, Path], tmp_path: Path) -> None:
    """results/stats on a 4 KiB tmpfs: bcftools stats (about 10 kB) cannot be written."""
    sheet = write_sheet(tmp_path / "s.tsv", [("1", str(na12878["bam"]))])
    workdir = tmp_path / "work"
    stats_dir = workdir / "results" / "stats"
    stats_dir.mkdir(parents=True)
    (workdir / "config.yaml").write_text(yaml.safe_dump(_config(na12878["ref"], sheet)))
    snakemake = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                 "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
                 "--cores", "2", "--quiet", "rules"]
    script = f'mount -t tmpfs -o size=4k tmpfs "{stats_dir}" && "$@"; status=$?; ' \
             f'ls -A "{stats_dir}" > "{tmp_path}/left.txt"; exit $status'
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           script, "sh", *snakemake], capture_output=True, text=True,
                          check=False)
    assert done.returncode != 0, done.stderr[-3000:]
    assert "compute_stats" in done.stderr
    # nothing left on the full volume: neither a cut-short stats file nor its partial
    assert (tmp_path / "left.txt").read_text() == ""
    assert "No space left on device" in (workdir / "logs" / "compute_stats.log").read_text() \
        or "No space left on device" in done.stderr


# Each calling setting call_batch passes to its adapter (call.smk), changed.
CALLING_CHANGES = [
    ("calling", "extra", "--min-alternate-count 3"),
    ("regions", "padding", 200),
    ("calling", "region_time_budget", 600),
    ("calling", "runaway_fallback", "--use-best-n-alleles 2"),
    ("calling", "allocator", "system"),
]


def test_a_changed_calling_setting_reruns_the_calling_jobs(na12878: dict[str, Path],
                                                            tmp_path: Path) -> None:
    """Each setting reruns call_batch by its own params trigger (a rule whose setting is not
    among its params or command would keep the old calls)."""
    sheet = write_sheet(tmp_path / "s.tsv", [("1", str(na12878["bam"]))])
    workdir = tmp_path / "work"
    config = _config(na12878["ref"], sheet)
    first = run_workflow(workdir, config)
    assert first.returncode == 0, first.stderr[-3000:]
    unchanged = run_workflow(workdir, config, "--dry-run")
    assert unchanged.returncode == 0, unchanged.stderr[-3000:]
    assert "Nothing to be done" in unchanged.stdout + unchanged.stderr
    for section, key, value in CALLING_CHANGES:
        changed = {**config, section: {**config.get(section, {}), key: value}}
        plan = run_workflow(workdir, changed, "--dry-run")
        assert plan.returncode == 0, plan.stderr[-3000:]
        jobs = plan.stdout + plan.stderr
        assert "call_batch" in jobs, f"{section}.{key} changed, call_batch not rerun"
        # by its own trigger, not because the plan before it reran
        assert "plan_regions" not in jobs and "preflight_cohort" not in jobs, jobs[-3000:]
