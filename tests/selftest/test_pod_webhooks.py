"""Pod webhooks (Api.pod_webhooks): a test's or bench's mutating webhook rewrites a new pod
before it is admitted, stored and run, as a real mutating admission webhook does."""

from __future__ import annotations

from kubernetes import client

from tests.support.cluster.helpers import api_client, pod_log, pod_manifest, wait_pod_phase
from tests.support.cluster.plugin import ClusterFactory
from tests.support.cluster.store import Obj


def test_a_pod_webhook_rewrites_the_pod_that_is_stored_and_run(
        k8s_cluster_factory: ClusterFactory) -> None:
    cluster = k8s_cluster_factory()
    seen: list[str] = []

    def rewrite(pod: Obj) -> None:
        seen.append(pod["metadata"]["name"])
        pod["spec"]["containers"][0]["command"] = ["echo", "rewritten"]
    cluster.api.pod_webhooks.append(rewrite)
    core = client.CoreV1Api(api_client(cluster))
    core.create_namespaced_pod("default", pod_manifest("app", ["echo", "original"]))
    pod = wait_pod_phase(core, "default", "app", timeout=300)
    assert seen == ["app"]
    assert pod.spec.containers[0].command == ["echo", "rewritten"]
    assert pod.status.phase == "Succeeded"
    assert pod_log(core, "default", "app").strip() == "rewritten"
