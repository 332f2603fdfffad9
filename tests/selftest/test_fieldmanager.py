"""Server-side apply with field managers (metadata.managedFields), as the API server does it
(kubernetes.io/docs/reference/using-api/server-side-apply): a field dropped from an applier's
configuration goes when no other manager owns it, a change to another manager's field is a
409 unless forced, and updates move the fields they change to their manager."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.support.cluster import fieldmanager
from tests.support.cluster.errors import ApiError


def config_map(ns: str, labels: dict[str, str], data: dict[str, str]) -> dict:
    """A ConfigMap's apply configuration; empty labels or data are left out."""
    body: dict = {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "cm", "namespace": ns}}
    if labels:
        body["metadata"]["labels"] = labels
    if data:
        body["data"] = data
    return body


def request(api: client.ApiClient, path: str, body: dict, query: list[tuple[str, str]],
            content_type: str = "application/apply-patch+yaml") -> dict:
    """A PATCH; a non-2xx answer raises ApiException (its body the Status)."""
    prepared = api.param_serialize("PATCH", path, query_params=query,
                                   header_params={"Content-Type": content_type,
                                                  "Accept": "application/json"},
                                   body=body, auth_settings=["BearerToken"])
    response = api.call_api(*prepared)
    data = response.read()
    if not 200 <= response.status <= 299:
        raise ApiException(http_resp=response)
    return json.loads(data)


def apply(api: client.ApiClient, body: dict, manager: str, force: bool = False) -> dict:
    meta = body["metadata"]
    return request(api, f"/api/v1/namespaces/{meta['namespace']}/configmaps/{meta['name']}",
                   body, [("fieldManager", manager)] + ([("force", "true")] if force else []))


def entries(obj: dict) -> dict[tuple[str, str], dict]:
    return {(e["manager"], e["operation"]): e["fieldsV1"]
            for e in obj["metadata"].get("managedFields") or []}


def test_apply_records_the_fields_it_set(api: client.ApiClient, ns: str) -> None:
    live = apply(api, config_map(ns, {"a": "1"}, {"k": "v"}), "tool")
    assert entries(live) == {("tool", "Apply"): {
        "f:metadata": {"f:labels": {"f:a": {}}}, "f:data": {"f:k": {}}}}
    entry = live["metadata"]["managedFields"][0]
    assert entry["apiVersion"] == "v1" and entry["fieldsType"] == "FieldsV1" and entry["time"]


def test_a_field_dropped_from_the_applied_configuration_is_removed(
        api: client.ApiClient, ns: str) -> None:
    apply(api, config_map(ns, {"a": "1", "b": "2"}, {"k": "v", "old": "x"}), "tool")
    live = apply(api, config_map(ns, {"a": "1"}, {"k": "v"}), "tool")
    assert live["metadata"]["labels"] == {"a": "1"}
    assert live["data"] == {"k": "v"}
    assert entries(live)[("tool", "Apply")] == {
        "f:metadata": {"f:labels": {"f:a": {}}}, "f:data": {"f:k": {}}}


def test_a_dropped_field_another_manager_owns_stays(api: client.ApiClient, ns: str) -> None:
    apply(api, config_map(ns, {"a": "1"}, {"k": "v"}), "tool")
    apply(api, config_map(ns, {"a": "1"}, {}), "other")  # shares .metadata.labels.a
    live = apply(api, config_map(ns, {}, {"k": "v"}), "tool")
    assert live["metadata"]["labels"] == {"a": "1"}
    assert entries(live)[("other", "Apply")] == {"f:metadata": {"f:labels": {"f:a": {}}}}


def test_changing_another_managers_field_conflicts_unless_forced(
        api: client.ApiClient, ns: str) -> None:
    apply(api, config_map(ns, {}, {"k": "v", "n": "1"}), "tool")
    with pytest.raises(ApiException) as refused:
        apply(api, config_map(ns, {}, {"k": "changed"}), "other")
    assert refused.value.status == 409
    status = json.loads(refused.value.body)
    assert status["reason"] == "Conflict"
    assert status["message"] == 'Apply failed with 1 conflict: conflict with "tool": .data.k'
    assert status["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "tool"', "field": ".data.k"}]
    assert client.CoreV1Api(api).read_namespaced_config_map("cm", ns).data["k"] == "v"
    live = apply(api, config_map(ns, {}, {"k": "changed"}), "other", force=True)
    assert live["data"] == {"k": "changed", "n": "1"}
    assert entries(live) == {("tool", "Apply"): {"f:data": {"f:n": {}}},
                             ("other", "Apply"): {"f:data": {"f:k": {}}}}


def test_the_same_value_is_shared_without_conflict(api: client.ApiClient, ns: str) -> None:
    apply(api, config_map(ns, {}, {"k": "v"}), "tool")
    live = apply(api, config_map(ns, {}, {"k": "v"}), "other")
    assert set(entries(live)) == {("tool", "Apply"), ("other", "Apply")}


def test_an_update_takes_the_fields_it_changes(api: client.ApiClient, ns: str) -> None:
    apply(api, config_map(ns, {}, {"k": "v", "n": "1"}), "tool")
    maps = client.CoreV1Api(api)
    maps.patch_namespaced_config_map("cm", ns, {"data": {"k": "edited"}},
                                     field_manager="editor")
    live = maps.api_client.sanitize_for_serialization(maps.read_namespaced_config_map("cm", ns))
    assert entries(live)[("editor", "Update")] == {"f:data": {"f:k": {}}}
    assert entries(live)[("tool", "Apply")] == {"f:data": {"f:n": {}}}
    with pytest.raises(ApiException) as refused:
        apply(api, config_map(ns, {}, {"k": "v", "n": "1"}), "tool")
    assert refused.value.status == 409
    assert 'conflict with "editor" using v1: .data.k' in json.loads(refused.value.body)["message"]


def test_a_create_without_field_manager_is_owned_by_the_user_agent(
        api: client.ApiClient, ns: str) -> None:
    maps = client.CoreV1Api(api)
    maps.create_namespaced_config_map(ns, {"metadata": {"name": "ua"}, "data": {"k": "v"}})
    (entry,) = maps.read_namespaced_config_map("ua", ns).metadata.managed_fields
    assert (entry.manager, entry.operation) == ("OpenAPI-Generator", "Update")


def test_apply_needs_a_field_manager(api: client.ApiClient, ns: str) -> None:
    with pytest.raises(ApiException) as refused:
        apply(api, config_map(ns, {}, {"k": "v"}), "")
    assert refused.value.status == 422
    assert "fieldManager: Required value" in json.loads(refused.value.body)["message"]


def test_keyed_lists_are_owned_item_by_item(api: client.ApiClient, ns: str) -> None:
    def deployment(containers: list[dict]) -> dict:
        return {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "d", "namespace": ns},
                "spec": {"selector": {"matchLabels": {"app": "d"}},
                         "template": {"metadata": {"labels": {"app": "d"}},
                                      "spec": {"containers": containers}}}}
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/d"
    one = {"name": "one", "image": "busybox", "ports": [{"containerPort": 80}]}
    two = {"name": "two", "image": "busybox"}
    request(api, path, deployment([one, two]), [("fieldManager", "tool")])
    obj = request(api, path, deployment([one]), [("fieldManager", "tool")])
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["one"]
    fields = entries(obj)[("tool", "Apply")]
    assert fields["f:spec"]["f:selector"] == {}  # a LabelSelector is atomic
    item = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"one"}']
    assert item["."] == {} and set(item) == {".", "f:name", "f:image", "f:ports"}
    assert list(item["f:ports"]) == ['k:{"containerPort":80,"protocol":"TCP"}']


def test_kubectl_server_side_apply_reports_conflicts(
        k8s_kubeconfig: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "cm.yaml"

    def kubectl(*args: str, data: str) -> subprocess.CompletedProcess[str]:
        manifest.write_text(yaml.safe_dump(config_map("default", {}, {"k": data})))
        return subprocess.run(["kubectl", "--kubeconfig", str(k8s_kubeconfig), *args,
                               "-f", str(manifest)], capture_output=True, text=True,
                              timeout=120, check=False)
    assert kubectl("apply", "--server-side", data="v").returncode == 0
    refused = kubectl("apply", "--server-side", "--field-manager", "other", data="w")
    assert refused.returncode != 0
    assert 'Apply failed with 1 conflict: conflict with "kubectl": .data.k' in refused.stderr
    forced = kubectl("apply", "--server-side", "--field-manager", "other",
                     "--force-conflicts", data="w")
    assert forced.returncode == 0, forced.stderr


# ---- the field sets themselves ---------------------------------------------------------------
def test_fields_v1_round_trips_and_paths_read_as_kubernetes_prints_them() -> None:
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["x"]},
           "spec": {"containers": [{"name": "c", "args": ["a"], "env": [{"name": "E"}]}]},
           "status": {"phase": "Running"}}
    paths = fieldmanager.fields(obj)
    assert fieldmanager.from_fields_v1(fieldmanager.to_fields_v1(paths)) == paths
    assert sorted(map(fieldmanager.path_string, paths)) == [
        '.metadata.finalizers[="x"]',
        '.spec.containers[name="c"]',
        '.spec.containers[name="c"].args',
        '.spec.containers[name="c"].env[name="E"]',
        '.spec.containers[name="c"].env[name="E"].name',
        '.spec.containers[name="c"].name',
    ]


def test_a_keyed_list_item_without_its_key_is_invalid() -> None:
    with pytest.raises(ApiError) as refused:
        fieldmanager.fields({"spec": {"containers": [{"image": "x"}]}})
    assert refused.value.code == 422
