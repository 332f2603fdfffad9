"""The shipped Kubernetes profile fits the shipped namespace: `jobs` pods of the largest rule
within the ResourceQuota, and every retry within the LimitRange (finding 2)."""

from __future__ import annotations

import yaml

from kubecall.cluster.driver_job import DriverSpec, driver_job
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


def rule_threads(profile: dict, rule: str) -> int:
    return int(profile.get("set-threads", {}).get(rule, 1))


def rule_mem_mb(profile: dict, rule: str) -> int:
    """A rule's mem_mb as snakemake evaluates it: a number, or an expression of threads."""
    value = profile.get("set-resources", {}).get(rule, {}).get(
        "mem_mb", profile["default-resources"]["mem_mb"])
    return int(eval(str(value), {"threads": rule_threads(profile, rule)}))  # noqa: S307


def test_the_profile_fits_the_quota_and_the_limit_range() -> None:
    profile = load("profiles/kubernetes/config.yaml")
    hard = load("k8s/base/namespace/kubecall-quota-resourcequota.yaml")["spec"]["hard"]
    limit_range = load("k8s/base/namespace/kubecall-defaults-limitrange.yaml")
    settings = SpecSettings(memory_growth=float(profile["kubecall-memory-growth"]),
                            memory_max_mb=limit_range_max_mb([limit_range]))
    rules = ["default", *profile["set-resources"], *profile.get("set-threads", {})]
    mem = max(rule_mem_mb(profile, rule) for rule in rules)
    # Every job running at once, each as large (memory and threads) as the largest rule's
    # first attempt: the calling jobs (the one rule that fans out) are.
    threads = max(rule_threads(profile, rule) for rule in rules)
    assert (mem, threads) == (rule_mem_mb(profile, "call_batch"),
                              rule_threads(profile, "call_batch"))
    jobs = int(profile["jobs"])
    assert jobs * container_memory_mb(mem, 0, settings) <= memory_mb(hard["requests.memory"])
    assert jobs * threads * float(profile["kubecall-cpu-scalar"]) <= float(hard["requests.cpu"])
    assert jobs * threads <= float(hard["limits.cpu"])
    # The last retry of the largest rule, after OOMKilled attempts, is still admitted.
    retries = int(profile["retries"])
    assert container_memory_mb(mem, retries, SpecSettings(
        memory_growth=settings.memory_growth)) <= int(settings.memory_max_mb or 0)


def cpus(quantity: str) -> float:
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


def test_the_driver_pod_fits_beside_the_profiles_jobs() -> None:
    """The driver Job's pod (snakemake and its reaper sidecar) and `jobs` pods of the largest
    rule fit the quota together, and each container fits the LimitRange."""
    profile = load("profiles/kubernetes/config.yaml")
    hard = load("k8s/base/namespace/kubecall-quota-resourcequota.yaml")["spec"]["hard"]
    limit_range = load("k8s/base/namespace/kubecall-defaults-limitrange.yaml")
    maximum = limit_range["spec"]["limits"][0]["max"]
    pod = driver_job(DriverSpec("r1", "kubecall", "c.yaml", "profiles/kubernetes"))[
        "spec"]["template"]["spec"]
    containers = pod["initContainers"] + pod["containers"]
    for container in containers:
        limits = container["resources"]["limits"]
        assert memory_mb(limits["memory"]) <= memory_mb(maximum["memory"])
        assert cpus(limits["cpu"]) <= cpus(maximum["cpu"])
    driver_mb = sum(memory_mb(c["resources"]["requests"]["memory"]) for c in containers)
    mem = rule_mem_mb(profile, "call_batch")
    settings = SpecSettings(memory_growth=float(profile["kubecall-memory-growth"]))
    jobs_mb = int(profile["jobs"]) * container_memory_mb(mem, 0, settings)
    assert driver_mb + jobs_mb <= memory_mb(hard["requests.memory"])
