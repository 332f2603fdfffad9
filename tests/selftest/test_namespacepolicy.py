"""Admission by namespace policy: Pod Security from namespace labels, LimitRange defaults and
maxima, ResourceQuota; a Job whose pod is refused gets a FailedCreate event."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.support.cluster.helpers import wait_for

HARDENED_POD = {"runAsNonRoot": True, "runAsUser": 10001,
                "seccompProfile": {"type": "RuntimeDefault"}}
HARDENED = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def pod(name: str, memory: str | None = None, hardened: bool = True) -> dict:
    container: dict = {"name": "main", "image": "debian:12", "command": ["sleep", "30"]}
    if memory:
        container["resources"] = {"requests": {"memory": memory, "cpu": "100m"},
                                  "limits": {"memory": memory, "cpu": "100m"}}
    spec: dict = {"restartPolicy": "Never", "containers": [container]}
    if hardened:
        spec["securityContext"] = HARDENED_POD
        container["securityContext"] = HARDENED
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def refusal(core: client.CoreV1Api, ns: str, body: dict) -> str:
    with pytest.raises(ApiException) as caught:
        core.create_namespaced_pod(ns, body)
    assert caught.value.status == 403
    return str(caught.value.body)


def test_restricted_namespace_refuses_unhardened_pods(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.patch_namespace(ns, {"metadata": {"labels": {
        "pod-security.kubernetes.io/enforce": "restricted"}}})
    message = refusal(core, ns, pod("loose", hardened=False))
    assert 'violates PodSecurity \\"restricted:latest\\"' in message
    assert "allowPrivilegeEscalation" in message and "runAsNonRoot" in message
    core.create_namespaced_pod(ns, pod("tight"))
    core.delete_namespaced_pod("tight", ns, grace_period_seconds=0)


def test_limit_range_defaults_and_maximum(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_limit_range(ns, {"metadata": {"name": "limits"}, "spec": {"limits": [
        {"type": "Container", "default": {"cpu": "1", "memory": "2Gi"},
         "defaultRequest": {"cpu": "250m", "memory": "512Mi"}, "max": {"memory": "64Gi"}}]}})
    created = core.create_namespaced_pod(ns, pod("plain"))
    resources = created.spec.containers[0].resources
    assert resources.limits == {"cpu": "1", "memory": "2Gi"}
    assert resources.requests == {"cpu": "250m", "memory": "512Mi"}
    core.delete_namespaced_pod("plain", ns, grace_period_seconds=0)
    message = refusal(core, ns, pod("huge", memory="72000M"))
    assert "maximum memory usage per Container is 64Gi, but limit is 72000M" in message


def test_quota_refuses_and_the_job_records_failed_create(api: client.ApiClient, ns: str) -> None:
    core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
    core.create_namespaced_resource_quota(ns, {"metadata": {"name": "quota"}, "spec": {
        "hard": {"requests.memory": "1Gi"}}})
    assert "must specify requests.memory" in refusal(core, ns, pod("bare"))
    core.create_namespaced_pod(ns, pod("first", memory="800Mi"))
    message = refusal(core, ns, pod("second", memory="800Mi"))
    assert "exceeded quota: quota, requested: requests.memory=" in message
    template = pod("x", memory="800Mi")
    batch.create_namespaced_job(ns, {"metadata": {"name": "blocked"}, "spec": {
        "backoffLimit": 0, "template": {"spec": template["spec"]}}})

    def failed_create() -> list[client.CoreV1Event]:
        return [e for e in core.list_namespaced_event(ns).items
                if e.reason == "FailedCreate" and e.involved_object.name == "blocked"]
    events = wait_for(failed_create, what="a FailedCreate event")
    assert "exceeded quota: quota" in events[0].message and events[0].type == "Warning"
    assert core.list_namespaced_pod(ns, label_selector="job-name=blocked").items == []
    # Room again: the controller's next try creates the pod.
    core.delete_namespaced_pod("first", ns, grace_period_seconds=0)
    wait_for(lambda: core.list_namespaced_pod(ns, label_selector="job-name=blocked").items,
             what="the Job's pod once the quota has room")
    batch.delete_namespaced_job("blocked", ns, propagation_policy="Background")
