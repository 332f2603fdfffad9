"""Run identity (finding 11): the executor labels its Jobs with the driver Job's run id
(KUBECALL_RUN_ID), and keeps failed Jobs, so `kubecall status` shows the run's jobs and
their failures; nothing is left running."""

from __future__ import annotations

from kubecall.cluster.contract import RUN_LABEL
from kubecall.cluster.kube import Kube
from kubecall.cluster.status import run_lines
from tests.executor.conftest import NAMESPACE, KubeEnv
from tests.executor.test_faults import ONE_BATCH

RUN_ID = "r15-identity"


def test_the_run_id_comes_from_the_driver_job_and_failures_stay_visible(
        kube_env: KubeEnv) -> None:
    run = kube_env.run(ONE_BATCH, "--set-resources", "call_batch:mem_mb=25",
                       "--kubecall-memory-headroom", "0", "--retries", "0",
                       env={"KUBECALL_RUN_ID": RUN_ID})
    assert run.returncode != 0
    assert f"run {RUN_ID} in namespace" in run.stderr
    jobs = kube_env.cluster.list("jobs", NAMESPACE, "batch")  # type: ignore[attr-defined]
    assert jobs and {j["metadata"]["labels"][RUN_LABEL] for j in jobs} == {RUN_ID}
    (failed,) = jobs
    assert failed["metadata"]["labels"]["kubecall.io/rule"] == "call_batch", \
        kube_env.failure_logs()
    lines = run_lines(Kube(kube_env.admin), NAMESPACE)
    assert f"    failed: {failed['metadata']['name']}" in lines, lines
    assert any(line.split()[:1] == [RUN_ID] and line.split()[5] == "1" for line in lines), lines
    pods = [p for p in kube_env.cluster.list("pods", NAMESPACE)  # type: ignore[attr-defined]
            if p["metadata"]["labels"].get("job-name") == failed["metadata"]["name"]]
    assert pods, "the failed Job's pod (its log) should be kept"
    assert kube_env.running() == []
