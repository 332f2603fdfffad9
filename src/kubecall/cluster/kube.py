"""The one wrapper of the ``kubernetes`` client: how to connect, the retry policy, REST calls
and their errors. The executor plugin's calls (``k8s_api.KubeApi``) connect and retry through
this module too.

Everything else in kubecall handles plain dicts (the objects as YAML shows them). Calls go
straight to the REST paths of a fixed table of kinds, so no discovery requests (and no discovery
cache on disk) are needed; server-side apply is a PATCH with ``application/apply-patch+yaml``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from kubecall.cluster.contract import Obj
from kubecall.errors import KubecallError

FIELD_MANAGER = "kubecall"
T = TypeVar("T")
# Statuses worth another try: throttling and server-side trouble, not our own mistakes.
RETRY_STATUSES = {429, 500, 502, 503, 504}
TRANSIENT_ERRORS = (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, `base` s doubling up to `cap` s: `attempts` tries,
    or, when `patience` is set, as many as fit in `patience` seconds from the first failure
    (an API outage of that long is ridden out)."""

    attempts: int = 8
    base: float = 0.2
    cap: float = 10.0
    patience: float = 0.0

    def may_retry(self, attempt: int, failing_for: float) -> bool:
        """Whether to try again after `attempt` (0-based) failed, failing for that long."""
        if self.patience:
            return failing_for < self.patience
        return attempt < self.attempts - 1

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        if retry_after and retry_after.isdigit():
            return min(self.cap, float(retry_after))
        return min(self.cap, self.base * 2 ** attempt) * (0.5 + random.random() / 2)


def is_transient(exc: BaseException) -> bool:
    """Whether a failed call may succeed if repeated."""
    if isinstance(exc, ApiException):
        return exc.status in RETRY_STATUSES or exc.status == 0
    return isinstance(exc, TRANSIENT_ERRORS)


def with_retries(call: Callable[[], T], policy: RetryPolicy,
                 on_retry: Callable[[BaseException, float], None] | None = None,
                 retryable: Callable[[BaseException], bool] = is_transient) -> T:
    """Run `call`, repeating it after transient failures as `policy` allows."""
    first_failure: float | None = None
    attempt = 0
    while True:
        try:
            return call()
        except Exception as exc:
            now = time.monotonic()
            first_failure = now if first_failure is None else first_failure
            if not retryable(exc) or not policy.may_retry(attempt, now - first_failure):
                raise
            headers = getattr(exc, "headers", None) or {}
            delay = policy.delay(attempt, headers.get("Retry-After"))
            if on_retry:
                on_retry(exc, delay)
            time.sleep(delay)
            attempt += 1


def api_client(kubeconfig: Path | None = None, context: str | None = None,
               flag: str = "--kubeconfig") -> Any:
    """A ``kubernetes.client.ApiClient``: the kubeconfig (explicit, $KUBECONFIG,
    ~/.kube/config), else the in-cluster service account; a user error naming ``flag``
    otherwise."""
    path = kubeconfig or (Path(os.environ["KUBECONFIG"]) if os.environ.get("KUBECONFIG")
                          else Path.home() / ".kube" / "config")
    if kubeconfig is not None and not kubeconfig.is_file():
        raise KubecallError(f"{flag} {kubeconfig}: no such file")
    try:
        if path.is_file():
            return config.new_client_from_config(config_file=str(path), context=context)
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            configuration = client.Configuration()
            config.load_incluster_config(client_configuration=configuration)
            return client.ApiClient(configuration)
    except (config.ConfigException, ValueError) as exc:
        raise KubecallError(f"cannot use kubeconfig {path}: {exc}") from exc
    raise KubecallError(
        f"no kubeconfig at {path} and not running in a cluster; pass {flag} or set "
        "KUBECONFIG")


def _retryable_request(method: str) -> Callable[[BaseException], bool]:
    """GET, PATCH (server-side apply) and DELETE are idempotent; a POST is repeated only
    when the server said it did not take it (429)."""
    if method != "POST":
        return is_transient
    return lambda exc: isinstance(exc, ApiException) and exc.status == 429


@dataclass(frozen=True)
class Kind:
    """Where a kind lives in the API."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool = True

    def base_path(self, namespace: str | None) -> str:
        root = "/api/v1" if self.api_version == "v1" else f"/apis/{self.api_version}"
        if self.namespaced:
            if not namespace:
                raise KubecallError(f"{self.kind} needs a namespace (metadata.namespace)")
            return f"{root}/namespaces/{quote(namespace)}/{self.plural}"
        return f"{root}/{self.plural}"


KINDS: dict[tuple[str, str], Kind] = {
    (k.api_version, k.kind): k for k in [
        Kind("v1", "Namespace", "namespaces", False),
        Kind("v1", "PersistentVolume", "persistentvolumes", False),
        Kind("v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
        Kind("v1", "ServiceAccount", "serviceaccounts"),
        Kind("v1", "Secret", "secrets"),
        Kind("v1", "ConfigMap", "configmaps"),
        Kind("v1", "Service", "services"),
        Kind("v1", "Pod", "pods"),
        Kind("v1", "Event", "events"),
        Kind("v1", "LimitRange", "limitranges"),
        Kind("v1", "ResourceQuota", "resourcequotas"),
        Kind("apps/v1", "Deployment", "deployments"),
        Kind("batch/v1", "Job", "jobs"),
        Kind("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
        Kind("rbac.authorization.k8s.io/v1", "Role", "roles"),
        Kind("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings"),
        Kind("storage.k8s.io/v1", "StorageClass", "storageclasses", False),
        Kind("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"),
        Kind("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets"),
    ]
}


def kind_of(api_version: str, kind: str) -> Kind:
    """The table entry for a kind, or a user error naming the unsupported kind."""
    try:
        return KINDS[(api_version, kind)]
    except KeyError:
        raise KubecallError(
            f"kubecall cannot manage {kind} ({api_version}); supported kinds: "
            + ", ".join(sorted(k.kind for k in KINDS.values()))
        ) from None


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    """--kubeconfig/--context, shared by every cluster sub-command."""
    parser.add_argument("--kubeconfig", type=Path, default=None,
                        help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, "
                             "then the in-cluster service account)")
    parser.add_argument("--context", default=None, help="kubeconfig context to use")


class Kube:
    """A connection to one cluster; methods take and return plain dicts."""

    def __init__(self, api_client: Any, policy: RetryPolicy | None = None) -> None:
        self.api_client = api_client
        self.policy = policy or RetryPolicy()

    @classmethod
    def connect(cls, kubeconfig: Path | None = None, context: str | None = None) -> Kube:
        """Connect with a kubeconfig (explicit, $KUBECONFIG, ~/.kube/config) or in-cluster."""
        return cls(api_client(kubeconfig, context))

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Kube:
        return cls.connect(args.kubeconfig, args.context)

    def close(self) -> None:
        self.api_client.close()

    # ---- raw REST -------------------------------------------------------------------------
    def _call(self, method: str, path: str, query: list[tuple[str, Any]] | None = None,
              body: Any = None, content_type: str = "application/json",
              stream: bool = False, timeout: float | None = 60) -> Any:
        request = self.api_client.param_serialize(
            method, path, query_params=query or [],
            header_params={"Accept": "application/json", "Content-Type": content_type},
            body=body, auth_settings=["BearerToken"])

        def send() -> Any:
            response = self.api_client.call_api(*request, _request_timeout=timeout)
            if not 200 <= response.status <= 299:
                response.read()
                raise ApiException(http_resp=response)
            return response
        try:
            response = with_retries(send, self.policy, retryable=_retryable_request(method))
        except urllib3.exceptions.HTTPError as exc:
            host = self.api_client.configuration.host
            raise KubecallError(f"cannot reach the Kubernetes API at {host}: {exc}") from exc
        if stream:
            return response.response
        data = response.read()
        return json.loads(data) if data else {}

    @staticmethod
    def _explain(exc: ApiException, what: str) -> KubecallError:
        try:
            message = json.loads(exc.body).get("message", exc.reason)
        except (TypeError, ValueError):
            message = exc.reason
        hint = ""
        if exc.status in (401, 403):
            hint = "; check your kubeconfig's user and its RBAC permissions"
        return KubecallError(f"{what}: HTTP {exc.status}: {message}{hint}")

    # ---- objects --------------------------------------------------------------------------
    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None
            ) -> Obj | None:
        """The live object, or None when it does not exist."""
        k = kind_of(api_version, kind)
        try:
            return self._call("GET", f"{k.base_path(namespace)}/{quote(name)}")
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise self._explain(exc, f"reading {kind} {name}") from exc

    def list(self, api_version: str, kind: str, namespace: str | None = None,
             selector: str | None = None, fields: str | None = None) -> list[Obj]:
        """The objects matching a label ``selector`` and a field selector ``fields``."""
        k = kind_of(api_version, kind)
        query = [("labelSelector", selector)] if selector else []
        if fields:
            query.append(("fieldSelector", fields))
        try:
            found = self._call("GET", k.base_path(namespace), query)
        except ApiException as exc:
            if exc.status == 404:
                return []
            raise self._explain(exc, f"listing {k.plural}") from exc
        return list(found.get("items") or [])

    def apply(self, obj: Obj, dry_run: bool = False) -> Obj:
        """Server-side apply ``obj`` (kubecall owns the fields it sets; conflicts are forced)."""
        k = kind_of(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        query: list[tuple[str, Any]] = [("fieldManager", FIELD_MANAGER), ("force", "true")]
        if dry_run:
            query.append(("dryRun", "All"))
        path = f"{k.base_path(meta.get('namespace'))}/{quote(meta['name'])}"
        try:
            return self._call("PATCH", path, query, obj, "application/apply-patch+yaml")
        except ApiException as exc:
            raise self._explain(exc, f"applying {obj['kind']} {meta['name']}") from exc

    def create(self, obj: Obj) -> Obj:
        k = kind_of(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        try:
            return self._call("POST", k.base_path(meta.get("namespace")), body=obj)
        except ApiException as exc:
            raise self._explain(exc, f"creating {obj['kind']} {meta['name']}") from exc

    def delete(self, api_version: str, kind: str, name: str, namespace: str | None = None
               ) -> bool:
        """Delete (dependents in the background); False when it was already gone."""
        k = kind_of(api_version, kind)
        query = [("propagationPolicy", "Background")]
        try:
            self._call("DELETE", f"{k.base_path(namespace)}/{quote(name)}", query)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise self._explain(exc, f"deleting {kind} {name}") from exc
        return True

    def events_for(self, namespace: str, kind: str, name: str) -> list[Obj]:
        """Events about one object, oldest first."""
        events = [e for e in self.list("v1", "Event", namespace)
                  if (e.get("involvedObject") or {}).get("kind") == kind
                  and (e.get("involvedObject") or {}).get("name") == name]
        return sorted(events, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or "")

    def pod_log(self, namespace: str, pod: str, container: str | None = None,
                tail: int | None = None) -> str:
        query: list[tuple[str, Any]] = []
        if container:
            query.append(("container", container))
        if tail:
            query.append(("tailLines", tail))
        path = f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(pod)}/log"
        try:
            stream = self._call("GET", path, query, stream=True)
        except ApiException as exc:
            raise self._explain(exc, f"reading the log of pod {pod}") from exc
        try:
            return stream.read().decode(errors="replace")
        finally:
            stream.release_conn()

    def follow_pod_log(self, namespace: str, pod: str, container: str | None = None
                       ) -> Iterator[str]:
        """Lines of a pod's log as they are written, until the container ends."""
        path = f"/api/v1/namespaces/{quote(namespace)}/pods/{quote(pod)}/log"
        query: list[tuple[str, Any]] = [("follow", "true")]
        if container:
            query.append(("container", container))
        try:
            stream = self._call("GET", path, query, stream=True, timeout=None)
        except ApiException as exc:
            raise self._explain(exc, f"following the log of pod {pod}") from exc
        try:
            pending = b""
            for chunk in stream.stream(4096, decode_content=True):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.decode(errors="replace")
            if pending:
                yield pending.decode(errors="replace")
        finally:
            stream.release_conn()
