"""The cluster sub-commands' help, user errors, apply planning and stuck diagnostics."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from kubecall import cli
from kubecall.cluster import cli as cluster_cli
from kubecall.cluster.applying import contains, in_dependency_order
from kubecall.cluster.driver_job import DriverSpec, driver_job
from kubecall.errors import KubecallError
from tests.cli.testing_overlay import STORAGE_CLASSES
from tests.manifests.conftest import K8S
from tests.support.cluster.cluster import Cluster

# Every registered verb of the cluster concern, read from the registry itself.
CLUSTER_COMMANDS = tuple(module.rsplit(".", 1)[1] for module in cluster_cli.VERB_MODULES)


@pytest.mark.parametrize("command", CLUSTER_COMMANDS)
def test_help_has_usage_and_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main([command, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: kubecall {command}")
    assert "example" in out and f"kubecall {command}" in out.split("example", 1)[1]


def test_top_level_help_lists_the_cluster_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for command in CLUSTER_COMMANDS:
        assert command in out


@pytest.mark.parametrize("argv,message", [
    (["bootstrap", "--overlay", "nosuch", "--dry-run"],
     "error: --overlay nosuch: no kustomization.yaml there; use one of ehk, gke, minikube"),
    (["launch", "--configfile", "c.yaml", "--workdir", "/etc", "--dry-run"],
     "error: --workdir /etc: must be /workspace or a directory under it"),
    (["launch", "--configfile", "/home/me/c.yaml", "--dry-run"],
     "error: --configfile '/home/me/c.yaml': give a path relative to --workdir"),
    (["launch", "--configfile", "c.yaml", "--driver-command", " ", "--dry-run"],
     "error: --driver-command is empty"),
    (["status", "--kubeconfig", "/nonexistent/kubeconfig"],
     "error: --kubeconfig /nonexistent/kubeconfig: no such file"),
    (["bootstrap", "--manifests", "/nonexistent.yaml"],
     "error: --manifests /nonexistent.yaml: No such file or directory"),
])
def test_user_errors_exit_2_with_a_message(argv: list[str], message: str,
                                           capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.startswith(message)


def test_launch_dry_run_prints_the_driver_job(capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECALL_DRIVER_COMMAND", "python -m snakemake")
    assert cli.main(["launch", "--configfile", "c.yaml", "--run-id", "r7", "--dry-run",
                     "--", "--jobs", "50"]) == 0
    out = capsys.readouterr().out
    assert "name: kubecall-run-r7" in out
    assert "- python\n        - -m\n        - snakemake\n        - --profile\n" \
           "        - profiles/kubernetes\n        - --configfile=c.yaml\n" \
           "        - --jobs\n        - '50'\n" in out


def test_driver_job_defaults_to_the_images_snakemake() -> None:
    job = driver_job(DriverSpec("r1", "kubecall", "c.yaml", "profiles/kubernetes"))
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:3] == ["snakemake", "--profile", "profiles/kubernetes"]
    assert container["image"] == "ghcr.io/kubecall/kubecall:0.1.0"
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/datasource"]["readOnly"] is True
    assert set(mounts) == {"/workspace", "/datasource", "/tmp", "/scratch",
                           "/var/run/secrets/kubecall/minio"}
    # The MinIO Secret as read-only files (publish.credentials_dir), never as values; the
    # only references are the downward API's (the pod's own name and uid).
    assert mounts["/var/run/secrets/kubecall/minio"]["readOnly"] is True
    assert all("fieldRef" in variable["valueFrom"] for variable in container["env"]
               if "valueFrom" in variable), container["env"]


@pytest.mark.parametrize("live,desired,expected", [
    ({"a": 1, "b": {"c": "x", "d": 2}}, {"b": {"c": "x"}}, True),
    ({"a": 1}, {"a": 2}, False),
    ({"port": 9000}, {"port": "9000"}, True),
    ({"l": [{"n": 1, "x": 2}]}, {"l": [{"n": 1}]}, True),
    ({"l": [{"n": 1}, {"n": 2}]}, {"l": [{"n": 1}]}, False),
    ({}, {"storageClassName": ""}, True),
    ({}, {"k": "v"}, False),
])
def test_contains_compares_only_what_kubecall_sets(live: dict, desired: dict,
                                                   expected: bool) -> None:
    assert contains(live, desired) is expected


def test_dependency_order() -> None:
    objects = [{"apiVersion": a, "kind": k, "metadata": {"name": k.lower()}} for a, k in [
        ("batch/v1", "Job"), ("apps/v1", "Deployment"), ("v1", "PersistentVolumeClaim"),
        ("rbac.authorization.k8s.io/v1", "Role"), ("v1", "Namespace")]]
    assert [o["kind"] for o in in_dependency_order(objects)] == [
        "Namespace", "Role", "PersistentVolumeClaim", "Deployment", "Job"]
    with pytest.raises(KubecallError, match="kubecall cannot manage CustomThing"):
        in_dependency_order([{"apiVersion": "x/v1", "kind": "CustomThing",
                              "metadata": {"name": "c"}}])


def test_a_missing_storage_class_is_named_and_dry_run_writes_nothing(
        k8s_cluster: Cluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The minikube overlay creates its `kubecall-rwx` class; without it (as when a site's
    # class is missing) the workspace claim cannot bind, and bootstrap must say so.
    kubeconfig = str(k8s_cluster.kubeconfig)
    rendered = subprocess.run(["kubectl", "kustomize", str(K8S / "overlays" / "minikube")],
                              capture_output=True, text=True, check=True).stdout
    objects = [o for o in yaml.safe_load_all(rendered) if o and o["kind"] != "StorageClass"]
    manifests = tmp_path / "no-class.yaml"
    manifests.write_text(yaml.safe_dump_all(objects))

    assert cli.main(["bootstrap", "--manifests", str(manifests), "--dry-run",
                     "--kubeconfig", kubeconfig]) == 0
    out = capsys.readouterr().out
    assert "would create PersistentVolumeClaim shared-workspace in kubecall" in out
    assert "would create Secret minio in kubecall" in out
    assert not [r for r in k8s_cluster.requests.snapshot()
                if r.verb in {"create", "update", "patch", "delete"}]

    assert cli.main(["bootstrap", "--manifests", str(manifests), "--timeout", "2",
                     "--kubeconfig", kubeconfig]) == 2
    err = capsys.readouterr().err
    assert "error: still not ready after 2s:" in err
    assert "PVC shared-workspace Pending: no storage class kubecall-rwx" in err


def test_no_kubeconfig_anywhere_is_a_user_error(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    assert cli.main(["credentials"]) == 2
    assert capsys.readouterr().err == (
        f"error: no kubeconfig at {tmp_path / 'absent'} and not running in a cluster; pass "
        "--kubeconfig or set KUBECONFIG\n")


def test_an_unschedulable_minio_is_explained(k8s_cluster_factory: Callable[..., Cluster],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    # A node too small for MinIO's requests (250m CPU): claims bind, the pod stays Pending.
    cluster = k8s_cluster_factory(storage_classes=STORAGE_CLASSES,
                                  node_resources={"cpu": "200m"})
    assert cli.main(["bootstrap", "--overlay", "minikube", "--timeout", "2",
                     "--kubeconfig", str(cluster.kubeconfig)]) == 2
    captured = capsys.readouterr()
    assert "ready     PersistentVolumeClaim shared-workspace" in captured.out
    problem = captured.err.splitlines()[1].strip()
    assert problem.startswith("Deployment minio not available: pod minio-")
    assert "not scheduled: Unschedulable" in problem and "cpu" in problem.lower()
