"""A test-only overlay over k8s/overlays/minikube for the test cluster.

There is no MinIO binary here: the MinIO container runs moto's S3 server on the host instead
(pods are host processes sharing the host network), on a free port so parallel test sessions do
not collide; the Service and the bucket Job follow that port.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import yaml

from tests.conftest import REPO
from tests.support.cluster.hostpaths import POD_PYTHON, pod_pythonpath

MINIKUBE = REPO / "k8s" / "overlays" / "minikube"
# What the minikube overlay's claims need from the test cluster.
STORAGE_CLASSES = {
    "standard": ("rancher.io/local-path", ["ReadWriteOnce", "ReadWriteOncePod"]),
    "kubecall-rwx": ("k8s.io/minikube-hostpath",
                     ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]),
}
DATASOURCE_EXPORT = "host.minikube.internal:/srv/1000g"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _json_patch(kind: str, name: str, operations: list[dict]) -> dict:
    return {"target": {"kind": kind, "name": name}, "patch": yaml.safe_dump(operations)}


def write_moto_overlay(directory: Path, port: int) -> Path:
    """Write the overlay into ``directory`` and return it."""
    container = "/spec/template/spec/containers/0"
    directory.mkdir(parents=True, exist_ok=True)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        # kustomize refuses absolute resource paths.
        "resources": [os.path.relpath(MINIKUBE, directory)],
        "patches": [
            _json_patch("Deployment", "minio", [
                {"op": "replace", "path": f"{container}/command",
                 "value": ["python", "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]},
                {"op": "remove", "path": f"{container}/args"},
                {"op": "replace", "path": f"{container}/ports",
                 "value": [{"name": "s3", "containerPort": port}]},
                {"op": "replace", "path": f"{container}/readinessProbe/httpGet/port",
                 "value": port},
                {"op": "replace", "path": f"{container}/livenessProbe/httpGet/port",
                 "value": port},
            ]),
            _json_patch("Service", "minio", [
                {"op": "replace", "path": "/spec/ports/0/port", "value": port},
                {"op": "replace", "path": "/spec/ports/0/targetPort", "value": port},
            ]),
            _json_patch("NetworkPolicy", "minio", [
                {"op": "replace", "path": "/spec/ingress/0/ports/0/port", "value": port},
            ]),
            _json_patch("Job", "minio-bucket", [
                {"op": "replace", "path": f"{container}/env/0/value",
                 "value": f"http://minio:{port}"},
            ]),
        ],
    }
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization, sort_keys=False))
    return directory


def pod_runtime(directory: Path) -> dict[str, str]:
    """Environment for pods that run host tools as uid 10001 (MinIO's moto stand-in).

    The venv's interpreter links into /root (mode 700), which uid 10001 cannot enter, so pods
    get a `python` that is the system Python 3.11 with the venv's site-packages on PYTHONPATH.
    ``directory`` must be world-readable (pytest's tmp_path is not).
    """
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in ("python", "python3"):
        link = bin_dir / name
        if not link.exists():
            link.symlink_to(POD_PYTHON)
    for path in (directory, bin_dir):
        path.chmod(0o755)
    # staged where pods can read them, wherever the checkout is (tests/support/cluster/hostpaths.py)
    return {
        "PATH": f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": pod_pythonpath(REPO),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
