"""The node agent: processes, env, volumes in private mount namespaces, statuses, hooks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client

from tests.support.cluster.cgroups import MemoryCgroups
from tests.support.cluster.cluster import Cluster
from tests.support.cluster.helpers import (
    api_client,
    assert_schema_clean,
    pod_log,
    pod_manifest,
    wait_for,
    wait_pod_phase,
)
from tests.support.cluster.plugin import ClusterFactory, sandbox_processes
from tests.support.leftovers import session_tag


@pytest.fixture
def core(api: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api)


def run_pod(core: client.CoreV1Api, ns: str, body: dict) -> client.V1Pod:
    core.create_namespaced_pod(ns, body)
    return wait_pod_phase(core, ns, body["metadata"]["name"])


def terminated(pod: client.V1Pod, index: int = 0) -> client.V1ContainerStateTerminated:
    return pod.status.container_statuses[index].state.terminated


def test_command_args_env_and_working_dir(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_secret(ns, {"metadata": {"name": "creds"},
                                       "stringData": {"user": "alice"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "settings"},
                                           "data": {"level": "debug"}})
    body = pod_manifest("env", ["sh", "-c"], container={
        "args": ['echo "$GREETING $USER_NAME $LEVEL $(pwd) $POD"; echo err >&2; exit 3'],
        "workingDir": "/usr",
        "env": [{"name": "GREETING", "value": "hello-$(LEVEL_LIT)"},
                {"name": "USER_NAME", "valueFrom": {"secretKeyRef": {"name": "creds",
                                                                     "key": "user"}}},
                {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "settings",
                                                                    "key": "level"}}},
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]})
    pod = run_pod(core, ns, body)
    assert pod.status.phase == "Failed"
    state = terminated(pod)
    assert (state.exit_code, state.reason) == (3, "Error")
    log = pod_log(core, ns, "env")
    assert "hello-$(LEVEL_LIT) alice debug /usr env" in log and "err" in log


def test_init_containers_run_in_order_before_containers(core: client.CoreV1Api, ns: str) -> None:
    body = pod_manifest("init", ["sh", "-c", "cat /work/order"], volumes=[
        {"name": "work", "emptyDir": {}}])
    body["spec"]["containers"][0]["volumeMounts"] = [{"name": "work", "mountPath": "/work"}]
    body["spec"]["initContainers"] = [
        {"name": f"init-{n}", "image": "busybox", "command": ["sh", "-c",
                                                              f"echo {n} >> /work/order"],
         "volumeMounts": [{"name": "work", "mountPath": "/work"}]} for n in (1, 2)]
    pod = run_pod(core, ns, body)
    assert pod.status.phase == "Succeeded"
    assert [s.state.terminated.reason for s in pod.status.init_container_statuses] == \
        ["Completed", "Completed"]
    assert pod_log(core, ns, "init", container="main").split() == ["1", "2"]
    assert pod_log(core, ns, "init", container="init-2") == ""


def test_failed_init_container_fails_a_never_restart_pod(core: client.CoreV1Api, ns: str) -> None:
    body = pod_manifest("badinit", ["true"])
    body["spec"]["initContainers"] = [{"name": "i", "image": "x", "command": ["false"]}]
    pod = run_pod(core, ns, body)
    assert pod.status.phase == "Failed"
    assert pod.status.init_container_statuses[0].state.terminated.exit_code == 1
    assert pod.status.container_statuses[0].state.waiting is not None


def test_missing_command_is_a_start_error(core: client.CoreV1Api, ns: str) -> None:
    pod = run_pod(core, ns, pod_manifest("nocmd", ["/no/such/binary"]))
    state = terminated(pod)
    assert state.reason == "StartError" and state.exit_code == 128


def test_secret_and_configmap_volumes_are_read_only_files(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_secret(ns, {"metadata": {"name": "s"}, "stringData": {"pw": "p4ss"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "c"},
                                           "data": {"a.conf": "x=1"}})
    body = pod_manifest("files", ["sh", "-c",
                                  "cat /etc/s/pw; echo; cat /etc/c/settings.conf; echo; "
                                  "touch /etc/s/new 2>&1; true"],
                        volumes=[{"name": "s", "secret": {"secretName": "s"}},
                                 {"name": "c", "configMap": {"name": "c", "items": [
                                     {"key": "a.conf", "path": "settings.conf"}]}}])
    body["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "s", "mountPath": "/etc/s"}, {"name": "c", "mountPath": "/etc/c"}]
    run_pod(core, ns, body)
    log = pod_log(core, ns, "files").splitlines()
    assert log[:2] == ["p4ss", "x=1"]
    assert "Read-only file system" in log[2]


def test_rox_claim_is_read_only_and_rwx_claim_is_shared(
        k8s_cluster_module: Cluster, core: client.CoreV1Api, ns: str) -> None:
    source = k8s_cluster_module.state_dir / "nfs-export-1000g"
    source.mkdir()
    (source / "sample.txt").write_text("reads\n")
    k8s_cluster_module.node.nfs_exports["nfs.example:/export/1000g"] = source
    core.create_persistent_volume({"metadata": {"name": f"pv1000g-{ns}"}, "spec": {
        "capacity": {"storage": "100Gi"}, "accessModes": ["ReadOnlyMany"],
        "storageClassName": "", "nfs": {"server": "nfs.example", "path": "/export/1000g"}}})
    core.create_namespaced_persistent_volume_claim(ns, {"metadata": {"name": "data"}, "spec": {
        "accessModes": ["ReadOnlyMany"], "storageClassName": "", "volumeName": f"pv1000g-{ns}",
        "resources": {"requests": {"storage": "100Gi"}}}})
    core.create_namespaced_persistent_volume_claim(ns, {"metadata": {"name": "shared"}, "spec": {
        "accessModes": ["ReadWriteMany"], "storageClassName": "nfs-client",
        "resources": {"requests": {"storage": "1Gi"}}}})
    mounts = [{"name": "data", "mountPath": "/datasource"},
              {"name": "shared", "mountPath": "/workspace"}]
    volumes = [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}},
               {"name": "shared", "persistentVolumeClaim": {"claimName": "shared"}}]
    writer = pod_manifest("writer", ["sh", "-c", "cat /datasource/sample.txt; "
                                     "echo from-writer > /workspace/note; "
                                     "echo x > /datasource/new"], volumes=volumes)
    writer["spec"]["containers"][0]["volumeMounts"] = mounts
    pod = run_pod(core, ns, writer)
    assert terminated(pod).exit_code != 0
    log = pod_log(core, ns, "writer")
    assert "reads" in log and "Read-only file system" in log
    assert not (source / "new").exists()
    reader = pod_manifest("reader", ["cat", "/workspace/note"], volumes=volumes)
    reader["spec"]["containers"][0]["volumeMounts"] = mounts
    pod = run_pod(core, ns, reader)
    assert pod.status.phase == "Succeeded"
    assert pod_log(core, ns, "reader") == "from-writer\n"
    note = k8s_cluster_module.claim_dir(ns, "shared") / "note"
    assert note.read_text() == "from-writer\n"
    assert k8s_cluster_module.claim_dir(ns, "data") == source
    assert not Path("/workspace/note").exists()


def test_empty_dir_is_private_and_memory_medium_is_a_sized_tmpfs(
        core: client.CoreV1Api, ns: str) -> None:
    script = ("ls /scratch; echo mine > /scratch/f; findmnt -n -o FSTYPE /mem; "
              "dd if=/dev/zero of=/mem/big bs=1M count=4 2>&1 | grep -c 'No space left'")
    for name in ("first", "second"):
        body = pod_manifest(name, ["sh", "-c", script], volumes=[
            {"name": "scratch", "emptyDir": {}},
            {"name": "mem", "emptyDir": {"medium": "Memory", "sizeLimit": "2Mi"}}])
        body["spec"]["containers"][0]["volumeMounts"] = [
            {"name": "scratch", "mountPath": "/scratch"}, {"name": "mem", "mountPath": "/mem"}]
        run_pod(core, ns, body)
        lines = pod_log(core, ns, name).splitlines()
        assert lines[0] == "tmpfs", f"/scratch of {name} was not empty: {lines}"
        assert lines[-1] == "1", f"/mem of {name} was not limited to 2Mi: {lines}"


def test_read_only_mount_and_read_only_root_and_run_as_user(
        core: client.CoreV1Api, ns: str) -> None:
    body = pod_manifest("sec", ["sh", "-c", "id -u; id -g; touch /opt/x 2>&1; "
                                "touch /out/y 2>&1; touch /w/z && echo w-ok"],
                        securityContext={"runAsUser": 1234, "runAsGroup": 2345},
                        volumes=[{"name": "a", "emptyDir": {}}, {"name": "b", "emptyDir": {}}])
    body["spec"]["containers"][0]["securityContext"] = {"readOnlyRootFilesystem": True}
    body["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "a", "mountPath": "/out", "readOnly": True}, {"name": "b", "mountPath": "/w"}]
    run_pod(core, ns, body)
    lines = pod_log(core, ns, "sec").splitlines()
    assert lines[:2] == ["1234", "2345"]
    assert "Read-only file system" in lines[2] and "Read-only file system" in lines[3]
    assert lines[4] == "w-ok"


def test_run_as_non_root_with_root_user_is_a_config_error(core: client.CoreV1Api, ns: str) -> None:
    body = pod_manifest("root", ["true"], securityContext={"runAsNonRoot": True,
                                                           "runAsUser": 0})
    core.create_namespaced_pod(ns, body)

    def waiting() -> object:
        statuses = core.read_namespaced_pod("root", ns).status.container_statuses or []
        state = statuses and statuses[0].state.waiting
        return state if state and state.reason != "ContainerCreating" else None
    state = wait_for(waiting, what="the container to wait with a config error")
    assert state.reason == "CreateContainerConfigError" and "non-root" in state.message
    assert core.read_namespaced_pod("root", ns).status.phase == "Pending"


def test_memory_limit_is_enforced_as_oom_killed(
        k8s_cluster_module: Cluster, core: client.CoreV1Api, ns: str) -> None:
    if not k8s_cluster_module.memory_limits_enforced:
        pytest.skip("no writable memory cgroup on this host: limits are recorded only")
    body = pod_manifest("hog", ["python3", "-c", "x = bytearray(200 * 1024 * 1024); print(1)"],
                        container={"resources": {"limits": {"memory": "64Mi"}}})
    pod = run_pod(core, ns, body)
    state = terminated(pod)
    assert (state.reason, state.exit_code) == ("OOMKilled", 137)
    assert pod.status.phase == "Failed"


def test_restart_policy_on_failure_restarts_the_container(core: client.CoreV1Api, ns: str) -> None:
    body = pod_manifest("retry", ["sh", "-c", "test -f /s/seen && exit 0; touch /s/seen; exit 1"],
                        restartPolicy="OnFailure", volumes=[{"name": "s", "emptyDir": {}}])
    body["spec"]["containers"][0]["volumeMounts"] = [{"name": "s", "mountPath": "/s"}]
    pod = run_pod(core, ns, body)
    assert pod.status.phase == "Succeeded"
    assert pod.status.container_statuses[0].restart_count == 1
    assert pod.status.container_statuses[0].last_state.terminated.exit_code == 1


def test_kill_evict_hold_and_delete_hooks(
        k8s_cluster_module: Cluster, core: client.CoreV1Api, ns: str) -> None:
    cluster = k8s_cluster_module
    for name in ("killed", "evicted", "deleted"):
        core.create_namespaced_pod(ns, pod_manifest(name, ["sleep", "300"]))
    for name in ("killed", "evicted", "deleted"):
        wait_pod_phase(core, ns, name, ("Running",))
    cluster.kill_pod(ns, "killed")
    pod = wait_pod_phase(core, ns, "killed")
    assert (pod.status.phase, terminated(pod).exit_code) == ("Failed", 137)

    seen_conditions: list[str] = []

    def evicted_gone() -> bool:
        try:
            pod = core.read_namespaced_pod("evicted", ns)
            seen_conditions.extend(c.type for c in pod.status.conditions or [])
            return False
        except client.ApiException as exc:
            return exc.status == 404
    cluster.evict_pod(ns, "evicted")
    wait_for(evicted_gone, what="evicted pod removal")
    assert "DisruptionTarget" in seen_conditions

    core.delete_namespaced_pod("deleted", ns)
    wait_for(lambda: "deleted" not in {p.metadata.name
                                       for p in core.list_namespaced_pod(ns).items},
             what="pod deletion")

    cluster.hold_pods(lambda pod: pod["metadata"]["namespace"] == ns)
    try:
        core.create_namespaced_pod(ns, pod_manifest("held", ["true"]))
        with pytest.raises(AssertionError):
            wait_pod_phase(core, ns, "held", ("Running", "Succeeded"), timeout=1.0)
        assert core.read_namespaced_pod("held", ns).status.phase == "Pending"
    finally:
        cluster.release_pods()
    wait_pod_phase(core, ns, "held", ("Succeeded",))


def test_pod_active_deadline_fails_the_pod(core: client.CoreV1Api, ns: str) -> None:
    pod = run_pod(core, ns, pod_manifest("deadline", ["sleep", "300"], activeDeadlineSeconds=1))
    assert (pod.status.phase, pod.status.reason) == ("Failed", "DeadlineExceeded")
    assert terminated(pod).exit_code in (137, 143)  # SIGKILL or SIGTERM


def test_logs_follow_and_previous(core: client.CoreV1Api, ns: str) -> None:
    body = pod_manifest("logs", ["sh", "-c", "for i in 1 2 3; do echo line-$i; done"])
    run_pod(core, ns, body)
    assert pod_log(core, ns, "logs", tail_lines=1) == "line-3\n"
    assert pod_log(core, ns, "logs", follow=True) == "line-1\nline-2\nline-3\n"


def _processes_with_args(*args: str) -> list[int]:
    wanted = "\0".join(args).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if wanted in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_processes_left_behind_by_a_container_are_killed(
        k8s_cluster_module: Cluster, core: client.CoreV1Api, ns: str) -> None:
    if not k8s_cluster_module.memory_limits_enforced:
        pytest.skip("no writable cgroup: escaped daemons cannot be tracked")
    pod = run_pod(core, ns, pod_manifest("daemon", ["sh", "-c", "setsid sleep 3141 & sleep 0.2"]))
    assert pod.status.phase == "Succeeded"
    wait_for(lambda: not _processes_with_args("sleep", "3141"), what="the daemon to be killed")


def test_cluster_stop_ends_processes_and_leaves_no_mounts(k8s_cluster_factory: ClusterFactory,
                                                          tmp_path: Path) -> None:
    before = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True,
                            check=True).stdout
    cgroups = MemoryCgroups()
    export = tmp_path / "export"
    export.mkdir()
    (export / "HG00096.cram").write_text("reads")
    cluster = k8s_cluster_factory(nfs_exports={"nfs.example.org:/export/1000g": export})
    core = client.CoreV1Api(api_client(cluster))
    core.create_persistent_volume({"metadata": {"name": "pv1000g"}, "spec": {
        "capacity": {"storage": "200Ti"}, "accessModes": ["ReadOnlyMany"],
        "storageClassName": "", "persistentVolumeReclaimPolicy": "Retain",
        "nfs": {"server": "nfs.example.org", "path": "/export/1000g"}}})
    core.create_namespaced_persistent_volume_claim("default", {
        "metadata": {"name": "pv1000g"}, "spec": {
            "accessModes": ["ReadOnlyMany"], "storageClassName": "", "volumeName": "pv1000g",
            "resources": {"requests": {"storage": "200Ti"}}}})
    body = pod_manifest("long", ["sh", "-c", "cat /datasource/HG00096.cram; exec sleep 300"],
                        volumes=[{"name": "m", "emptyDir": {"medium": "Memory"}},
                                 {"name": "d", "persistentVolumeClaim": {"claimName": "pv1000g",
                                                                         "readOnly": True}}])
    body["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "m", "mountPath": "/kubecall-test-mnt"},
        {"name": "d", "mountPath": "/datasource", "readOnly": True}]
    core.create_namespaced_pod("default", body)
    pod = wait_pod_phase(core, "default", "long", ("Running",))
    wait_for(lambda: pod_log(core, "default", "long") == "reads", what="the NFS export's file")
    assert sandbox_processes(cluster.state_dir)

    def pod_cgroups() -> list[Path]:
        prefix = f"{session_tag()}{pod.metadata.uid[:8]}-"
        return [p for p in cgroups.base.iterdir() if p.name.startswith(prefix)] \
            if cgroups.base else []
    assert pod_cgroups() or not cgroups.enforced
    cluster.stop()
    after = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True,
                           check=True).stdout
    assert after == before
    assert not sandbox_processes(cluster.state_dir)
    assert not Path("/kubecall-test-mnt").exists()
    assert not pod_cgroups()


IN_CLUSTER = """
from kubernetes import client, config
config.load_incluster_config()
namespace = open("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read()
print("jobs", len(client.BatchV1Api().list_namespaced_job(namespace).items))
try:
    client.CoreV1Api().list_namespaced_secret(namespace)
except client.ApiException as exc:
    print("secrets", exc.status)
"""


def test_pods_reach_the_api_with_in_cluster_config_and_their_service_account(
        api: client.ApiClient, core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_service_account(ns, {"metadata": {"name": "driver"}})
    client.RbacAuthorizationV1Api(api).create_namespaced_role(ns, {
        "metadata": {"name": "driver"},
        "rules": [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["list"]}]})
    client.RbacAuthorizationV1Api(api).create_namespaced_role_binding(ns, {
        "metadata": {"name": "driver"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "driver"},
        "subjects": [{"kind": "ServiceAccount", "name": "driver", "namespace": ns}]})
    body = pod_manifest("driver", [sys.executable, "-c", IN_CLUSTER],
                        serviceAccountName="driver")
    pod = run_pod(core, ns, body)
    log = pod_log(core, ns, "driver")
    assert pod.status.phase == "Succeeded", log
    assert log.split("\n")[:2] == ["jobs 0", "secrets 403"]


def test_image_entrypoints_stand_in_for_images_without_command(
        k8s_cluster_factory: ClusterFactory) -> None:
    cluster = k8s_cluster_factory(image_entrypoints={
        "quay.io/minio/minio": ["echo", "minio-standin"],
        "busybox:1.36": lambda container: ["echo", "whole", container["name"]]})
    core = client.CoreV1Api(api_client(cluster))
    for name, image in (("entry", "quay.io/minio/minio:RELEASE.2024"), ("func", "busybox:1.36"),
                        ("none", "unknown:1")):
        body = pod_manifest(name, [])
        body["spec"]["containers"][0].update(image=image, args=["server", "/data"])
        del body["spec"]["containers"][0]["command"]
        core.create_namespaced_pod("default", body)
    wait_pod_phase(core, "default", "entry")
    wait_pod_phase(core, "default", "func")
    assert pod_log(core, "default", "entry") == "minio-standin server /data\n"
    assert pod_log(core, "default", "func") == "whole main\n"
    pod = wait_pod_phase(core, "default", "none")
    assert terminated(pod).reason == "StartError"


def test_service_names_resolve_inside_pods(core: client.CoreV1Api, ns: str) -> None:
    core.create_namespaced_service(ns, {"metadata": {"name": "minio"}, "spec": {
        "selector": {"app": "minio"}, "ports": [{"port": 9000}]}})
    script = (f"getent hosts minio; getent hosts minio.{ns}.svc.cluster.local; "
              "until getent hosts late; do sleep 0.1; done")
    core.create_namespaced_pod(ns, pod_manifest("resolver", ["sh", "-c", script]))
    wait_pod_phase(core, ns, "resolver", ("Running",))
    core.create_namespaced_service(ns, {"metadata": {"name": "late"}, "spec": {
        "ports": [{"port": 80}]}})
    pod = wait_pod_phase(core, ns, "resolver")
    assert pod.status.phase == "Succeeded"
    lines = pod_log(core, ns, "resolver").splitlines()
    assert [line.split()[0] for line in lines] == ["127.0.0.1"] * 3
    assert f"minio.{ns}.svc.cluster.local" in lines[1].split()


def test_everything_stored_fits_the_schema(k8s_cluster_module: Cluster) -> None:
    """Runs last in this module: the module's cluster holds what the tests above made."""
    assert_schema_clean(k8s_cluster_module)
