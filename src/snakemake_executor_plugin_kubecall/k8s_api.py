"""Every Kubernetes API call the executor makes, each with the bounded retries and backoff
of kubecall.cluster.kube (the one client wrapper, which also connects).

The driver Role (k8s/base/driver/kubecall-driver-role.yaml) grants exactly these calls:
jobs create/get/list/delete/deletecollection, pods list/watch/deletecollection, pods/log get,
events list, limitranges list.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from kubecall.cluster.contract import Obj
from kubecall.cluster.kube import RetryPolicy, with_retries

T = TypeVar("T")
# Every request has a client-side timeout (connect, read) so a half-open connection (a NAT
# or load balancer that forgot it; kubernetes>=30.1 sets no TCP keepalive) fails and is
# retried instead of stalling for ever. A watch may stay silent up to its timeoutSeconds,
# plus this margin.
REQUEST_TIMEOUT = (30.0, 60.0)
WATCH_READ_MARGIN = 30.0


class KubeApi:
    """The executor's view of one namespace."""

    def __init__(self, api_client: client.ApiClient, namespace: str,
                 policy: RetryPolicy | None = None,
                 on_retry: Callable[[BaseException, float], None] | None = None) -> None:
        self.api_client = api_client
        self.namespace = namespace
        self.policy = policy or RetryPolicy()
        self.on_retry = on_retry
        self.batch = client.BatchV1Api(api_client)
        self.core = client.CoreV1Api(api_client)

    def _retry(self, call: Callable[[], T]) -> T:
        return with_retries(call, self.policy, self.on_retry)

    def create_job(self, body: Obj) -> None:
        """Create a Job; a 409 on a retry means an earlier, timed-out try got through."""
        tries = 0

        def create() -> None:
            nonlocal tries
            tries += 1
            try:
                _release(self.batch.create_namespaced_job(
                    self.namespace, body, _preload_content=False,
                    _request_timeout=REQUEST_TIMEOUT))
            except ApiException as exc:
                if exc.status != 409 or tries == 1:
                    raise
        self._retry(create)

    def get_job(self, name: str) -> Obj | None:
        """A Job as a dict, or None when it does not exist."""
        try:
            response = self._retry(lambda: self.batch.read_namespaced_job(
                name, self.namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return _json(response)

    def delete_job(self, name: str) -> None:
        """Delete a Job and (through garbage collection) its pod; gone already is fine."""
        try:
            _release(self._retry(lambda: self.batch.delete_namespaced_job(
                name, self.namespace, propagation_policy="Background",
                _preload_content=False, _request_timeout=REQUEST_TIMEOUT)))
        except ApiException as exc:
            if exc.status != 404:
                raise

    def delete_all(self, selector: str) -> None:
        """Delete every Job and pod matching `selector` (two requests, whatever their number)."""
        _release(self._retry(lambda: self.batch.delete_collection_namespaced_job(
            self.namespace, label_selector=selector, propagation_policy="Background",
            _preload_content=False, _request_timeout=REQUEST_TIMEOUT)))
        self.delete_pods(selector)

    def delete_pods(self, selector: str) -> None:
        """Delete the pods matching `selector` now (one request), not waiting for garbage
        collection of their deleted Jobs."""
        _release(self._retry(lambda: self.core.delete_collection_namespaced_pod(
            self.namespace, label_selector=selector, grace_period_seconds=0,
            _preload_content=False, _request_timeout=REQUEST_TIMEOUT)))

    def list_jobs(self, selector: str) -> list[Obj]:
        """Jobs matching `selector` (one request for all of a run's Jobs)."""
        data = _json(self._retry(lambda: self.batch.list_namespaced_job(
            self.namespace, label_selector=selector, _preload_content=False,
            _request_timeout=REQUEST_TIMEOUT)))
        return data.get("items") or []

    def list_events(self, field_selector: str) -> list[Obj]:
        """The namespace's events matching `field_selector` (e.g. reason=FailedCreate)."""
        data = _json(self._retry(lambda: self.core.list_namespaced_event(
            self.namespace, field_selector=field_selector, _preload_content=False,
            _request_timeout=REQUEST_TIMEOUT)))
        return data.get("items") or []

    def list_limit_ranges(self) -> list[Obj]:
        """The namespace's LimitRanges (the memory maximum a job may grow to)."""
        data = _json(self._retry(lambda: self.core.list_namespaced_limit_range(
            self.namespace, _preload_content=False, _request_timeout=REQUEST_TIMEOUT)))
        return data.get("items") or []

    def list_pods(self, selector: str) -> tuple[list[Obj], str]:
        """Pods matching `selector` and the list's resourceVersion (to watch from)."""
        data = _json(self._retry(lambda: self.core.list_namespaced_pod(
            self.namespace, label_selector=selector, _preload_content=False,
            _request_timeout=REQUEST_TIMEOUT)))
        return data.get("items") or [], data["metadata"].get("resourceVersion", "")

    def watch_pods(self, selector: str, resource_version: str,
                   timeout_seconds: int) -> Iterator[Obj]:
        """Raw watch events (dicts) for pods matching `selector` after `resource_version`.

        Ends when the server closes the stream; an expired version raises ApiException 410.
        Not retried here: the caller resumes from the last version it saw.
        """
        stream = _DictWatch().stream(
            self.core.list_namespaced_pod, self.namespace, label_selector=selector,
            resource_version=resource_version, timeout_seconds=timeout_seconds,
            allow_watch_bookmarks=True,
            _request_timeout=(REQUEST_TIMEOUT[0], timeout_seconds + WATCH_READ_MARGIN))
        for event in stream:
            yield {"type": event["type"], "object": event["object"]}

    def pod_log(self, pod: str, container: str, limit_bytes: int = 1 << 20) -> str:
        """The last `limit_bytes` of a container's log ('' when it is gone)."""
        try:
            response = self._retry(lambda: self.core.read_namespaced_pod_log(
                pod, self.namespace, container=container, limit_bytes=limit_bytes,
                _preload_content=False, _request_timeout=REQUEST_TIMEOUT))
        except ApiException as exc:
            if exc.status in (400, 404):
                return ""
            raise
        return response.data.decode(errors="replace")


def _json(response: Any) -> Obj:
    return json.loads(response.data)


def _release(response: Any) -> None:
    """Read a response to its end and give its connection back to the pool. Left unread
    (`_preload_content=False`), the connection stays taken: each create and delete would
    open, and TLS-handshake, a new one."""
    response.read()
    response.release_conn()


class _DictWatch(watch.Watch):
    """Watch events whose object stays the JSON dict the server sent.

    The client's default turns every event into a V1Pod model, which the tracker would turn
    back into a dict: most of the driver's CPU per pod event. Without a return type the
    client keeps the dict and still raises an expired version's ERROR event as
    ApiException(410) (`deserialize=False` would fail on that event instead)."""

    def get_return_type(self, func: Callable[..., Any]) -> None:
        return None
