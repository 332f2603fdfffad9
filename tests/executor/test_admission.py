"""Admission against the shipped namespace (Pod Security "restricted", LimitRange, quota):
a Job whose pod is refused says why, in the driver's log and in `kubecall status`; a refusal
no retry can overcome fails the job instead of leaving it pending for ever (finding 2)."""

from __future__ import annotations

from kubernetes import client

from kubecall.cluster.kube import Kube
from kubecall.cluster.status import run_lines
from tests.executor.conftest import NAMESPACE, KubeEnv, wait_for
from tests.executor.test_faults import ONE_BATCH, alive


def test_a_quota_blocked_job_says_why_and_runs_once_there_is_room(kube_env: KubeEnv) -> None:
    core = client.CoreV1Api(kube_env.admin)
    core.create_namespaced_resource_quota(NAMESPACE, {
        "metadata": {"name": "tight"}, "spec": {"hard": {"requests.memory": "100Mi"}}})
    driver = kube_env.start(ONE_BATCH)
    requests = kube_env.cluster.requests  # type: ignore[attr-defined]
    # The driver looks up why its Job has no pod (one list of its Jobs, one of the events).
    wait_for(lambda: alive(driver) and requests.count(verb="list", resource="events",
                                                      code=200) > 0,
             timeout=300, what="the driver to ask why its Job has no pod")
    lines = run_lines(Kube(kube_env.admin), NAMESPACE)
    assert any(line.startswith("    waiting: kubecall-") and "exceeded quota: tight" in line
               for line in lines), lines
    core.delete_namespaced_resource_quota("tight", NAMESPACE)
    _, stderr = driver.communicate(timeout=600)
    assert driver.returncode == 0, stderr[-3000:] + kube_env.failure_logs()
    assert "is waiting: no pod yet: Error creating: " in stderr
    assert "exceeded quota: tight" in stderr
    # Never one GET per waiting Job.
    assert requests.count(verb="get", resource="jobs") == 0
    assert (kube_env.rundir / ONE_BATCH).is_dir()
    assert kube_env.leftovers() == []


def test_a_pod_security_refusal_fails_the_job_with_the_reason(kube_env: KubeEnv) -> None:
    # runAsUser 0 breaks the namespace's "restricted" Pod Security: no pod can ever start.
    # One attempt: each of the profile's retries would wait for the refusal check again.
    run = kube_env.run(ONE_BATCH, "--kubecall-run-as-user", "0", "--retries", "0",
                       timeout=600)
    assert run.returncode != 0
    assert "AdmissionRefused" in run.stderr and 'violates PodSecurity' in run.stderr, \
        run.stderr[-3000:]
    assert "runAsUser is 0" in kube_env.failure_logs()
    assert kube_env.leftovers() == []
