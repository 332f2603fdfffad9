"""What a later bootstrap does with what the manifests no longer hold (issue 15, finding 18):
a field dropped from an object is removed from the live object (server-side apply, one field
manager), and an object dropped from the manifests is deleted (pruned) if bootstrap applied it,
claims and volumes only with ``--prune-data``. Against the test cluster's server-side apply,
which keeps managedFields as the API server does."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from kubecall.cluster.contract import BOOTSTRAP_LABEL
from tests.cli.test_cluster_cli import WRITE_VERBS, cli_env, kubecall
from tests.support.cluster.cluster import Cluster
from tests.support.cluster.helpers import api_client

NS = "kubecall-prune"


def manifests(*extra: dict) -> list[dict]:
    """A small namespace: a ConfigMap with two keys and two labels, a ServiceAccount."""
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "settings", "namespace": NS,
                      "labels": {"app.kubernetes.io/name": "settings", "tier": "old"}},
         "data": {"kept": "1", "dropped": "2"}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "worker", "namespace": NS}},
        *extra,
    ]


CLAIM = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": {"name": "extra-data", "namespace": NS},
         "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "nfs-client",
                  "resources": {"requests": {"storage": "1Gi"}}}}
ROLE = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "old-role", "namespace": NS},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}


def bootstrap(cluster: Cluster, tmp_path: Path, objects: list[dict], *flags: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "rendered.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    done = kubecall(cli_env(cluster.kubeconfig), "bootstrap", "--manifests", str(path),
                    "--timeout", "120", *flags)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def writes_during(cluster: Cluster, action) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    mark = len(cluster.requests.snapshot())
    action()
    return [(r.verb, r.resource, r.name) for r in cluster.requests.snapshot()[mark:]
            if r.verb in WRITE_VERBS]


def test_a_field_dropped_from_the_manifests_is_removed(k8s_cluster: Cluster,
                                                       tmp_path: Path) -> None:
    bootstrap(k8s_cluster, tmp_path, manifests())
    smaller = manifests()
    del smaller[1]["data"]["dropped"]
    del smaller[1]["metadata"]["labels"]["tier"]
    again = bootstrap(k8s_cluster, tmp_path, smaller)
    assert "update    ConfigMap settings in kubecall-prune" in again.stdout
    assert "drops .data.dropped, .metadata.labels.tier" in again.stdout
    live = k8s_cluster.get("configmaps", "settings", NS)
    assert live["data"] == {"kept": "1"}
    assert "tier" not in live["metadata"]["labels"]
    # ... and then nothing changes any more
    assert writes_during(k8s_cluster, lambda: bootstrap(k8s_cluster, tmp_path, smaller)) == []


def test_a_field_another_manager_set_is_left_alone(k8s_cluster: Cluster, tmp_path: Path) -> None:
    bootstrap(k8s_cluster, tmp_path, manifests())
    with api_client(k8s_cluster) as admin:
        client.CoreV1Api(admin).patch_namespaced_config_map(
            "settings", NS, {"data": {"theirs": "x"}}, field_manager="someone")
    again = bootstrap(k8s_cluster, tmp_path, manifests())
    assert "bootstrap done: 0 object(s)" in again.stdout
    assert k8s_cluster.get("configmaps", "settings", NS)["data"]["theirs"] == "x"


def test_objects_dropped_from_the_manifests_are_pruned(k8s_cluster: Cluster,
                                                       tmp_path: Path) -> None:
    first = bootstrap(k8s_cluster, tmp_path, manifests(ROLE))
    assert k8s_cluster.get("roles", "old-role", NS, "rbac.authorization.k8s.io")[
        "metadata"]["labels"][BOOTSTRAP_LABEL] == NS, first.stdout
    # Someone else's objects of the same kinds, and the executor's, are never pruned.
    with api_client(k8s_cluster) as admin:
        client.CoreV1Api(admin).create_namespaced_config_map(NS, {"metadata": {
            "name": "not-ours", "labels": {"app.kubernetes.io/part-of": "kubecall"}}})
    dry = bootstrap(k8s_cluster, tmp_path, manifests(), "--dry-run")
    assert "would prune Role old-role in kubecall-prune" in dry.stdout
    assert k8s_cluster.get("roles", "old-role", NS, "rbac.authorization.k8s.io")
    done = bootstrap(k8s_cluster, tmp_path, manifests())
    assert "prune     Role old-role in kubecall-prune" in done.stdout
    with pytest.raises(Exception, match="not found|NotFound"):
        k8s_cluster.get("roles", "old-role", NS, "rbac.authorization.k8s.io")
    assert k8s_cluster.get("configmaps", "not-ours", NS)
    assert k8s_cluster.get("configmaps", "settings", NS)
    assert k8s_cluster.get("secrets", "minio", NS), "the generated MinIO Secret stays"


def test_a_dropped_claim_is_kept_unless_prune_data(k8s_cluster: Cluster, tmp_path: Path) -> None:
    bootstrap(k8s_cluster, tmp_path, manifests(CLAIM))
    kept = bootstrap(k8s_cluster, tmp_path, manifests())
    assert "kept      PersistentVolumeClaim extra-data in kubecall-prune (no longer in the " \
           "manifests; --prune-data deletes it)" in kept.stdout
    assert k8s_cluster.get("persistentvolumeclaims", "extra-data", NS)
    pruned = bootstrap(k8s_cluster, tmp_path, manifests(), "--prune-data")
    assert "prune     PersistentVolumeClaim extra-data in kubecall-prune" in pruned.stdout
    with pytest.raises(Exception, match="not found|NotFound"):
        k8s_cluster.get("persistentvolumeclaims", "extra-data", NS)


if __name__ == "__main__":  # pragma: no cover - run by hand
    sys.exit(pytest.main([__file__]))
