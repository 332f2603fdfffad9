"""The API server through the real `kubernetes` client: CRUD, selectors, watch, patch, errors."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import urllib3
from kubernetes import client, dynamic, watch
from kubernetes.client.rest import ApiException

from tests.support.cluster.cluster import Cluster
from tests.support.cluster.helpers import api_client, new_namespace, raw_request, wait_for
from tests.support.cluster.plugin import ClusterFactory


def cm(name: str, labels: dict[str, str] | None = None, **data: str) -> dict:
    return {"metadata": {"name": name, "labels": labels or {}}, "data": data}


def test_discovery_serves_every_required_group(api: client.ApiClient) -> None:
    dyn = dynamic.DynamicClient(api)
    for api_version, kind in [("v1", "Pod"), ("v1", "PersistentVolumeClaim"),
                              ("apps/v1", "Deployment"), ("batch/v1", "Job"),
                              ("autoscaling/v2", "HorizontalPodAutoscaler"),
                              ("networking.k8s.io/v1", "NetworkPolicy"),
                              ("rbac.authorization.k8s.io/v1", "RoleBinding"),
                              ("policy/v1", "PodDisruptionBudget"),
                              ("storage.k8s.io/v1", "StorageClass")]:
        resource = dyn.resources.get(api_version=api_version, kind=kind)
        assert resource.kind == kind
    assert client.VersionApi(api).get_code().major == "1"


def test_create_get_list_update_delete(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    created = core.create_namespaced_config_map(ns, cm("one", {"app": "a"}, k="v"))
    assert created.metadata.uid and created.metadata.resource_version
    got = core.read_namespaced_config_map("one", ns)
    assert got.data == {"k": "v"}
    got.data["k"] = "w"
    updated = core.replace_namespaced_config_map("one", ns, got)
    assert updated.data["k"] == "w"
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
    assert [i.metadata.name for i in core.list_namespaced_config_map(ns).items] == ["one"]
    core.delete_namespaced_config_map("one", ns)
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("one", ns)
    assert err.value.status == 404


def test_error_codes_are_kubernetes_status_objects(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(ns, cm("dup"))
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, cm("dup"))
    assert err.value.status == 409 and '"reason": "AlreadyExists"' in err.value.body
    stale = core.read_namespaced_config_map("dup", ns)
    core.patch_namespaced_config_map("dup", ns, {"data": {"a": "1"}})
    stale.data = {"b": "2"}
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("dup", ns, stale)
    assert err.value.status == 409 and "Conflict" in err.value.body
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, cm("Not_Valid"))
    assert err.value.status == 422
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod(ns, {"metadata": {"name": "p"}, "spec": {"containers": []}})
    assert err.value.status == 422 and "spec.containers" in err.value.body
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("no-such-namespace", cm("x"))
    assert err.value.status == 404
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, cm("labelled", {"bad key!": "v"}))
    assert err.value.status == 422 and "metadata.labels" in err.value.body
    long_name = "snakejob-" + "x" * 60  # a valid object name, too long for the job-name label
    pod_spec = {"restartPolicy": "Never",
                "containers": [{"name": "main", "image": "x", "command": ["true"]}]}
    with pytest.raises(ApiException) as err:
        client.BatchV1Api(api).create_namespaced_job(
            ns, {"metadata": {"name": long_name}, "spec": {"template": {"spec": pod_spec}}})
    assert err.value.status == 422 and "must be no more than 63 characters" in err.value.body


def test_unknown_fields_are_pruned_with_a_warning_or_rejected_when_strict(
        k8s_cluster_module: Cluster, ns: str) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "f", "colour": "x"},
            "data": {"a": "1"}}
    path = f"/api/v1/namespaces/{ns}/configmaps"
    status, headers, stored = raw_request(k8s_cluster_module, "POST", path, body)
    assert status == 201 and "colour" not in stored["metadata"]
    assert headers.get_all("Warning") == ['299 - "unknown field \\"metadata.colour\\""']
    body["metadata"]["name"] = "g"
    status, _, answer = raw_request(k8s_cluster_module, "POST", path + "?fieldValidation=Strict",
                                    body)
    assert status == 400 and 'unknown field "metadata.colour"' in answer["message"]
    status, headers, _ = raw_request(k8s_cluster_module, "POST",
                                     path + "?fieldValidation=Ignore", body)
    assert status == 201 and not headers.get_all("Warning")


def test_plain_http_mode_serves_the_python_client(
        k8s_cluster_factory: ClusterFactory) -> None:
    cluster = k8s_cluster_factory(tls=False)
    assert cluster.url.startswith("http://")
    names = {n.metadata.name for n in client.CoreV1Api(api_client(cluster)).list_namespace().items}
    assert {"default", "kube-system"} <= names


def test_unknown_token_gets_401(k8s_cluster_module: Cluster, tmp_path: Path) -> None:
    path = k8s_cluster_module.write_kubeconfig(tmp_path / "bad", "wrong-token", "bad", "default")
    bad = api_client(k8s_cluster_module, str(path))
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(bad).list_namespaced_pod("default")
    assert err.value.status == 401


def test_generate_name_and_selectors(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    names = [core.create_namespaced_config_map(
        ns, {"metadata": {"generateName": "gen-", "labels": {"tier": tier}}}).metadata.name
        for tier in ("a", "b", "c")]
    assert len(set(names)) == 3 and all(n.startswith("gen-") and len(n) > 4 for n in names)

    def listed(**kw: str) -> set[str]:
        return {i.metadata.name for i in core.list_namespaced_config_map(ns, **kw).items}

    assert len(listed(label_selector="tier=a")) == 1
    assert len(listed(label_selector="tier in (a,b)")) == 2
    assert len(listed(label_selector="tier!=a")) == 2
    assert listed(field_selector=f"metadata.name={names[1]}") == {names[1]}
    assert listed(label_selector="missing") == set()


def test_list_pagination_with_limit_and_continue(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    for n in range(5):
        core.create_namespaced_config_map(ns, cm(f"page-{n}"))
    names, token, pages = [], None, 0
    while True:
        page = core.list_namespaced_config_map(ns, limit=2, _continue=token)
        names += [i.metadata.name for i in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert names == [f"page-{n}" for n in range(5)] and pages == 3


def test_watch_streams_events_from_a_resource_version(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    start_rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, cm("w"))
    core.patch_namespaced_config_map("w", ns, {"data": {"x": "1"}})
    core.delete_namespaced_config_map("w", ns)
    seen = []
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_config_map, ns, resource_version=start_rv,
                          timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 3:
            w.stop()
    assert seen == [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")]


def test_selector_watch_reports_objects_entering_and_leaving(
        api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    start_rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, cm("moving", {"tier": "a"}))
    core.patch_namespaced_config_map("moving", ns, {"metadata": {"labels": {"tier": "b"}}})
    core.patch_namespaced_config_map("moving", ns, {"data": {"x": "1"}})
    core.patch_namespaced_config_map("moving", ns, {"metadata": {"labels": {"tier": "a"}}})
    seen = []
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_config_map, ns, label_selector="tier=a",
                          resource_version=start_rv, timeout_seconds=3):
        seen.append(event["type"])
        if len(seen) == 3:
            w.stop()
    assert seen == ["ADDED", "DELETED", "ADDED"]


def test_watch_from_a_compacted_resource_version_is_expired(k8s_cluster: Cluster) -> None:
    core = client.CoreV1Api(api_client(k8s_cluster))
    old_rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", cm("after"))
    k8s_cluster.faults.expire_watch_history()
    with pytest.raises(ApiException) as err:
        for _ in watch.Watch().stream(core.list_namespaced_config_map, "default",
                                      resource_version=old_rv, timeout_seconds=5):
            pass
    assert err.value.status == 410
    fresh_rv = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", cm("later"))
    w = watch.Watch()
    seen = []
    for event in w.stream(core.list_namespaced_config_map, "default",
                          resource_version=fresh_rv, timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name))
        w.stop()
    assert seen == [("ADDED", "later")]


def test_patch_kinds(api: client.ApiClient, ns: str) -> None:
    apps = client.AppsV1Api(api)
    body = {"metadata": {"name": "d"}, "spec": {
        "replicas": 0, "selector": {"matchLabels": {"app": "d"}},
        "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [
            {"name": "a", "image": "img:1", "command": ["true"]},
            {"name": "b", "image": "img:1", "command": ["true"]}]}}}}
    apps.create_namespaced_deployment(ns, body)
    # strategic merge: containers merge by name, the other container is kept
    change = {"containers": [{"name": "b", "image": "img:2"}]}
    patched = apps.patch_namespaced_deployment("d", ns, {"spec": {"template": {"spec": change}}})
    images = {c.name: c.image for c in patched.spec.template.spec.containers}
    assert images == {"a": "img:1", "b": "img:2"}
    assert patched.metadata.generation == 2
    # JSON merge patch
    apps.patch_namespaced_deployment("d", ns, {"metadata": {"labels": {"m": "1"}}},
                                     _content_type="application/merge-patch+json")
    # JSON patch
    apps.patch_namespaced_deployment("d", ns, [
        {"op": "replace", "path": "/spec/replicas", "value": 0},
        {"op": "add", "path": "/metadata/labels/j", "value": "2"}],
        _content_type="application/json-patch+json")
    got = apps.read_namespaced_deployment("d", ns)
    assert got.metadata.labels == {"m": "1", "j": "2"}


def test_server_side_apply_creates_then_updates(api: client.ApiClient, ns: str) -> None:
    dyn = dynamic.DynamicClient(api)
    maps = dyn.resources.get(api_version="v1", kind="ConfigMap")
    manifest = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "applied", "namespace": ns}, "data": {"a": "1"}}
    first = maps.server_side_apply(body=manifest, field_manager="test")
    manifest["data"] = {"a": "2", "b": "3"}
    second = maps.server_side_apply(body=manifest, field_manager="test")
    assert first.metadata.uid == second.metadata.uid
    assert dict(second.data) == {"a": "2", "b": "3"}


def test_deployment_scale_subresource(api: client.ApiClient, ns: str) -> None:
    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment(ns, {"metadata": {"name": "s"}, "spec": {
        "replicas": 0, "selector": {"matchLabels": {"app": "s"}},
        "template": {"metadata": {"labels": {"app": "s"}},
                     "spec": {"containers": [{"name": "c", "image": "i", "command": ["true"]}]}}}})
    scale = apps.patch_namespaced_deployment_scale("s", ns, {"spec": {"replicas": 0}})
    assert scale.spec.replicas == 0 and scale.status.selector == "app=s"
    with pytest.raises(ApiException) as err:
        apps.create_namespaced_deployment(ns, {"metadata": {"name": "bad"}, "spec": {
            "selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "y"}},
                         "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    assert err.value.status == 422


def test_owner_references_are_garbage_collected(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    owner = core.create_namespaced_config_map(ns, cm("owner"))
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}
    for name in ("child-1", "child-2"):
        core.create_namespaced_config_map(
            ns, {"metadata": {"name": name, "ownerReferences": [ref]}})
    orphan_owner = core.create_namespaced_config_map(ns, cm("orphan-owner"))
    core.create_namespaced_config_map(ns, {"metadata": {"name": "kept", "ownerReferences": [
        {**ref, "name": "orphan-owner", "uid": orphan_owner.metadata.uid}]}})

    core.delete_namespaced_config_map("owner", ns, propagation_policy="Background")
    core.delete_namespaced_config_map("orphan-owner", ns, propagation_policy="Orphan")

    def remaining() -> set[str]:
        return {i.metadata.name for i in core.list_namespaced_config_map(ns).items}
    wait_for(lambda: remaining() == {"kept", "kube-root-ca.crt"} or remaining() == {"kept"},
             what="children of the deleted owner to be collected")
    assert not core.read_namespaced_config_map("kept", ns).metadata.owner_references


def test_foreground_deletion_waits_for_dependents(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    owner = core.create_namespaced_config_map(ns, cm("fg"))
    core.create_namespaced_config_map(ns, {"metadata": {"name": "fg-child", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "fg", "uid": owner.metadata.uid}]}})
    core.delete_namespaced_config_map("fg", ns, propagation_policy="Foreground")

    def gone(name: str) -> bool:
        try:
            core.read_namespaced_config_map(name, ns)
            return False
        except ApiException as exc:
            return exc.status == 404
    wait_for(lambda: gone("fg") and gone("fg-child"), what="foreground deletion")


def test_namespace_deletion_removes_its_objects(api: client.ApiClient) -> None:
    core = client.CoreV1Api(api)
    ns = new_namespace(api)
    core.create_namespaced_config_map(ns, cm("x"))
    core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
    assert core.read_namespaced_secret("s", ns).data == {"k": "dg=="}
    core.delete_namespace(ns)

    def namespace_gone() -> bool:
        return ns not in {n.metadata.name for n in core.list_namespace().items}
    wait_for(namespace_gone, what="namespace removal")
    assert core.list_config_map_for_all_namespaces(field_selector=f"metadata.namespace={ns}"
                                                   ).items == []


def test_rbac_limits_service_account_tokens(
        k8s_cluster_module: Cluster, api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    rbac = client.RbacAuthorizationV1Api(api)
    core.create_namespaced_service_account(ns, {"metadata": {"name": "runner"}})
    rbac.create_namespaced_role(ns, {"metadata": {"name": "jobs"}, "rules": [
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["create", "get", "list"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}]})
    rbac.create_namespaced_role_binding(ns, {
        "metadata": {"name": "runner-jobs"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "jobs"},
        "subjects": [{"kind": "ServiceAccount", "name": "runner", "namespace": ns}]})
    sa_client = api_client(k8s_cluster_module,
                           str(k8s_cluster_module.kubeconfig_for(ns, "runner")))
    batch = client.BatchV1Api(sa_client)
    assert batch.list_namespaced_job(ns).items == []
    with pytest.raises(ApiException) as err:
        batch.delete_namespaced_job("any", ns)
    assert err.value.status == 403 and "cannot delete resource" in err.value.body
    with pytest.raises(ApiException) as err:
        client.CoreV1Api(sa_client).list_namespaced_pod(ns)
    assert err.value.status == 403
    with pytest.raises(ApiException) as err:
        batch.list_namespaced_job("default")
    assert err.value.status == 403
    review = client.AuthorizationV1Api(sa_client).create_self_subject_access_review(
        {"spec": {"resourceAttributes": {"namespace": ns, "verb": "create", "group": "batch",
                                         "resource": "jobs"}}})
    assert review.status.allowed is True


def test_fault_injection_failures_latency_and_dropped_watches(k8s_cluster: Cluster) -> None:
    api = api_client(k8s_cluster)
    core = client.CoreV1Api(api)
    k8s_cluster.faults.fail_next(2, code=503, path_contains="/configmaps")
    for _ in range(2):
        with pytest.raises(ApiException) as err:
            core.list_namespaced_config_map("default")
        assert err.value.status == 503
    core.list_namespaced_config_map("default")
    k8s_cluster.faults.fail_next(1, code=500, verb="create", resource="configmaps")
    core.list_namespaced_config_map("default")
    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("default", cm("f"))
    assert err.value.status == 500
    core.create_namespaced_config_map("default", cm("f"))

    k8s_cluster.faults.add_latency(1.0)
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        core.list_namespaced_config_map("default", _request_timeout=0.2)
    k8s_cluster.faults.add_latency(0)

    ended = threading.Event()
    events: list[str] = []

    def consume() -> None:
        resp = core.list_namespaced_config_map("default", watch=True, _preload_content=False)
        for line in resp.stream():
            events.append(line.decode())
        ended.set()

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    wait_for(lambda: len(events) >= 1, what="initial watch events")
    assert not ended.is_set()
    wait_for(lambda: k8s_cluster.faults.drop_watches() == 1, what="the open watch to drop")
    assert ended.wait(5)

    failures: list[Exception] = []

    def consume_until_error() -> None:
        resp = core.list_namespaced_config_map("default", watch=True, _preload_content=False)
        try:
            for _ in resp.stream():
                pass
        except Exception as exc:  # noqa: BLE001 - the test inspects what the client raised
            failures.append(exc)

    thread = threading.Thread(target=consume_until_error, daemon=True)
    thread.start()
    wait_for(lambda: k8s_cluster.faults.drop_watches(abrupt=True) == 1,
             what="the second watch to be cut")
    thread.join(5)
    assert failures and isinstance(failures[0], urllib3.exceptions.ProtocolError)


def test_request_log_counts_calls(k8s_cluster: Cluster) -> None:
    api = api_client(k8s_cluster)
    core = client.CoreV1Api(api)
    k8s_cluster.requests.clear()
    began = time.time()
    for n in range(3):
        core.create_namespaced_config_map("default", cm(f"c{n}"))
    core.list_namespaced_config_map("default", label_selector="a=b")
    received = [r.received for r in k8s_cluster.requests.snapshot()]
    assert began <= received[0] and received == sorted(received) and received[-1] <= time.time()
    assert k8s_cluster.requests.count(verb="create", resource="configmaps") == 3
    assert k8s_cluster.requests.count(verb="create", name="",
                                      path=lambda p: p.endswith("/configmaps")) == 3
    lists = [r for r in k8s_cluster.requests.snapshot() if r.verb == "list"]
    assert len(lists) == 1 and lists[0].query["labelSelector"] == ["a=b"]
    assert lists[0].user == "admin" and lists[0].namespace == "default"


def test_stored_kinds_and_status_subresources(api: client.ApiClient, ns: str) -> None:
    dyn = dynamic.DynamicClient(api)
    manifests = [
        ("autoscaling/v2", "HorizontalPodAutoscaler", {"spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 3}}),
        ("networking.k8s.io/v1", "NetworkPolicy", {"spec": {
            "podSelector": {"matchLabels": {"app": "web"}}, "policyTypes": ["Ingress"]}}),
        ("policy/v1", "PodDisruptionBudget", {"spec": {
            "minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}}),
        ("v1", "Service", {"spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
        ("v1", "ResourceQuota", {"spec": {"hard": {"pods": "10"}}}),
    ]
    for api_version, kind, rest in manifests:
        resource = dyn.resources.get(api_version=api_version, kind=kind)
        body = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "web"}, **rest}
        resource.create(body=body, namespace=ns)
        got = resource.get(name="web", namespace=ns)
        spec = got.to_dict()["spec"]
        assert got.kind == kind
        assert all(spec[k] == v for k, v in rest["spec"].items() if k != "ports"), spec
        assert [i.metadata.name for i in resource.get(namespace=ns).items] == ["web"]
    service = client.CoreV1Api(api).read_namespaced_service("web", ns)
    assert service.spec.cluster_ip.startswith("10.96.") and service.spec.ports[0].target_port == 80

    batch = client.BatchV1Api(api)
    batch.create_namespaced_job(ns, {"metadata": {"name": "st"}, "spec": {"suspend": True,
        "template": {"spec": {"restartPolicy": "Never",
                              "containers": [{"name": "c", "image": "i", "command": ["true"]}]}}}})
    patched = batch.patch_namespaced_job_status("st", ns, {"status": {"succeeded": 7}})
    assert patched.status.succeeded == 7 and patched.spec.suspend is True
    status_only = batch.patch_namespaced_job_status("st", ns, {"spec": {"parallelism": 9}})
    assert status_only.spec.parallelism == 1  # the status subresource ignores spec changes


def test_outage_refuses_every_request_then_ends(k8s_cluster: Cluster) -> None:
    core = client.CoreV1Api(api_client(k8s_cluster))
    k8s_cluster.faults.outage(3)
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map("default")
    assert err.value.status == 503
    wait_for(lambda: k8s_cluster.faults.in_outage() is None, what="the outage to end")
    assert core.list_namespaced_config_map("default").items == []


def test_stalled_watch_sends_nothing_and_outlives_its_timeout(k8s_cluster: Cluster) -> None:
    """A half-open watch: no events and no end, even past timeoutSeconds; only a client-side
    read timeout gets the client out."""
    core = client.CoreV1Api(api_client(k8s_cluster))
    response = core.list_namespaced_config_map("default", watch=True, timeout_seconds=1,
                                               _preload_content=False, _request_timeout=(5, 4))
    k8s_cluster.faults.stall_watches()
    core.create_namespaced_config_map("default", cm("after-stall"))
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        for _ in response.stream():
            pass
    response.release_conn()
