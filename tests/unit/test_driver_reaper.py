"""The driver pod's reaper (issue 15, finding 13): a native sidecar in the driver Job that,
once the kubelet stops it after the driver container ended (OOMKilled, SIGKILLed, or done),
deletes the run's Jobs that have not finished. The spec and the reaper's decisions, pure."""

from __future__ import annotations

import pytest

from kubecall.cluster import reaper
from kubecall.cluster.contract import (
    CONTAINER,
    DEFAULT_CONTAINER_ANNOTATION,
    DRIVER_POD_ENV,
    NAMESPACE_ENV,
    REAPER_CONTAINER,
    RUN_ID_ENV,
    jobs_selector,
)
from kubecall.cluster.driver_job import DriverSpec, driver_job

SPEC = DriverSpec("r1", "kubecall", "c.yaml", "profiles/kubernetes", image="example/img:1")


def pod_spec() -> dict:
    return driver_job(SPEC)["spec"]["template"]["spec"]


def the_reaper() -> dict:
    (container,) = pod_spec()["initContainers"]
    return container


def test_the_reaper_is_a_native_sidecar_from_the_job_image() -> None:
    container = the_reaper()
    assert container["name"] == REAPER_CONTAINER
    assert container["restartPolicy"] == "Always"  # runs beside snakemake, stopped after it
    assert container["image"] == SPEC.image
    assert container["command"] == ["python", "-m", "kubecall.cluster.reaper"]
    assert "volumeMounts" not in container  # it reads and writes nothing but the API


def test_the_reaper_is_hardened_like_the_driver() -> None:
    spec = pod_spec()
    (driver,) = spec["containers"]
    assert the_reaper()["securityContext"] == driver["securityContext"]
    assert driver["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_reaper_knows_its_run_pod_and_namespace() -> None:
    env = {e["name"]: e for e in the_reaper()["env"]}
    assert env[RUN_ID_ENV] == {"name": RUN_ID_ENV, "value": "r1"}
    assert env[DRIVER_POD_ENV]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env[NAMESPACE_ENV]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


def test_the_reaper_asks_for_little_and_sets_requests_and_limits() -> None:
    resources = the_reaper()["resources"]
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}
    # Python with the kubernetes client is about 50 MB; memory request = limit, so the
    # reaper is never the container the kubelet evicts or the kernel kills first.
    assert resources["requests"]["memory"] == resources["limits"]["memory"] == "128Mi"


def test_the_reaper_finishes_within_the_grace_period() -> None:
    spec = pod_spec()
    patience = reaper.PATIENCE_SECONDS
    assert patience + 10 <= spec["terminationGracePeriodSeconds"]


def test_kubectl_logs_shows_the_driver_by_default() -> None:
    annotations = driver_job(SPEC)["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {DEFAULT_CONTAINER_ANNOTATION: CONTAINER}


def job(name: str, *conditions: str) -> dict:
    return {"metadata": {"name": name}, "status": {"conditions": [
        {"type": kind, "status": "True"} for kind in conditions]}}


def test_only_jobs_that_have_not_finished_are_reaped() -> None:
    jobs = [job("running"), job("done", "Complete"), job("failed", "Failed"),
            job("failing", "FailureTarget"), {"metadata": {"name": "new"}}]
    assert [j["metadata"]["name"] for j in reaper.unfinished(jobs)] == \
        ["running", "failing", "new"]


def pod_with(init: list[dict]) -> dict:
    return {"spec": {"initContainers": init, "containers": [{"name": CONTAINER}]}}


@pytest.mark.parametrize("init,expected", [
    ([{"name": REAPER_CONTAINER, "restartPolicy": "Always"}], True),
    # Kubernetes before 1.29 (or SidecarContainers off) drops the field: a plain init
    # container, which the driver would wait for for ever.
    ([{"name": REAPER_CONTAINER}], False),
    ([{"name": "other", "restartPolicy": "Always"}], False),
])
def test_the_reaper_knows_whether_it_runs_beside_the_driver(init: list[dict],
                                                             expected: bool) -> None:
    assert reaper.is_native_sidecar(pod_with(init), REAPER_CONTAINER) is expected


class FakeKube:
    """The two calls the reaper makes, over a list of Jobs."""

    def __init__(self, jobs: list[dict], gone: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.jobs, self.gone, self.deleted = jobs, gone, []  # type: ignore[var-annotated]
        self.selectors: list[str | None] = []

    def list(self, api_version: str, kind: str, namespace: str | None = None,
             selector: str | None = None, fields: str | None = None) -> list[dict]:
        assert (api_version, kind, namespace) == ("batch/v1", "Job", "ns")
        self.selectors.append(selector)
        return self.jobs

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None
               ) -> bool:
        self.deleted.append(name)
        return name not in self.gone


def test_reap_deletes_the_runs_unfinished_jobs_and_says_which() -> None:
    kube = FakeKube([job("a"), job("b", "Failed"), job("c")], gone={"c"})
    assert reaper.reap(kube, "ns", "r1") == ["a"]  # type: ignore[arg-type]
    assert kube.deleted == ["a", "c"]
    # Only the executor's Jobs of this run: never the driver Job, never another run's.
    assert kube.selectors == [jobs_selector("r1")]
