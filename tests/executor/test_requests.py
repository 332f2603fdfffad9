"""API requests per job: one watch for the whole run, not a request per job per poll."""

from __future__ import annotations

from tests.executor.conftest import SENTINEL, KubeEnv, requests_per_job

JOBS = 10


def test_requests_per_job_stay_within_budget(kube_env: KubeEnv) -> None:
    run, counts = requests_per_job(kube_env, JOBS)
    assert run.returncode == 0, run.stderr[-3000:] + kube_env.failure_logs()
    assert counts.get("create jobs") == JOBS
    # Status for all jobs: one list (plus the watch that follows it), whatever their number.
    assert counts.get("list pods", 0) <= 2
    total = sum(counts.values())
    assert total / JOBS <= 5, counts
    assert kube_env.leftovers() == []
    # Every job checked the S3 secret in its pod (the rule fails otherwise); none printed it.
    assert SENTINEL not in run.stdout + run.stderr
    assert not [p for p in kube_env.rundir.rglob("*.log") if SENTINEL in p.read_text()]
