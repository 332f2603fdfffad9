"""kubectl v1.32 against the test cluster, unchanged: the issue's acceptance commands."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cluster.cluster import Cluster
from tests.support.cluster.helpers import assert_schema_clean, wait_for

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")

PVC = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: shared-workspace
spec:
  accessModes: [ReadWriteMany]
  storageClassName: nfs-client
  resources:
    requests:
      storage: 1Gi
"""
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: minio
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: minio}}
  template:
    metadata:
      labels: {{app: minio}}
    spec:
      containers:
      - name: minio
        image: quay.io/minio/minio:{tag}
        command: ["sh", "-c", "echo serving from $(hostname); exec sleep 300"]
        env:
        - name: MINIO_ROOT_USER
          valueFrom: {{secretKeyRef: {{name: minio, key: rootUser}}}}
        volumeMounts:
        - {{name: data, mountPath: /data}}
      volumes:
      - name: data
        persistentVolumeClaim: {{claimName: shared-workspace}}
"""


Kubectl = Callable[..., str]


@pytest.fixture
def kubectl(k8s_cluster: Cluster, tmp_path: Path) -> Kubectl:
    env = {**os.environ, "KUBECONFIG": str(k8s_cluster.kubeconfig),
           "KUBECACHEDIR": str(tmp_path / "kube-cache")}

    def run(*args: str, check: bool = True, stdin: str | None = None) -> str:
        done = subprocess.run(["kubectl", *args], env=env, capture_output=True, text=True,
                              input=stdin, timeout=60)
        if check and done.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {done.stderr}")
        return done.stdout + (done.stderr if not check else "")
    return run


def test_acceptance_commands(k8s_cluster: Cluster, kubectl: Kubectl, tmp_path: Path) -> None:
    out = kubectl("get", "storageclass,pv,pvc,pods,deployments,svc,jobs")
    assert "standard (default)" in out and "nfs-client" in out and "service/kubernetes" in out

    out = kubectl("create", "secret", "generic", "minio", "--from-literal=rootUser=admin",
                  "--from-literal=rootPassword=s3cret")
    assert out.strip() == "secret/minio created"
    secret = json.loads(kubectl("get", "secret", "minio", "-o", "json"))
    assert set(secret["data"]) == {"rootUser", "rootPassword"}

    (tmp_path / "pvc.yaml").write_text(PVC)
    (tmp_path / "deploy.yaml").write_text(DEPLOYMENT.format(replicas=1, tag="RELEASE.1"))
    out = kubectl("apply", "-f", str(tmp_path / "pvc.yaml"), "-f", str(tmp_path / "deploy.yaml"))
    assert "persistentvolumeclaim/shared-workspace created" in out
    assert "deployment.apps/minio created" in out
    out = kubectl("rollout", "status", "deployment/minio", "--timeout=60s")
    assert 'deployment "minio" successfully rolled out' in out

    assert "deployment.apps/minio scaled" in kubectl("scale", "deployment", "minio",
                                                     "--replicas=4")
    out = kubectl("rollout", "status", "deployment", "minio", "--timeout=60s")
    assert "successfully rolled out" in out
    pods = kubectl("get", "pods", "-l", "app=minio", "--no-headers").splitlines()
    assert len(pods) == 4 and all("1/1" in line and "Running" in line for line in pods)
    out = kubectl("get", "pvc,deployments")
    assert "Bound" in out and "RWX" in out and "4/4" in out

    pod = pods[0].split()[0]
    assert kubectl("logs", pod).strip() == f"serving from {pod}"
    assert "serving from minio-" in kubectl("logs", "deployment/minio")

    (tmp_path / "deploy.yaml").write_text(DEPLOYMENT.format(replicas=2, tag="RELEASE.2"))
    assert "deployment.apps/minio configured" in kubectl("apply", "-f",
                                                         str(tmp_path / "deploy.yaml"))
    kubectl("rollout", "status", "deployment/minio", "--timeout=60s")
    assert kubectl("get", "deployment", "minio", "-o", "jsonpath={.spec.replicas}") == "2"

    assert "deployment.apps/minio rolled back" in kubectl("rollout", "undo", "deployment/minio")
    kubectl("rollout", "status", "deployment/minio", "--timeout=60s")
    assert kubectl("get", "deployment", "minio", "-o",
                   "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}") == \
        "2 quay.io/minio/minio:RELEASE.1"
    history = kubectl("rollout", "history", "deployment/minio")
    assert history.split()[-2:] == ["3", "<none>"]

    assert_schema_clean(k8s_cluster)

    out = kubectl("delete", "deployment", "minio")
    assert 'deployment.apps "minio" deleted' in out
    wait_for(lambda: "No resources found" in kubectl("get", "pods", check=False),
             what="the deployment's pods to go")
    assert 'persistentvolumeclaim "shared-workspace" deleted' in kubectl(
        "delete", "-f", str(tmp_path / "pvc.yaml"))
    assert "No resources found" in kubectl("get", "pv", check=False)


def test_kubectl_errors_and_other_verbs(kubectl: Kubectl, tmp_path: Path) -> None:
    out = kubectl("get", "pod", "nope", check=False)
    assert 'pods "nope" not found' in out
    kubectl("create", "namespace", "team")
    kubectl("create", "configmap", "cfg", "-n", "team", "--from-literal=a=1")
    kubectl("label", "configmap", "cfg", "-n", "team", "tier=x")
    assert kubectl("get", "cm", "-n", "team", "-l", "tier=x", "-o", "name").strip() == \
        "configmap/cfg"
    kubectl("patch", "configmap", "cfg", "-n", "team", "--type=merge", "-p",
            '{"data":{"b":"2"}}')
    kubectl("patch", "configmap", "cfg", "-n", "team", "--type=json", "-p",
            '[{"op":"remove","path":"/data/a"}]')
    assert json.loads(kubectl("get", "cm", "cfg", "-n", "team", "-o", "json"))["data"] == \
        {"b": "2"}
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                      "  name: ssa\n  namespace: team\ndata:\n  k: v\n")
    assert "serverside-applied" in kubectl("apply", "--server-side", "-f",
                                           str(tmp_path / "cm.yaml"))
    (tmp_path / "typo.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                                        "  name: typo\n  namespace: team\ndata: {}\n"
                                        "datta:\n  k: v\n")
    out = kubectl("apply", "-f", str(tmp_path / "typo.yaml"), check=False)
    assert 'strict decoding error: unknown field "datta"' in out
    kubectl("create", "serviceaccount", "bot", "-n", "team")
    as_bot = "--as=system:serviceaccount:team:bot"
    assert kubectl("auth", "can-i", "list", "pods", "-n", "team", as_bot,
                   check=False).strip() == "no"
    kubectl("create", "rolebinding", "bot-view", "-n", "team", "--clusterrole=view",
            "--serviceaccount=team:bot")
    assert kubectl("auth", "can-i", "list", "pods", "-n", "team", as_bot).strip() == "yes"
    assert "Forbidden" in kubectl("get", "secrets", "-n", "default", as_bot, check=False)
    kubectl("delete", "namespace", "team")
    assert "team" not in kubectl("get", "ns", "-o", "name")


def test_serve_command_writes_a_kubeconfig_and_stops_cleanly(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(Path(__file__).parents[2]), os.environ.get("PYTHONPATH")]))}
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.support.cluster", "serve", "--kubeconfig", str(config),
         "--state", str(tmp_path / "state")], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        assert server.stdout.readline().startswith("kubecall test cluster at https://127.0.0.1:")
        out = subprocess.run(["kubectl", "get", "storageclass", "-o", "name"],
                             env={**env, "KUBECONFIG": str(config),
                                  "KUBECACHEDIR": str(tmp_path / "cache")},
                             capture_output=True, text=True, timeout=60, check=True).stdout
        assert out.split() == ["storageclass.storage.k8s.io/nfs-client",
                               "storageclass.storage.k8s.io/standard"]
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=30) == 0
