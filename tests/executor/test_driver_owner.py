"""A driver in a pod owns its Jobs (issue 15, finding 13): the executor makes the pod named by
KUBECALL_DRIVER_POD/KUBECALL_DRIVER_POD_UID (the driver Job sets them from the downward API)
the owner of every Job, so once that pod is deleted, Kubernetes' garbage collector deletes
the Jobs and their pods, even when the driver was SIGKILLed and cleaned up nothing."""

from __future__ import annotations

import os
import signal

from kubernetes import client

from tests.executor.conftest import NAMESPACE, KubeEnv, wait_for
from tests.executor.test_faults import ONE_BATCH, alive, call_pods
from tests.support.image import REFERENCE


def stand_in_driver_pod(env: KubeEnv) -> client.V1Pod:
    """A pod standing for the driver's (the driver itself runs on the host here)."""
    hardened = {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}}
    return client.CoreV1Api(env.admin).create_namespaced_pod(NAMESPACE, {
        "metadata": {"name": "driver"},
        "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                 "securityContext": {"runAsUser": 10001, "runAsGroup": 10001},
                 "containers": [{"name": "snakemake", "image": f"{REFERENCE}:0.1.0",
                                 "command": ["sleep", "3600"], "securityContext": hardened,
                                 "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}}]}})


def test_deleting_a_killed_drivers_pod_deletes_its_jobs(kube_env: KubeEnv) -> None:
    pod = stand_in_driver_pod(kube_env)
    driver = kube_env.start(ONE_BATCH, env={"KUBECALL_DRIVER_POD": "driver",
                                            "KUBECALL_DRIVER_POD_UID": pod.metadata.uid})
    wait_for(lambda: alive(driver) and call_pods(kube_env, "Running"), timeout=300,
             what="the calling pod to run")
    jobs = [j for j in kube_env.cluster.list("jobs", NAMESPACE, "batch")  # type: ignore[attr-defined]
            if j["metadata"]["labels"].get("kubecall.io/rule") == "call_batch"]
    assert jobs and all(j["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Pod", "name": "driver", "uid": pod.metadata.uid}]
        for j in jobs)
    os.killpg(driver.pid, signal.SIGKILL)  # cleans up nothing
    driver.communicate()
    assert call_pods(kube_env, "Running")  # the killed driver's job runs on
    client.CoreV1Api(kube_env.admin).delete_namespaced_pod("driver", NAMESPACE)
    wait_for(lambda: not kube_env.leftovers(), timeout=300,
             what=lambda: f"the garbage collector to delete {kube_env.leftovers()}")
