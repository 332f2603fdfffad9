"""Memory: a tiny mem_mb still runs (headroom for snakemake's own job process, finding 4);
more than the namespace's LimitRange allows is a clear error, not a refused pod (finding 3)."""

from __future__ import annotations

import os

from tests.executor.conftest import NAMESPACE, UID, KubeEnv
from tests.executor.test_faults import ONE_BATCH

TINY_SNAKEFILE = """
rule all:
    input: "tiny.txt"

rule tiny:
    output: "tiny.txt"
    resources: mem="5MB"
    shell: "echo tiny > {output}"
"""


def test_a_rule_declaring_5mb_runs(kube_env: KubeEnv) -> None:
    assert kube_env.cluster.memory_limits_enforced  # type: ignore[attr-defined]
    snakefile = kube_env.rundir / "Snakefile"
    snakefile.write_text(TINY_SNAKEFILE)
    os.chown(snakefile, UID, UID)
    run = kube_env.run("--retries", "0", "--kubecall-keep-jobs")
    assert run.returncode == 0, run.stderr[-3000:] + kube_env.failure_logs()
    assert (kube_env.rundir / "tiny.txt").read_text() == "tiny\n"
    (job,) = kube_env.cluster.list("jobs", NAMESPACE, "batch")  # type: ignore[attr-defined]
    limits = job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["memory"] == "261M"  # 5 MB + 256 MB headroom


def test_memory_over_the_limit_range_is_a_clear_error(kube_env: KubeEnv) -> None:
    # The shipped LimitRange allows 64Gi per container; 70000 MB is more.
    run = kube_env.run(ONE_BATCH, "--set-resources", "call_batch:mem_mb=70000",
                       "--retries", "0", timeout=600)
    assert run.returncode != 0
    assert "mem_mb=70000" in run.stderr and "LimitRange allows per container" in run.stderr, \
        run.stderr[-3000:]
    assert not [j for j in kube_env.cluster.list("jobs", NAMESPACE, "batch")  # type: ignore[attr-defined]
                if j["metadata"]["labels"].get("kubecall.io/rule") == "call_batch"]
    assert kube_env.leftovers() == []
