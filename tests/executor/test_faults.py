"""Faults: killed, evicted and OOMKilled pods, API 503 bursts, a killed driver, cancel."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time

import pytest

from tests.executor.conftest import NAMESPACE, SECRET_NAME, SENTINEL, KubeEnv, wait_for

ONE_BATCH = "results/calls/cohort/batches/b000"
ALL_BATCHES = [f"results/calls/cohort/batches/b00{i}" for i in range(4)]


def call_pods(env: KubeEnv, phase: str | None = None, rule: str = "call_batch") -> list[dict]:
    """The pods of `rule`'s jobs (in `phase`, if given), read from the store."""
    pods = [p for p in env.cluster.list("pods", NAMESPACE)  # type: ignore[attr-defined]
            if p["metadata"].get("labels", {}).get("kubecall.io/rule") == rule]
    return [p for p in pods if phase is None or p.get("status", {}).get("phase") == phase]


def alive(driver: subprocess.Popen[str]) -> bool:
    """True while the driver runs; a driver that ended early fails the test with its log."""
    if driver.poll() is None:
        return True
    pytest.fail(f"the driver ended early ({driver.returncode}): {driver.communicate()[1][-3000:]}")


def batch_of(pod: dict) -> str:
    match = re.search(r"batch=(b\d+)", pod["spec"]["containers"][0]["command"][2])
    return match.group(1) if match else ""


def test_killed_pod_is_retried_and_reported(kube_env: KubeEnv) -> None:
    kube_env.cluster.hold_pods(lambda pod: bool(call_pods_of([pod])))  # type: ignore[attr-defined]
    driver = kube_env.start(ONE_BATCH, "--kubecall-keep-jobs")
    wait_for(lambda: alive(driver) and call_pods(kube_env), what="the calling pod")
    kube_env.cluster.release_pods()  # type: ignore[attr-defined]
    wait_for(lambda: call_pods(kube_env, "Running"), timeout=300, what="the pod to run")
    pod = call_pods(kube_env, "Running")[0]["metadata"]["name"]
    kube_env.cluster.kill_pod(NAMESPACE, pod)  # type: ignore[attr-defined]
    _, stderr = driver.communicate(timeout=600)
    assert driver.returncode == 0, stderr[-3000:] + kube_env.failure_logs()
    log = next((kube_env.rundir / "logs" / "kubernetes" / "call_batch").glob("*.log"))
    assert "exit 137" in log.read_text() or "code 137" in log.read_text()
    assert str(log.relative_to(kube_env.rundir)) in stderr
    assert (kube_env.rundir / ONE_BATCH).is_dir()
    # A killed (not OOMKilled) job is retried with the memory it had (finding 3).
    memory = {job["metadata"]["labels"]["kubecall.io/attempt"]: job["spec"]["template"][
        "spec"]["containers"][0]["resources"]["limits"]["memory"] for job in kept_calls(kube_env)}
    assert len(memory) == 2 and memory["1"] == memory["2"], memory


def test_evicted_pod_fails_its_job_and_is_retried(kube_env: KubeEnv) -> None:
    kube_env.cluster.hold_pods(lambda pod: bool(call_pods_of([pod])))  # type: ignore[attr-defined]
    driver = kube_env.start(ONE_BATCH)
    wait_for(lambda: alive(driver) and call_pods(kube_env), what="the calling pod")
    pod = call_pods(kube_env)[0]["metadata"]["name"]
    kube_env.cluster.evict_pod(NAMESPACE, pod)  # type: ignore[attr-defined]
    kube_env.cluster.release_pods()  # type: ignore[attr-defined]
    _, stderr = driver.communicate(timeout=600)
    # The run recovers either way: the executor sees the evicted (deleted) pod and snakemake
    # retries the job ("Evicted"/"PodLost" in its output), or the test cluster's Job
    # controller replaces the deleted pod before the executor's watch reports it.
    assert driver.returncode == 0, stderr[-3000:] + kube_env.failure_logs()
    assert (kube_env.rundir / ONE_BATCH).is_dir()
    assert kube_env.leftovers() == []


def kept_calls(env: KubeEnv) -> list[dict]:
    """The call_batch Jobs kept by --kubecall-keep-jobs."""
    return [j for j in env.cluster.list("jobs", NAMESPACE, "batch")  # type: ignore[attr-defined]
            if j["metadata"]["labels"].get("kubecall.io/rule") == "call_batch"]


def call_pods_of(pods: list[dict]) -> list[dict]:
    return [p for p in pods
            if p["metadata"].get("labels", {}).get("kubecall.io/rule") == "call_batch"
            and p["metadata"]["labels"].get("kubecall.io/attempt") == "1"]


def test_a_slow_api_at_start_up_does_not_hang_the_driver(kube_env: KubeEnv) -> None:
    """snakemake's status thread first asks for job states 1 s after the executor starts;
    with 0.6 s per request the executor's start-up (credentials, clearing an earlier run's
    Jobs) takes longer. The run must finish, not wait for ever on a dead status thread."""
    kube_env.cluster.faults.add_latency(0.6)  # type: ignore[attr-defined]
    run = kube_env.run(ONE_BATCH, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:] + kube_env.failure_logs()
    assert "has no attribute" not in run.stdout + run.stderr
    assert (kube_env.rundir / ONE_BATCH).is_dir()
    assert kube_env.leftovers() == []


def test_oomkilled_job_is_retried_with_more_memory(kube_env: KubeEnv) -> None:
    assert kube_env.cluster.memory_limits_enforced  # type: ignore[attr-defined]
    # 25 MB (no headroom) cannot hold a python process; the retry gets 25 * 20 = 500 MB.
    run = kube_env.run(ONE_BATCH, "--set-resources", "call_batch:mem_mb=25",
                       "--kubecall-memory-growth", "20", "--kubecall-memory-headroom", "0",
                       "--kubecall-keep-jobs")
    assert run.returncode == 0, run.stderr[-3000:] + kube_env.failure_logs()
    assert "OOMKilled" in run.stderr
    log = next((kube_env.rundir / "logs" / "kubernetes" / "call_batch").glob("*.log"))
    assert "OOMKilled" in log.read_text()
    jobs = {j["metadata"]["labels"]["kubecall.io/attempt"]: j
            for j in kube_env.cluster.list("jobs", NAMESPACE, "batch")  # type: ignore[attr-defined]
            if j["metadata"]["labels"]["kubecall.io/rule"] == "call_batch"}
    memory = {attempt: job["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"][
        "memory"] for attempt, job in jobs.items()}
    assert memory == {"1": "25M", "2": "500M"}
    # S3 credentials are in the spec only as a reference to the Secret.
    env = jobs["1"]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {
        "name": SECRET_NAME, "key": "rootPassword"}}} in env
    assert SENTINEL not in json.dumps(jobs)


def test_api_errors_and_dropped_watches_are_survived(kube_env: KubeEnv) -> None:
    faults = kube_env.cluster.faults  # type: ignore[attr-defined]
    faults.fail_next(3, code=503, verb="create", resource="jobs")
    faults.fail_next(2, code=503, verb="list", resource="pods")
    faults.fail_next(2, code=429, verb="delete", resource="jobs")
    driver = kube_env.start(ONE_BATCH)
    # The watch starts after the first successful list (requests are logged when they end).
    wait_for(lambda: kube_env.cluster.requests.count(  # type: ignore[attr-defined]
        verb="list", resource="pods", code=200) > 0, what="the status watch")
    time.sleep(0.5)
    faults.fail_next(2, code=503, verb="watch", resource="pods")
    faults.drop_watches(abrupt=True)
    time.sleep(0.5)
    faults.expire_watch_history()
    faults.drop_watches()
    _, stderr = driver.communicate(timeout=600)
    assert driver.returncode == 0, stderr[-3000:] + kube_env.failure_logs()
    requests = kube_env.cluster.requests  # type: ignore[attr-defined]
    assert requests.count(verb="create", resource="jobs", code=503) == 3
    assert requests.count(verb="delete", resource="jobs", code=429) == 2
    assert "retrying" in stderr
    assert (kube_env.rundir / ONE_BATCH).is_dir()
    assert kube_env.leftovers() == []


def test_killed_driver_rerun_leaves_no_orphans_and_keeps_finished_batches(
        kube_env: KubeEnv) -> None:
    held = {"b002", "b003"}
    first_run: list[str] = []

    def first_drivers_held_batches(pod: dict) -> bool:
        """Held: the first driver's pods of `held` (they never run, as if it died first)."""
        run = (pod["metadata"].get("labels") or {}).get("kubecall.io/run-id", "")
        first_run[:] = first_run or [run]
        return batch_of(pod) in held and run == first_run[0]
    kube_env.cluster.hold_pods(first_drivers_held_batches)  # type: ignore[attr-defined]
    driver = kube_env.start(*ALL_BATCHES)
    finished = [kube_env.rundir / target for target in ALL_BATCHES[:2]]
    wait_for(lambda: alive(driver) and all(p.is_dir() for p in finished)
             and len(call_pods(kube_env)) >= 2
             and not [p for p in call_pods(kube_env) if batch_of(p) not in held],
             timeout=600, what=lambda: f"two batches to finish while two are held: "
             f"{[(batch_of(p), p['status'].get('phase')) for p in call_pods(kube_env)]} "
             f"{[p.is_dir() for p in finished]}")
    time.sleep(1)  # let the driver record the finished jobs
    stamps = {p: p.stat().st_mtime_ns for p in finished}
    driver.send_signal(signal.SIGKILL)
    driver.communicate(timeout=300)
    orphans = kube_env.leftovers()
    assert orphans, "the killed driver's Jobs should still exist before the rerun"

    # A killed driver leaves its lock: the documented way back is --unlock, then the rerun.
    assert kube_env.run("--unlock").returncode == 0
    rerun = kube_env.run(*ALL_BATCHES, "--rerun-incomplete")
    assert rerun.returncode == 0, rerun.stderr[-3000:] + kube_env.failure_logs()
    assert kube_env.leftovers() == []
    redone = set(re.findall(r"output: results/calls/cohort/batches/(b\d+)", rerun.stderr))
    assert redone == held, rerun.stderr[-2500:]
    assert {p: p.stat().st_mtime_ns for p in finished} == stamps


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupt_deletes_every_job_and_pod(kube_env: KubeEnv, stop: signal.Signals) -> None:
    kube_env.cluster.hold_pods(lambda pod: bool(call_pods_of([pod])))  # type: ignore[attr-defined]
    driver = kube_env.start(*ALL_BATCHES)
    wait_for(lambda: len(call_pods(kube_env)) == 4, timeout=600, what="four calling pods")
    driver.send_signal(stop)
    driver.communicate(timeout=300)
    assert driver.returncode != 0
    wait_for(lambda: kube_env.leftovers() == [], timeout=120, what="the run's Jobs and pods "
             "to be deleted")


def test_failed_run_reports_the_reason_and_leaves_nothing(kube_env: KubeEnv) -> None:
    run = kube_env.run(ONE_BATCH, "--set-resources", "call_batch:mem_mb=25", "--retries", "0",
                       "--kubecall-memory-headroom", "0")
    assert run.returncode != 0
    log = kube_env.rundir / "logs" / "kubernetes" / "call_batch"
    assert "OOMKilled" in run.stderr and str(log.relative_to(kube_env.rundir)) in run.stderr
    assert "OOMKilled" in next(log.glob("*.log")).read_text()
    # Nothing runs; the failed Job is kept (with its pod) for kubecall status/logs (finding 11).
    assert kube_env.running() == []
    assert [o for o in kube_env.leftovers() if o.startswith("jobs/")] and all(
        "-call-batch" in o for o in kube_env.leftovers())
