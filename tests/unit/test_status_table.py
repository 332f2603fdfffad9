"""`kubecall status`: a run's jobs counted by state, retries counted, from Jobs and pods."""

from __future__ import annotations

from kubecall.cluster.status import classify, newest_pods, state_table, waiting_lines


def job(name: str, run: str, *, condition: str = "", attempt: int = 1,
        component: str = "job") -> dict:
    conditions = [{"type": condition, "status": "True"}] if condition else []
    return {"metadata": {"name": name, "labels": {
                "kubecall.io/run-id": run, "kubecall.io/attempt": str(attempt),
                "app.kubernetes.io/component": component}},
            "status": {"conditions": conditions}}


def pod(job_name: str, phase: str, created: str) -> dict:
    return {"metadata": {"creationTimestamp": created,
                         "ownerReferences": [{"kind": "Job", "name": job_name}]},
            "status": {"phase": phase}}


def test_jobs_are_counted_by_state_with_retries() -> None:
    runs = {"demo": [
        job("drv", "demo", component="driver"),
        job("a", "demo", condition="Complete"),
        job("b", "demo", condition="Failed"),
        job("c", "demo"),            # its pod runs
        job("d", "demo"),            # its pod waits for a node
        job("e", "demo"),            # no pod yet
        job("b2", "demo", attempt=2),  # the retry of b, running
    ]}
    newest = newest_pods([
        pod("drv", "Running", "2026-11-28T10:00:00Z"),
        pod("c", "Pending", "2026-11-28T10:01:00Z"), pod("c", "Running", "2026-11-28T10:02:00Z"),
        pod("d", "Pending", "2026-11-28T10:01:00Z"),
        pod("b2", "Running", "2026-11-28T10:03:00Z"),
    ])
    header, row = state_table({run: classify(jobs, newest) for run, jobs in runs.items()})
    assert header.split() == ["run", "driver", "pending", "running", "succeeded", "failed",
                              "retried"]
    assert row.split() == ["demo", "running", "2", "2", "1", "1", "1"]


def meshed_driver_pod(exit_code: int) -> dict:
    """A driver pod in a classic mesh: its snakemake container ended, the proxy runs on."""
    driver = pod("drv", "Running", "2026-11-28T10:00:00Z")
    driver["status"]["containerStatuses"] = [
        {"name": "istio-proxy", "state": {"running": {}}},
        {"name": "snakemake", "state": {"terminated": {"exitCode": exit_code,
                                                       "reason": "Error"}}}]
    return driver


def test_a_driver_that_ended_in_a_mesh_is_not_running() -> None:
    """A regular proxy keeps the pod Running and the Job without a condition after the
    driver container ended; the driver's state is that container's."""
    for code, state in ((0, "succeeded"), (3, "failed")):
        jobs = [job("drv", "m", component="driver"), job("a", "m")]
        run = classify(jobs, newest_pods([meshed_driver_pod(code),
                                          pod("a", "Running", "2026-11-28T10:01:00Z")]))
        assert (run.driver, run.by_state["running"]) == (state, ["a"])


def test_a_waiting_job_says_why() -> None:
    """A Job whose pod is refused shows the FailedCreate message; one whose pod cannot be
    scheduled shows the scheduler's; running and finished Jobs show nothing (finding 2)."""
    jobs = [job("quota", "r"), job("nodes", "r"), job("ok", "r", condition="Complete")]
    unscheduled = pod("nodes", "Pending", "2026-11-28T10:01:00Z")
    unscheduled["status"]["conditions"] = [{"type": "PodScheduled", "status": "False",
                                            "reason": "Unschedulable",
                                            "message": "0/1 nodes: Insufficient memory"}]
    events = [{"reason": "FailedCreate", "involvedObject": {"kind": "Job", "name": "quota"},
               "lastTimestamp": "2026-11-28T10:00:00Z",
               "message": 'Error creating: pods "quota-x" is forbidden: exceeded quota: q'}]
    assert waiting_lines(jobs, [unscheduled], events) == [
        "    waiting: nodes: Unschedulable: 0/1 nodes: Insufficient memory",
        '    waiting: quota: Error creating: pods "quota-x" is forbidden: exceeded quota: q']
