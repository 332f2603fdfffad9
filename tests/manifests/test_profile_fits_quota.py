"""The shipped Kubernetes profile fits the shipped namespace: `jobs` pods of the largest rule
within the ResourceQuota, and every retry within the LimitRange (finding 2)."""

from __future__ import annotations

import yaml

from snakemake_executor_plugin_kubecall.jobspec import (
    SpecSettings,
    container_memory_mb,
    limit_range_max_mb,
    memory_mb,
)
from tests.conftest import REPO

BASE = REPO / "k8s" / "base"


def load(path: str) -> dict:
    return yaml.safe_load((REPO / path).read_text())


def test_the_profile_fits_the_quota_and_the_limit_range() -> None:
    profile = load("profiles/kubernetes/config.yaml")
    hard = load("k8s/base/namespace/kubecall-quota-resourcequota.yaml")["spec"]["hard"]
    limit_range = load("k8s/base/namespace/kubecall-defaults-limitrange.yaml")
    settings = SpecSettings(memory_growth=float(profile["kubecall-memory-growth"]),
                            memory_max_mb=limit_range_max_mb([limit_range]))
    rules = [profile["default-resources"], *profile["set-resources"].values()]
    mem = max(int(r.get("mem_mb", profile["default-resources"]["mem_mb"])) for r in rules)
    # Rules that fan out (call_batch, per-region work) run one thread; the only multi-threaded
    # rule (preflight_cohort) is one job per run.
    assert set(profile.get("set-threads", {})) == {"preflight_cohort"}
    threads = 1
    jobs = int(profile["jobs"])
    # Every job running at once, each as large as the largest rule's first attempt.
    assert jobs * container_memory_mb(mem, 0, settings) <= memory_mb(hard["requests.memory"])
    assert jobs * threads * float(profile["kubecall-cpu-scalar"]) <= float(hard["requests.cpu"])
    assert jobs * threads <= float(hard["limits.cpu"])
    # The last retry of the largest rule, after OOMKilled attempts, is still admitted.
    retries = int(profile["retries"])
    assert container_memory_mb(mem, retries, SpecSettings(
        memory_growth=settings.memory_growth)) <= int(settings.memory_max_mb or 0)
