"""The demo workflow through `--profile profiles/kubernetes` on the test cluster."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client

from tests.conftest import run_workflow
from tests.executor.conftest import (
    NAMESPACE,
    SENTINEL,
    KubeEnv,
    demo_config,
    differing_records,
    is_driver,
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
    assert differing_records(records, vcf_records(local / "results/calls/cohort.vcf.gz")) == []
    # Every snakemake job ran as a Job (the driver ran none but the localrule).
    created = kube_env.cluster.requests.filter(verb="create", resource="jobs")
    assert len(created) >= 8
    assert all(is_driver(r) for r in created)
    # Every call the executor made was within the driver Role.
    assert kube_env.cluster.requests.count(code=403) == 0
    assert kube_env.leftovers() == []
    # The S3 secret reached no log, output or message.
    for path in kube_env.rundir.rglob("*"):
        if path.is_file() and path.name != "Snakefile":
            assert SENTINEL.encode() not in path.read_bytes(), path
    assert SENTINEL not in run.stdout + run.stderr


def test_a_call_outside_the_role_fails_with_its_reason(kube_env: KubeEnv) -> None:
    rbac = client.RbacAuthorizationV1Api(kube_env.admin)
    role = rbac.read_namespaced_role("kubecall-driver", NAMESPACE)
    for rule in role.rules:
        rule.verbs = [v for v in rule.verbs if v != "deletecollection"]
    rbac.replace_namespaced_role("kubecall-driver", NAMESPACE, role)
    run = kube_env.run()
    assert run.returncode != 0
    assert "403" in run.stderr and "driver-role.yaml" in run.stderr
    assert kube_env.cluster.requests.count(verb="create", resource="jobs") == 0
