"""Pods in images: the job image as the container's root, and images the node cannot pull."""

from __future__ import annotations

import shlex
from pathlib import Path

from kubernetes import client

from tests.support.cluster.helpers import (
    api_client,
    pod_log,
    pod_manifest,
    wait_for,
    wait_pod_phase,
)
from tests.support.cluster.images import UNAUTHORIZED
from tests.support.cluster.plugin import ClusterFactory
from tests.support.image import REFERENCE

PROBE = "; ".join([
    "id -u", "id -g", "pwd", 'echo "$HOME"', "command -v python", "samtools --version | head -1",
    f"test -e {shlex.quote(str(Path(__file__).resolve()))} && echo host || echo image",
    "touch /etc/written 2>&1 || true", "touch /tmp/written && echo tmp-writable",
    "cat /config/greeting", "test -s /var/run/secrets/kubernetes.io/serviceaccount/token "
    "&& echo token", "grep -c localhost /etc/hosts",
    "python -c 'import kubecall, snakemake_executor_plugin_kubecall; print(kubecall.__file__)'",
    # no warning about an unwritable cache or config directory (stderr is in the log too)
    "snakemake --version", "python -c 'import kubecall.report.render, pysam'",
    "freebayes --version",
])
EXPECTED = [
    "10001", "10001", "/workspace", "/tmp", "/opt/kubecall/venv/bin/python", "samtools 1.16.1",
    "image", "touch: cannot touch '/etc/written': Read-only file system", "tmp-writable",
    "hello", "token", "2", "/opt/kubecall/venv/lib/python3.11/site-packages/kubecall/__init__.py",
    "9.27.1", "version:  v1.3.6"]


def probe(k8s_cluster_factory: ClusterFactory, archive: Path) -> tuple[str, list[str]]:
    """Run PROBE in a hardened pod of the image in `archive`: (phase, log lines)."""
    cluster = k8s_cluster_factory(images={REFERENCE: archive})
    core = client.CoreV1Api(api_client(cluster))
    core.create_namespaced_config_map("default", {"metadata": {"name": "settings"},
                                                  "data": {"greeting": "hello\n"}})
    body = pod_manifest("inside", ["sh", "-c", PROBE], container={
        "image": f"{REFERENCE}:0.1.0",
        "securityContext": {"readOnlyRootFilesystem": True, "runAsNonRoot": True},
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"},
                         {"name": "settings", "mountPath": "/config"}]},
        volumes=[{"name": "tmp", "emptyDir": {}},
                 {"name": "settings", "configMap": {"name": "settings"}}])
    core.create_namespaced_pod("default", body)
    pod = wait_pod_phase(core, "default", "inside", timeout=300)
    return pod.status.phase, pod_log(core, "default", "inside").splitlines()


def test_a_pod_runs_in_its_image_as_the_image_user_on_a_read_only_root(
        k8s_cluster_factory: ClusterFactory, job_image_archive: Path) -> None:
    phase, log = probe(k8s_cluster_factory, job_image_archive)
    assert (phase, log) == ("Succeeded", EXPECTED)


def test_a_pod_of_an_unknown_image_fails_to_pull_by_name(
        k8s_cluster_factory: ClusterFactory) -> None:
    cluster = k8s_cluster_factory(images={})
    core = client.CoreV1Api(api_client(cluster))
    image = "registry.example/nobody/nothing:1"
    body = pod_manifest("nopull", ["true"], container={"image": image})
    core.create_namespaced_pod("default", body)

    def waiting(reason: str) -> client.V1ContainerStateWaiting | None:
        statuses = core.read_namespaced_pod("nopull", "default").status.container_statuses
        state = statuses[0].state.waiting if statuses else None
        return state if state and state.reason == reason else None

    pulled = wait_for(lambda: waiting("ErrImagePull"), what="ErrImagePull")
    assert f'Failed to pull image "{image}"' in pulled.message
    backoff = wait_for(lambda: waiting("ImagePullBackOff"), what="ImagePullBackOff")
    # Kubernetes 1.32+: the back-off message carries the last pull error.
    assert backoff.message == f'Back-off pulling image "{image}": ErrImagePull: ' \
        f"{pulled.message}"
    assert core.read_namespaced_pod("nopull", "default").status.phase == "Pending"
    events = core.list_namespaced_event("default").items
    assert any(e.reason == "Failed" and image in e.message for e in events)


def test_injected_pull_failures_pass_once_the_kubelet_retries(
        k8s_cluster_factory: ClusterFactory, job_image_archive: Path) -> None:
    cluster = k8s_cluster_factory(images={REFERENCE: job_image_archive})
    core = client.CoreV1Api(api_client(cluster))
    cluster.fail_pulls(2)  # a registry's 429, twice
    image = f"{REFERENCE}:0.1.0"
    core.create_namespaced_pod("default", pod_manifest("busy", ["true"], container={
        "image": image, "securityContext": {"runAsNonRoot": True}}))
    assert wait_pod_phase(core, "default", "busy", timeout=300).status.phase == "Succeeded"
    events = core.list_namespaced_event("default").items
    pulls = [e.message for e in events if e.reason == "Failed"]
    assert len(pulls) == 2 and all("429 Too Many Requests" in m for m in pulls), pulls
    backoffs = [e.message for e in events if e.reason == "BackOff"]
    assert backoffs and all(f'Back-off pulling image "{image}": ErrImagePull: Failed to pull '
                            "image" in m and "429" in m for m in backoffs), backoffs

def test_pull_failures_for_ever_and_for_one_image(
        k8s_cluster_factory: ClusterFactory, job_image_archive: Path) -> None:
    cluster = k8s_cluster_factory(images={REFERENCE: job_image_archive})
    core = client.CoreV1Api(api_client(cluster))
    cluster.fail_pulls(-1, UNAUTHORIZED, image=REFERENCE)
    core.create_namespaced_pod("default", pod_manifest("denied", ["true"], container={
        "image": f"{REFERENCE}:0.1.0", "securityContext": {"runAsNonRoot": True}}))

    def denied() -> str | None:
        statuses = core.read_namespaced_pod("denied", "default").status.container_statuses
        waiting = statuses[0].state.waiting if statuses else None
        return waiting.message if waiting and waiting.reason == "ErrImagePull" else None
    assert "pull access denied" in wait_for(denied, what="ErrImagePull")
    cluster.clear_pull_failures()
    assert wait_pod_phase(core, "default", "denied", timeout=300).status.phase == "Succeeded"
