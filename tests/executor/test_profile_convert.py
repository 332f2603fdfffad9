"""A profile written for snakemake-executor-plugin-kubernetes, converted with `kubecall
profile convert`, runs the demo in the test cluster and calls what a local run calls."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.executor.conftest import NAMESPACE, UID, KubeEnv, is_driver, vcf_records

# What a user of `--executor kubernetes` with S3 storage would have had for this cluster.
OLD_PROFILE = {
    "executor": "kubernetes",
    "jobs": 20,
    "retries": 1,
    "container-image": "ghcr.io/kubecall/kubecall:0.1.0",
    "kubernetes-namespace": NAMESPACE,
    "kubernetes-cpu-scalar": 0.5,
    "kubernetes-persistent-volumes": ["shared-workspace:/workspace", "pv1000g:/datasource"],
    "default-storage-provider": "s3",
    "default-storage-prefix": "s3://lab-calling/runs",
    "envvars": ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    "default-resources": {"mem_mb": 2000, "disk_mb": 2000, "runtime": 60},
    "set-resources": {"call_batch": {"mem_mb": 4000, "scale": 0}},
    "printshellcmds": True,
}


def test_a_converted_plugin_profile_runs_the_demo(kube_env: KubeEnv, tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "config.yaml").write_text(yaml.safe_dump(OLD_PROFILE))
    # Where `kubecall stage` puts profiles/: on the workspace, beside the workflow.
    new = kube_env.rundir / "profiles" / "migrated"
    done = subprocess.run([sys.executable, "-m", "kubecall.cli", "profile", "convert",
                           str(old), "-o", str(new)], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    for key in ("default-storage-provider", "default-storage-prefix", "envvars",
                "set-resources: call_batch: scale"):
        assert f"warning: untranslatable key '{key}'" in done.stderr
    converted = yaml.safe_load((new / "config.yaml").read_text())
    assert converted["executor"] == "kubecall"
    assert converted["kubecall-workspace-claim"] == "shared-workspace"
    assert converted["kubecall-datasource-claim"] == "pv1000g"
    assert converted["kubecall-cpu-scalar"] == 0.5
    for path in (new.parent, new, new / "config.yaml"):
        os.chown(path, UID, UID)  # the driver runs as uid 10001

    run = kube_env.run(profile=new, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:] + kube_env.failure_logs()[-3000:]
    records = vcf_records(kube_env.rundir / "results" / "calls" / "cohort.vcf.gz")
    assert records, "the cluster run called no variants"
    created = kube_env.cluster.requests.filter(verb="create", resource="jobs")
    assert len(created) >= 8
    assert all(is_driver(r) for r in created)
    assert kube_env.cluster.requests.count(code=403) == 0
    assert kube_env.leftovers() == []
