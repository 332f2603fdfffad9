"""Sidecars: native ones (init containers with restartPolicy Always) and a mesh's injected
proxy (tests/support/cluster/mesh.py), regular or native."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client

from tests.support.cluster.cluster import Cluster
from tests.support.cluster.helpers import (
    api_client,
    pod_log,
    pod_manifest,
    wait_for,
    wait_pod_phase,
)
from tests.support.cluster.mesh import INJECT_LABEL, OPT_OUT, PROXY_NAME
from tests.support.cluster.plugin import ClusterFactory

SIDECAR = {"name": "helper", "image": "debian:12", "restartPolicy": "Always",
           "command": ["sleep", "600"]}


def mesh_namespace(core: client.CoreV1Api, name: str) -> str:
    core.create_namespace({"metadata": {"name": name, "labels": {INJECT_LABEL: "enabled"}}})
    return name


def main_state(pod: client.V1Pod, name: str = "main") -> client.V1ContainerState:
    (status,) = [s for s in pod.status.container_statuses if s.name == name]
    return status.state


def test_a_native_sidecar_runs_beside_the_main_container_and_is_stopped_after_it(
        api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    body = pod_manifest("native", ["sh", "-c", "sleep 1; echo main done"],
                        initContainers=[SIDECAR], terminationGracePeriodSeconds=2)
    core.create_namespaced_pod(ns, body)
    pod = wait_pod_phase(core, ns, "native", timeout=300)
    assert pod.status.phase == "Succeeded"
    assert main_state(pod).terminated.exit_code == 0
    (helper,) = pod.status.init_container_statuses
    # Stopped by SIGTERM once the main container ended: its exit code does not count.
    assert helper.state.terminated is not None


def test_a_sidecar_is_stopped_after_its_killed_main_container_and_may_clean_up(
        k8s_cluster_module: Cluster, api: client.ApiClient, ns: str, tmp_path: Path) -> None:
    """As the kubelet does (restartPolicy Never): the main container SIGKILLed, the sidecar
    gets SIGTERM, not a restart; the pod stays Running (not terminal) while the sidecar
    finishes within the grace period, then ends Failed by the main container's exit code."""
    core = client.CoreV1Api(api)
    mark = tmp_path / "may-finish"
    cleanup = {**SIDECAR, "command": ["sh", "-c", (
        f"trap 'echo TERM; while [ ! -e {mark} ]; do sleep 0.1; done; echo cleaned; exit 0' "
        "TERM; echo up; while :; do sleep 0.1; done")]}
    body = pod_manifest("crash", ["sleep", "600"], initContainers=[cleanup],
                        terminationGracePeriodSeconds=600)  # a hang guard, never reached
    core.create_namespaced_pod(ns, body)

    def helper_log() -> str:
        try:
            return pod_log(core, ns, "crash", container="helper")
        except client.ApiException:  # not started yet
            return ""
    wait_for(lambda: "up" in helper_log() and
             main_state(core.read_namespaced_pod("crash", ns)).running,
             timeout=300, what="both containers to run")
    k8s_cluster_module.kill_pod(ns, "crash", "main")
    wait_for(lambda: "TERM" in helper_log(),
             timeout=300, what="the sidecar's SIGTERM")
    pod = core.read_namespaced_pod("crash", ns)
    assert main_state(pod).terminated.exit_code == 137
    assert pod.status.phase == "Running"  # not terminal while a container still runs
    (helper,) = pod.status.init_container_statuses
    assert helper.state.running is not None and helper.restart_count == 0
    mark.touch()
    pod = wait_pod_phase(core, ns, "crash", timeout=300)
    assert pod.status.phase == "Failed"
    assert pod.status.init_container_statuses[0].state.terminated.exit_code == 0
    assert "cleaned" in helper_log()


def test_a_container_restart_policy_is_only_for_init_containers(
        api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    body = pod_manifest("bad", ["true"], container={"restartPolicy": "Always"})
    try:
        core.create_namespaced_pod(ns, body)
    except client.ApiException as exc:
        assert exc.status == 422 and "may not be set for non-init containers" in exc.body
    else:
        raise AssertionError("a main container's restartPolicy was accepted")


def test_a_regular_injected_proxy_keeps_the_pod_running_after_the_app_ended(
        k8s_cluster_factory: ClusterFactory) -> None:
    cluster = k8s_cluster_factory(sidecar_injection="regular")
    core = client.CoreV1Api(api_client(cluster))
    ns = mesh_namespace(core, "meshed")
    core.create_namespaced_pod(ns, pod_manifest("app", ["true"]))

    def app_done() -> client.V1Pod | None:
        pod = core.read_namespaced_pod("app", ns)
        statuses = pod.status.container_statuses or []
        done = any(s.name == "main" and s.state.terminated for s in statuses)
        return pod if done else None
    pod = wait_for(app_done, timeout=300, what="the app container to end")
    assert [c.name for c in pod.spec.containers] == ["main", PROXY_NAME]
    assert main_state(pod).terminated.exit_code == 0
    assert main_state(pod, PROXY_NAME).running is not None
    assert core.read_namespaced_pod("app", ns).status.phase == "Running"


def test_a_native_injected_proxy_lets_the_pod_finish(
        k8s_cluster_factory: ClusterFactory) -> None:
    cluster = k8s_cluster_factory(sidecar_injection="native")
    core = client.CoreV1Api(api_client(cluster))
    ns = mesh_namespace(core, "meshed")
    core.create_namespaced_pod(ns, pod_manifest("app", ["sh", "-c", "exit 3"]))
    pod = wait_pod_phase(core, ns, "app", timeout=300)
    assert [c.name for c in pod.spec.init_containers] == [PROXY_NAME]
    assert pod.spec.init_containers[0].restart_policy == "Always"
    assert pod.status.phase == "Failed"
    assert main_state(pod).terminated.exit_code == 3


def test_a_pod_can_opt_out_of_injection(k8s_cluster_factory: ClusterFactory) -> None:
    cluster = k8s_cluster_factory(sidecar_injection="regular")
    core = client.CoreV1Api(api_client(cluster))
    ns = mesh_namespace(core, "meshed")
    body = pod_manifest("plain", ["true"])
    body["metadata"]["labels"] = {OPT_OUT: "false"}
    core.create_namespaced_pod(ns, body)
    pod = wait_pod_phase(core, ns, "plain", timeout=300)
    assert [c.name for c in pod.spec.containers] == ["main"] and not pod.spec.init_containers
    assert pod.status.phase == "Succeeded"
