"""API trouble longer than a minute: an outage is ridden out without losing running Jobs
(finding 7), and a half-open watch cannot stall the run (finding 14)."""

from __future__ import annotations

import time

from tests.executor.conftest import KubeEnv, is_driver, wait_for
from tests.executor.test_faults import ONE_BATCH, alive, call_pods

# Longer than the old limits (watch: 10 failures, about 62 s; calls: 8 tries, about 23 s);
# the run's patience (--kubecall-api-patience, 900 s by default) is scaled down to keep the
# test short while still well above the outage.
OUTAGE_SECONDS = 75
PATIENCE_SECONDS = "240"


def test_an_api_outage_is_ridden_out_without_losing_running_jobs(kube_env: KubeEnv) -> None:
    driver = kube_env.start(ONE_BATCH, "--kubecall-api-patience", PATIENCE_SECONDS)
    wait_for(lambda: alive(driver) and call_pods(kube_env, "Running"), timeout=600,
             what="the calling pod to run")
    faults = kube_env.cluster.faults  # type: ignore[attr-defined]
    faults.outage(OUTAGE_SECONDS)
    _, stderr = driver.communicate(timeout=900)
    assert driver.returncode == 0, stderr[-3000:] + kube_env.failure_logs()
    requests = kube_env.cluster.requests  # type: ignore[attr-defined]
    assert [r for r in requests.filter(code=503) if is_driver(r)], \
        "the outage never reached the driver"
    assert "retrying" in stderr
    # The batch ran once, in the pod that was running when the outage began: no job failed
    # (a failed job leaves its log there).
    assert not (kube_env.rundir / "logs" / "kubernetes").exists(), kube_env.failure_logs()
    assert (kube_env.rundir / ONE_BATCH).is_dir()
    assert kube_env.leftovers() == []


def test_a_half_open_watch_does_not_stall_the_run(kube_env: KubeEnv) -> None:
    driver = kube_env.start(ONE_BATCH, "--kubecall-watch-timeout", "5")
    requests = kube_env.cluster.requests  # type: ignore[attr-defined]
    wait_for(lambda: alive(driver) and requests.count(verb="list", resource="pods",
                                                      code=200) > 0,
             timeout=600, what="the status watch")
    time.sleep(2)  # the watch follows its list
    # Every watch open now goes silent for ever, ignoring its timeoutSeconds.
    kube_env.cluster.faults.stall_watches()  # type: ignore[attr-defined]
    _, stderr = driver.communicate(timeout=900)
    assert driver.returncode == 0, stderr[-3000:] + kube_env.failure_logs()
    assert (kube_env.rundir / ONE_BATCH).is_dir()
    assert kube_env.leftovers() == []
