"""A driver that dies in its pod leaves no Job running (issue 15, finding 13).

`kubecall launch`'s driver Job has `restartPolicy: Never`, so an OOMKilled or SIGKILLed driver
container leaves its pod Failed, not deleted, and the garbage collector (the Jobs are owned by
that pod, test_driver_owner.py) never fires. The driver pod's reaper, a native sidecar, is
stopped by the kubelet once the driver container ended and deletes the run's unfinished Jobs
then; in a mesh whose proxy keeps the pod running it sees the driver's end in the pod's status.
Finished Jobs stay for `kubecall status` and `kubecall logs --failed`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from kubecall.cluster.contract import (
    COMPONENT_LABEL,
    JOB_COMPONENT,
    RULE_LABEL,
    RUN_LABEL,
    container_security_context,
    pod_security_context,
)
from kubecall.cluster.driver_job import DriverSpec, driver_job, job_name
from tests.executor.conftest import (
    NAMESPACE,
    SECRET_NAME,
    UID,
    KubeEnv,
    demo_config,
    wait_for,
    write_demo_sheet,
)
from tests.executor.test_faults import ONE_BATCH
from tests.support.cluster.mesh import PROXY_NAME
from tests.support.image import REFERENCE

# The run directory as the driver pod sees it: the workspace claim is mounted at /workspace.
WORKDIR = "/workspace/run"
CONFIG = "config/in-pod.yaml"
# A driver that says it ran once the reaper watches (a real driver takes seconds to start,
# the reaper far less), by its pod's token; launch appends --profile/--configfile.
WAITS_FOR_REAPER = """
import os, sys, time
from kubernetes import client, config
config.load_incluster_config()
core = client.CoreV1Api()
pod, namespace = os.environ["KUBECALL_DRIVER_POD"], os.environ["KUBECALL_NAMESPACE"]
while True:
    try:
        if "Jobs are deleted once" in core.read_namespaced_pod_log(pod, namespace,
                                                                   container="reaper"):
            break
    except client.ApiException:
        pass
    time.sleep(0.2)
print("driver ran")
sys.exit(int(os.environ.get("EXIT", "0")))
"""
SAYS_HELLO = "python driver.py"


def kubecall(env: KubeEnv, *args: str) -> subprocess.CompletedProcess[str]:
    """The kubecall CLI as the cluster's admin; the timeout only stops a hang."""
    return subprocess.run([sys.executable, "-m", "kubecall.cli", *args],
                          env={**os.environ, "KUBECONFIG": str(env.cluster.kubeconfig)},  # type: ignore[attr-defined]
                          capture_output=True, text=True, timeout=900, check=False)


def launch(env: KubeEnv, run_id: str, driver_command: str, *snakemake_args: str,
           detach: bool = False) -> subprocess.CompletedProcess[str]:
    return kubecall(env, "launch", "--configfile", CONFIG, "--profile", "profiles/kubernetes",
                    "--workdir", WORKDIR, "--run-id", run_id, "--driver-command",
                    driver_command, "--cpu", "500m", "--memory", "1Gi",
                    *(["--detach"] if detach else []), "--", *snakemake_args)


def write_driver(env: KubeEnv, code: int = 0) -> None:
    (env.rundir / "driver.py").write_text(WAITS_FOR_REAPER.replace(
        '"EXIT", "0"', f'"EXIT", "{code}"'))
    os.chown(env.rundir / "driver.py", UID, UID)


def write_in_pod_config(env: KubeEnv) -> None:
    """The demo config with the data source where the driver's pod mounts it."""
    config = demo_config(Path("/datasource"))
    config["samples"] = "config/in-pod.tsv"
    write_demo_sheet(env.rundir / "config" / "in-pod.tsv", Path("/datasource"))
    (env.rundir / CONFIG).write_text(yaml.safe_dump(config))
    for name in ("in-pod.tsv", "in-pod.yaml"):
        os.chown(env.rundir / "config" / name, UID, UID)


def executor_like_job(name: str, run_id: str, command: list[str],
                      rule: str = "call_batch") -> dict:
    """A Job labelled as the executor labels its Jobs (run id, component, rule); the pods
    of call_batch Jobs are held Pending (`hold_calls`)."""
    labels = {RUN_LABEL: run_id, COMPONENT_LABEL: JOB_COMPONENT, RULE_LABEL: rule}
    resources = {"cpu": "100m", "memory": "64Mi"}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "labels": labels},
            "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": dict(labels)}, "spec": {
                "restartPolicy": "Never", "automountServiceAccountToken": False,
                "securityContext": pod_security_context(),
                "containers": [{"name": "snakemake", "image": f"{REFERENCE}:0.1.0",
                                "command": command, "workingDir": "/tmp",
                                "securityContext": container_security_context(),
                                "resources": {"requests": resources, "limits": resources}}]}}}}


def create_job(env: KubeEnv, body: dict, until: str | None = None) -> None:
    """Create a Job; with `until`, wait for its condition (Failed, Complete)."""
    batch = client.BatchV1Api(env.admin)
    batch.create_namespaced_job(NAMESPACE, body)
    if until:
        name = body["metadata"]["name"]
        wait_for(lambda: any(c.type == until and c.status == "True" for c in
                             batch.read_namespaced_job(name, NAMESPACE).status.conditions or []),
                 timeout=600, what=f"Job {name} to be {until}")


def hold_calls(env: KubeEnv) -> None:
    """call_batch pods stay Pending: their Jobs stay unfinished however slow the machine."""
    env.cluster.hold_pods(  # type: ignore[attr-defined]
        lambda pod: (pod["metadata"].get("labels") or {}).get(RULE_LABEL) == "call_batch")


def names(env: KubeEnv, kind: str, group: str, keep: Callable[[dict], bool]) -> list[str]:
    return sorted(o["metadata"]["name"] for o in
                  env.cluster.list(kind, NAMESPACE, group)  # type: ignore[attr-defined]
                  if keep(o))


def of_run(run_id: str) -> Callable[[dict], bool]:
    return lambda obj: (obj["metadata"].get("labels") or {}).get(RUN_LABEL) == run_id


def jobs_of(env: KubeEnv, run_id: str) -> list[str]:
    return names(env, "jobs", "batch", of_run(run_id))


def pods_by_job(env: KubeEnv, run_id: str) -> list[str]:
    """The Job names of the run's pods (pods are named after their Job plus a suffix)."""
    return sorted(p["metadata"]["labels"]["job-name"] for p in
                  env.cluster.list("pods", NAMESPACE)  # type: ignore[attr-defined]
                  if of_run(run_id)(p) and "job-name" in p["metadata"]["labels"])


def driver_pod(env: KubeEnv, run_id: str) -> dict | None:
    pods = [p for p in env.cluster.list("pods", NAMESPACE)  # type: ignore[attr-defined]
            if (p["metadata"].get("labels") or {}).get("job-name") == job_name(run_id)]
    return pods[0] if pods else None


def container_state(pod: dict, name: str) -> dict:
    status = pod.get("status") or {}
    for entry in (status.get("initContainerStatuses") or []) + \
            (status.get("containerStatuses") or []):
        if entry["name"] == name:
            return entry["state"]
    return {}


def reaper_log(env: KubeEnv, pod: dict, container: str = "reaper") -> str:
    return client.CoreV1Api(env.admin).read_namespaced_pod_log(
        pod["metadata"]["name"], NAMESPACE, container=container)


def driver_said(env: KubeEnv, run_id: str) -> str:
    """The end of the driver's log, for failure messages."""
    pod = driver_pod(env, run_id)
    try:
        return reaper_log(env, pod, "snakemake")[-3000:] if pod else "(no driver pod)"
    except client.ApiException as exc:
        return f"(no log: {exc.reason})"


def finished_pod(env: KubeEnv, run_id: str) -> dict:
    """The driver pod once its phase is final (the reaper has ended too)."""
    return wait_for_value(lambda: (pod := driver_pod(env, run_id)) and pod["status"].get(
        "phase") in ("Succeeded", "Failed") and pod, what=f"the driver pod of {run_id} to end")


def wait_for_value(check: Callable[[], object], timeout: float = 600,
                   what: str = "condition") -> dict:
    found: list[object] = []
    wait_for(lambda: bool(found.append(check()) or found[-1]), timeout=timeout, what=what)
    return found[-1]  # type: ignore[return-value]


def test_a_killed_driver_containers_unfinished_jobs_are_deleted(kube_env: KubeEnv) -> None:
    write_in_pod_config(kube_env)
    hold_calls(kube_env)
    # Finished and kept (a failed job, for `kubecall logs --failed`), and another run's.
    failing = executor_like_job("failed-r1", "r1", ["sh", "-c", "exit 3"], "merge_calls")
    create_job(kube_env, failing, "Failed")
    create_job(kube_env, executor_like_job("other-r2", "r2", ["sleep", "3600"]))
    # The target last: launch puts --configfile (which takes several values) before it.
    done = launch(kube_env, "r1", "python -m snakemake", "--kubecall-secret-name",
                  SECRET_NAME, ONE_BATCH, detach=True)
    assert done.returncode == 0, done.stderr
    def calls(kind: str = "jobs", group: str = "batch") -> list[str]:
        return names(kube_env, kind, group, lambda o: of_run("r1")(o) and o["metadata"][
            "labels"].get(RULE_LABEL) == "call_batch")
    wait_for(lambda: calls() and calls("pods", ""), timeout=900,
             what=lambda: f"the run's calling Job and pod: {kube_env.leftovers()}; the "
                          f"driver said: {driver_said(kube_env, 'r1')}")
    (call,) = calls()
    pod = driver_pod(kube_env, "r1")
    assert pod and "running" in container_state(pod, "snakemake")

    kube_env.cluster.kill_pod(NAMESPACE, pod["metadata"]["name"], "snakemake")  # type: ignore[attr-defined]

    pod = finished_pod(kube_env, "r1")
    assert pod["status"]["phase"] == "Failed"  # the driver pod stays, with its log
    assert container_state(pod, "snakemake")["terminated"]["exitCode"] == 137
    wait_for(lambda: jobs_of(kube_env, "r1") == ["failed-r1", job_name("r1")] and
             pods_by_job(kube_env, "r1") == ["failed-r1", job_name("r1")], timeout=300,
             what=lambda: f"the unfinished Jobs to go: {kube_env.leftovers()}")
    assert jobs_of(kube_env, "r2") == ["other-r2"]  # another run's Job is not this run's
    assert f"deleted Job {call}" in reaper_log(kube_env, pod)
    driver = client.BatchV1Api(kube_env.admin).read_namespaced_job(job_name("r1"), NAMESPACE)
    assert any(c.type == "Failed" and c.status == "True" for c in driver.status.conditions)


def test_a_driver_that_ends_cleanly_leaves_finished_jobs_alone(kube_env: KubeEnv) -> None:
    write_driver(kube_env)
    hold_calls(kube_env)
    create_job(kube_env, executor_like_job("done-r3", "r3", ["true"], "merge_calls"), "Complete")
    create_job(kube_env, executor_like_job("other-r4", "r4", ["sleep", "3600"]))
    done = launch(kube_env, "r3", SAYS_HELLO)
    assert done.returncode == 0, done.stderr
    assert "driver ran" in done.stdout and "run r3 succeeded" in done.stderr
    pod = finished_pod(kube_env, "r3")
    assert pod["status"]["phase"] == "Succeeded"
    assert "nothing of run r3 was left running" in reaper_log(kube_env, pod)
    assert jobs_of(kube_env, "r3") == ["done-r3", job_name("r3")]
    assert jobs_of(kube_env, "r4") == ["other-r4"]


def test_without_native_sidecars_the_reaper_steps_aside(kube_env: KubeEnv) -> None:
    """Kubernetes before 1.29, or SidecarContainers off: the API server drops an init
    container's restartPolicy, and the driver would wait for the reaper for ever."""
    job = driver_job(DriverSpec("old1", NAMESPACE, CONFIG, "profiles/kubernetes",
                                workdir=WORKDIR, image=f"{REFERENCE}:0.1.0",
                                driver_command="python -c \"print('driver ran')\"",
                                cpu="500m", memory="1Gi"))
    for container in job["spec"]["template"]["spec"]["initContainers"]:
        del container["restartPolicy"]  # as such an API server stores the Job
    create_job(kube_env, job, "Complete")
    pod = driver_pod(kube_env, "old1")
    assert pod and container_state(pod, "reaper")["terminated"]["exitCode"] == 0
    assert "not a native sidecar" in reaper_log(kube_env, pod)
    assert "driver ran" in reaper_log(kube_env, pod, "snakemake")


# A classic Istio mesh: every pod gets a regular istio-proxy container, which keeps the pod
# Running after the driver ended.
@pytest.mark.parametrize("meshed_env", ["regular"], indirect=True)
def test_in_a_mesh_launch_and_logs_follow_the_driver_container(meshed_env: KubeEnv) -> None:
    meshed = meshed_env
    write_driver(meshed, 3)
    hold_calls(meshed)
    create_job(meshed, executor_like_job("left-m1", "m1", ["sleep", "3600"]))
    done = launch(meshed, "m1", SAYS_HELLO)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "driver ran" in done.stdout
    assert "run m1 FAILED: the driver exited with code 3" in done.stderr
    logs = kubecall(meshed, "logs", "m1")
    assert logs.returncode == 0, logs.stderr
    assert "driver ran" in logs.stdout
    # The proxy keeps the pod Running, so the kubelet never stops the reaper: it sees the
    # driver's end in the pod's status instead.
    wait_for(lambda: jobs_of(meshed, "m1") == [job_name("m1")], timeout=600,
             what=lambda: f"the run's unfinished Job to go: {meshed.leftovers()}")
    pod = driver_pod(meshed, "m1")
    assert pod and pod["status"]["phase"] == "Running"
    assert "running" in container_state(pod, PROXY_NAME)
    assert "deleted Job left-m1" in reaper_log(meshed, pod)
    # Pod and Job still run; status reads the driver container, as launch does.
    status = kubecall(meshed, "status")
    assert status.returncode == 0, status.stderr
    assert "m1  driver failed; jobs: 0 running" in status.stdout, status.stdout
