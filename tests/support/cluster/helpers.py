"""Small helpers shared by the cluster's own tests."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client, config

from .cluster import Cluster
from .fieldschema import unknown_fields
from .resources import RESOURCE_TYPES

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], timeout: float = 300.0,
             what: str | Callable[[], str] = "condition") -> T:
    """Poll `check` until it returns something truthy, and return that; fail naming `what`
    (a callable is asked then, for the state at the failure) after `timeout` seconds, which
    only stops a hang: it is far above any wait on a loaded machine."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    described = what() if callable(what) else what
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {described} "
                         f"(last: {last!r})")


def raw_request(cluster: Cluster, method: str, path: str, body: Any = None,
                token: str | None = None, content_type: str = "application/json",
                ) -> tuple[int, Any, Any]:
    """One HTTP request with the admin token: (status, headers, decoded JSON body)."""
    context = ssl.create_default_context(cafile=str(cluster.cert)) if cluster.tls else None
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        cluster.url + path, data=data, method=method,
        headers={"Authorization": f"Bearer {token or cluster.tokens.admin_token}",
                 "Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, err.headers, json.loads(err.read() or b"null")


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
                   timeout: float = 120.0) -> Any:
    def check() -> Any:
        pod = core.read_namespaced_pod(name, namespace)
        return pod if pod.status.phase in phases else None
    return wait_for(check, timeout, f"pod {namespace}/{name} in {phases}")


def pod_log(core: client.CoreV1Api, namespace: str, name: str, **kw: Any) -> str:
    return core.read_namespaced_pod_log(name, namespace, **kw)


def assert_schema_clean(cluster: Cluster) -> None:
    """Everything the cluster stored (including what its controllers wrote) fits the schema
    of the `kubernetes` client's models: no field a real API server would drop."""
    for rt in RESOURCE_TYPES:
        for obj in cluster.store.list(rt)[0]:
            assert unknown_fields(rt, obj) == [], f"{rt.kind} {obj['metadata']['name']}"
