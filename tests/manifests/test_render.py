"""Every overlay renders, and the manifests follow the project's conventions."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml

from kubecall.cluster import contract
from kubecall.cluster.workspace_layout import UNWRITABLE
from tests.manifests.conftest import K8S, OVERLAYS, render

IMMUTABLE_SELECTOR_KEYS = {"app.kubernetes.io/name"}
LABELS = ("app.kubernetes.io/name", "app.kubernetes.io/part-of", "app.kubernetes.io/component")


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def find(objects: list[dict], kind: str, name: str) -> dict:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind} {name}: {len(matches)} found"
    return matches[0]


def test_every_overlay_renders_the_same_kinds(rendered: dict) -> None:
    base = {(o["kind"], o["metadata"]["name"]) for o in rendered["ehk"]}
    assert {"Namespace", "PersistentVolume", "PersistentVolumeClaim", "Deployment", "Service",
            "NetworkPolicy", "Job", "ServiceAccount", "Role", "RoleBinding", "LimitRange",
            "ResourceQuota"} <= {kind for kind, _ in base}
    for name in OVERLAYS:
        names = {(o["kind"], o["metadata"]["name"]) for o in rendered[name]}
        assert base <= names, name


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_one_object_per_file_named_object_kind(path: Path) -> None:
    documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert len(documents) == 1
    obj = documents[0]
    expected = f"{obj['metadata']['name']}-{obj['kind'].lower()}"
    assert path.name in (f"{expected}.yaml", f"{expected}-patch.yaml"), path.name


def test_base_is_grouped_by_component_and_sets_the_job_image_once() -> None:
    base = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    assert base["resources"] == ["namespace", "storage", "minio", "driver"]
    assert not list((K8S / "base").glob("*-*.yaml")), "objects belong in a component directory"
    (image,) = [i for i in base["images"] if i["name"] == "kubecall"]
    assert f"{image['newName']}:{image['newTag']}" == contract.IMAGE
    literal = [p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml"
               and "ghcr.io/kubecall" in p.read_text()]
    assert not literal, literal


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_job_container_runs_the_configured_image(rendered: dict, overlay: str) -> None:
    images = {c["image"] for o in rendered[overlay] if o["kind"] == "Job"
              for c in o["spec"]["template"]["spec"].get("initContainers", [])
              + o["spec"]["template"]["spec"]["containers"]}
    assert images == {contract.IMAGE}


def test_kustomizations_use_labels_not_common_labels() -> None:
    for path in K8S.rglob("kustomization.yaml"):
        assert "commonLabels" not in yaml.safe_load(path.read_text()), path


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_objects_carry_the_standard_labels(rendered: dict, overlay: str) -> None:
    for obj in rendered[overlay]:
        labels = obj["metadata"].get("labels") or {}
        assert all(key in labels for key in LABELS), (obj["kind"], obj["metadata"]["name"])
        assert labels["app.kubernetes.io/part-of"] == "kubecall"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_selectors_use_only_the_name_label(rendered: dict, overlay: str) -> None:
    for obj in rendered[overlay]:
        spec = obj.get("spec") or {}
        selector = spec.get("selector")
        if obj["kind"] == "Deployment":
            selector = selector["matchLabels"]
        if obj["kind"] in ("Deployment", "Service"):
            assert set(selector) <= IMMUTABLE_SELECTOR_KEYS, obj["metadata"]["name"]
            template = (spec.get("template") or {}).get("metadata", {}).get("labels")
            if template is not None:
                assert selector.items() <= template.items()


def test_namespace_enforces_restricted(rendered: dict) -> None:
    for overlay in OVERLAYS:
        labels = find(rendered[overlay], "Namespace", "kubecall")["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("overlay,storage_class,size", [
    ("minikube", "kubecall-rwx", "50Gi"), ("ehk", "nfs-client", "50Gi"),
    ("gke", "filestore-rwx", "1Ti")])
def test_workspace_claim_is_rwx_on_the_overlays_class(rendered: dict, overlay: str,
                                                      storage_class: str, size: str) -> None:
    objects = rendered[overlay]
    claim = find(objects, "PersistentVolumeClaim", "shared-workspace")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    assert claim["spec"]["storageClassName"] == storage_class
    assert claim["spec"]["resources"]["requests"]["storage"] == size
    if overlay != "ehk":  # ehk uses the site's existing class
        assert find(objects, "StorageClass", storage_class)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_data_source_is_a_retained_read_only_static_volume(rendered: dict,
                                                           overlay: str) -> None:
    objects = rendered[overlay]
    volume = find(objects, "PersistentVolume", "pv1000g")
    claim = find(objects, "PersistentVolumeClaim", "pv1000g")
    assert volume["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert volume["spec"]["accessModes"] == claim["spec"]["accessModes"] == ["ReadOnlyMany"]
    assert volume["spec"]["nfs"]["readOnly"] is True
    assert claim["spec"]["volumeName"] == "pv1000g"
    assert claim["spec"]["storageClassName"] == volume["spec"]["storageClassName"] == ""
    assert "namespace" not in volume["metadata"]


def test_overlays_set_their_own_nfs_export(rendered: dict) -> None:
    exports = {overlay: tuple(find(rendered[overlay], "PersistentVolume", "pv1000g")["spec"]
                              ["nfs"].values()) for overlay in OVERLAYS}
    assert len(set(exports.values())) == len(OVERLAYS), exports


def test_minio_is_one_recreated_replica_with_secret_credentials(rendered: dict) -> None:
    objects = rendered["ehk"]
    minio = find(objects, "Deployment", "minio")
    assert minio["spec"]["replicas"] == 1
    assert minio["spec"]["strategy"] == {"type": "Recreate"}
    container = minio["spec"]["template"]["spec"]["containers"][0]
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"]
            if "valueFrom" in e}
    assert refs["MINIO_ROOT_USER"] == {"name": "minio", "key": "rootUser"}
    assert refs["MINIO_ROOT_PASSWORD"] == {"name": "minio", "key": "rootPassword"}
    assert container["readinessProbe"] and container["livenessProbe"]
    volumes = minio["spec"]["template"]["spec"]["volumes"]
    assert {"name": "data", "persistentVolumeClaim": {"claimName": "minio-data"}} in volumes
    assert not any(o["kind"] == "HorizontalPodAutoscaler" for o in objects)


def test_minio_network_policy_admits_only_pipeline_pods(rendered: dict) -> None:
    policy = find(rendered["ehk"], "NetworkPolicy", "minio")["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "minio"}
    assert policy["policyTypes"] == ["Ingress"]
    (rule,) = policy["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {
        "app.kubernetes.io/part-of": "kubecall"}}}]


def test_no_credential_is_committed(rendered: dict) -> None:
    for overlay in OVERLAYS:
        assert not [o for o in rendered[overlay] if o["kind"] == "Secret"], overlay
    for path in K8S.rglob("*"):
        assert path.name != "minio.env", f"{path} must not be committed"


def test_workspace_init_job_creates_the_run_layout(rendered: dict) -> None:
    job = find(rendered["ehk"], "Job", "workspace-init")["spec"]["template"]["spec"]
    (init,) = job["initContainers"]
    # kubecall.cluster.workspace_layout makes LAYOUT (result/ first) or says why it cannot.
    assert init["command"] == ["python", "-m", "kubecall.cluster.workspace_layout"]
    (rule,) = find(rendered["ehk"], "Job", "workspace-init")["spec"]["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailJob" and rule["onExitCodes"] == {
        "containerName": init["name"], "operator": "In", "values": [UNWRITABLE]}
    assert init["volumeMounts"] == [{"name": "workspace", "mountPath": "/workspace"}]


def test_credentials_file_component_makes_the_minio_secret(tmp_path: Path) -> None:
    # A copy of the component, so the test's minio.env never lands in the repository.
    component = tmp_path / "credentials"
    shutil.copytree(K8S / "components" / "minio-credentials-file", component)
    (component / "minio.env").write_text("rootUser=someone\nrootPassword=long-enough-pw\n")
    overlay = tmp_path / "site"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "resources": [os.path.relpath(K8S / "overlays" / "ehk", overlay)],
        "components": ["../credentials"]}))
    objects = render(overlay)
    (secret,) = [o for o in objects if o["kind"] == "Secret"]
    assert secret["metadata"]["name"] == "minio"
    assert secret["metadata"]["namespace"] == "kubecall"
    assert sorted(secret["data"]) == ["rootPassword", "rootUser"]
