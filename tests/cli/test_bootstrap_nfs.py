"""Bootstrap on an NFS workspace whose export is root:root 0755 (issue 15, finding 15): NFS
ignores the pods' fsGroup and the restricted profile allows no root container to chown it,
so workspace-init stops at once (no retries) and bootstrap says which claim and what to change;
once the export is uid 10001's, bootstrap lays the workspace out."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from kubecall.cluster.contract import GID, UID, WORKSPACE_CLAIM
from tests.cli.test_cluster_cli import cli_env, kubecall
from tests.conftest import REPO
from tests.support.cluster.cluster import Cluster
from tests.support.image import REFERENCE
from tests.support.leftovers import temp_prefix

NS = "kubecall"
EHK_EXPORT = "nfs.example.ebi.ac.uk:/export/1000g"
STORAGE = {"Namespace", "PersistentVolume", "PersistentVolumeClaim"}


def ehk_storage() -> list[dict]:
    """The ehk overlay's namespace, claims, data-source volume and workspace-init Job."""
    rendered = subprocess.run(["kubectl", "kustomize", str(REPO / "k8s" / "overlays" / "ehk")],
                              capture_output=True, text=True, check=True, timeout=120).stdout
    return [o for o in yaml.safe_load_all(rendered) if o["kind"] in STORAGE
            and o["metadata"]["name"] != "minio-data"
            or (o["kind"] == "Job" and o["metadata"]["name"] == "workspace-init")]


@pytest.fixture
def nfs_cluster(job_image_archive: Path) -> Iterator[tuple[Cluster, Path]]:
    base = Path(tempfile.mkdtemp(prefix=temp_prefix("nfs"), dir="/var/tmp"))
    base.chmod(0o755)
    (base / "1000g").mkdir(mode=0o755)
    cluster = Cluster(state_dir=base / "state", root_owned_classes=("nfs-client",),
                      nfs_exports={EHK_EXPORT: base / "1000g"},
                      images={REFERENCE: job_image_archive})
    try:
        cluster.start()
        manifests = base / "rendered.yaml"
        manifests.write_text(yaml.safe_dump_all(ehk_storage()))
        yield cluster, manifests
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


def test_a_root_owned_nfs_workspace_stops_bootstrap_with_the_fix(
        nfs_cluster: tuple[Cluster, Path]) -> None:
    cluster, manifests = nfs_cluster
    env = cli_env(cluster.kubeconfig)
    failed = kubecall(env, "bootstrap", "--manifests", str(manifests), "--timeout", "300")
    assert failed.returncode != 0
    assert f"claim {WORKSPACE_CLAIM}, mounted at /workspace) is owned by 0:0 with mode 0755" \
        in failed.stderr, failed.stdout + failed.stderr
    assert f"chown {UID}:{GID}" in failed.stderr
    assert "mountPermissions" in failed.stderr
    # Failed at once: an unwritable volume is not retried (podFailurePolicy).
    pods = [p for p in cluster.list("pods", NS)
            if p["metadata"]["labels"].get("job-name") == "workspace-init"]
    assert len(pods) == 1
    # What the message says to do makes bootstrap pass.
    workspace = cluster.claim_dir(NS, WORKSPACE_CLAIM)
    os.chown(workspace, UID, GID)
    done = subprocess.run(["kubectl", "--kubeconfig", str(cluster.kubeconfig), "-n", NS,
                           "delete", "job", "workspace-init"], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    again = kubecall(env, "bootstrap", "--manifests", str(manifests), "--timeout", "300")
    assert again.returncode == 0, again.stdout + again.stderr
    assert (workspace / "result" / ".kubecall-layout").is_file()
    assert {p.name for p in workspace.iterdir()} >= {"result", "runs", "results", "logs"}
