"""Small helpers shared by the cluster's own tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client, config

from .cluster import Cluster

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout: float = 20.0, what: str = "condition") -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def api_client(cluster: Cluster, kubeconfig: str | None = None) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig or cluster.kubeconfig))


def new_namespace(api: client.ApiClient, prefix: str = "t") -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    client.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return name


def pod_manifest(name: str, command: list[str], **spec: Any) -> dict[str, Any]:
    """A one-container pod running `command` (restartPolicy Never unless given)."""
    container = {"name": "main", "image": "debian:12", "command": command}
    container.update(spec.pop("container", {}))
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": "Never", "containers": [container]}}
    body["spec"].update(spec)
    return body


def wait_pod_phase(core: client.CoreV1Api, namespace: str, name: str,
                   phases: tuple[str, ...] = ("Succeeded", "Failed"),
                   timeout: float = 20.0) -> Any:
    def check() -> Any:
        pod = core.read_namespaced_pod(name, namespace)
        return pod if pod.status.phase in phases else None
    return wait_for(check, timeout, f"pod {namespace}/{name} in {phases}")


def pod_log(core: client.CoreV1Api, namespace: str, name: str, **kw: Any) -> str:
    return core.read_namespaced_pod_log(name, namespace, **kw)
