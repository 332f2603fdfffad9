"""The demo workflow through `--profile profiles/kubernetes` on the test cluster."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_workflow
from tests.k8s.conftest import (
    SENTINEL,
    KubeEnv,
    demo_config,
    vcf_records,
    write_demo_sheet,
)


def test_demo_workflow_matches_local_run(kube_env: KubeEnv, tmp_path: Path) -> None:
    run = kube_env.run()
    assert run.returncode == 0, run.stderr[-3000:] + kube_env.failure_logs()[-3000:]
    cluster_vcf = kube_env.rundir / "results" / "calls" / "cohort.vcf.gz"

    local = tmp_path / "local"
    local.mkdir()
    write_demo_sheet(local / "samples.tsv", kube_env.datasource)
    config = demo_config(kube_env.datasource)
    config["samples"] = str(local / "samples.tsv")
    done = run_workflow(local, config)
    assert done.returncode == 0, done.stderr[-4000:]

    records = vcf_records(cluster_vcf)
    assert records, "the cluster run called no variants"
    assert records == vcf_records(local / "results" / "calls" / "cohort.vcf.gz")
    # Every snakemake job ran as a Job (the driver ran none but the localrule).
    created = kube_env.cluster.requests.filter(verb="create", resource="jobs")
    assert len(created) >= 8
    assert all(r.user.endswith(":kubecall-driver") for r in created)
    assert kube_env.leftovers() == []
    # The S3 secret reached no log, output or message.
    for path in kube_env.rundir.rglob("*"):
        if path.is_file() and path.name != "Snakefile":
            assert SENTINEL.encode() not in path.read_bytes(), path
    assert SENTINEL not in run.stdout + run.stderr
