"""What each of the executor's API calls costs the driver at thousands of Jobs (issue 18):
connections reused, watch events read without the client's model round trip."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from snakemake_executor_plugin_kubecall.k8s_api import KubeApi
from tests.support.cluster.cluster import Cluster


@pytest.fixture
def api(k8s_api_client: client.ApiClient) -> Iterator[KubeApi]:
    yield KubeApi(k8s_api_client, "default")


def suspended_job(name: str) -> dict:
    """A Job that makes no pod (suspended): only its API calls are exercised."""
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"suspend": True, "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}}}}


def connections_opened(api_client: client.ApiClient) -> int:
    pools = api_client.rest_client.pool_manager.pools
    return sum(pools[key].num_connections for key in pools.keys())


def test_creates_and_deletes_reuse_one_connection(api: KubeApi) -> None:
    # An unread response keeps its connection: every later call would open (and
    # TLS-handshake) a new one, twice per Job.
    for n in range(5):
        api.create_job(suspended_job(f"j{n}"))
    for n in range(5):
        api.delete_job(f"j{n}")
    api.delete_all("kubecall.io/run-id=none")
    api.delete_pods("kubecall.io/run-id=none")
    assert connections_opened(api.api_client) == 1


def test_watch_events_are_dicts_without_a_model_round_trip(
        k8s_cluster: Cluster, api: KubeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    _, version = api.list_pods("app=w")
    # Unschedulable (no node has this label): the pod stays Pending, no process runs.
    client.CoreV1Api(api.api_client).create_namespaced_pod("default", {
        "metadata": {"name": "w", "labels": {"app": "w"}},
        "spec": {"nodeSelector": {"pool": "none"},
                 "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]}})
    deserialized: list[Any] = []
    original = client.ApiClient.deserialize

    def counting(self: client.ApiClient, *args: Any, **kwargs: Any) -> Any:
        deserialized.append(args)
        return original(self, *args, **kwargs)
    monkeypatch.setattr(client.ApiClient, "deserialize", counting)
    events = api.watch_pods("app=w", version, timeout_seconds=10)
    event = next(events)
    events.close()
    assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == "w"
    assert deserialized == []
    # An expired resourceVersion still ends the watch with a 410 (the tracker relists).
    k8s_cluster.faults.expire_watch_history()
    with pytest.raises(ApiException) as error:
        next(api.watch_pods("app=w", version, timeout_seconds=10))
    assert error.value.status == 410
