"""Image pulls (issue 15, finding 5): a registry's 429s and timeouts are ridden out while the
kubelet retries, and the driver says why the job waits; a missing image or a refused pull
fails the job at once with the registry's reason; a pull that keeps failing fails after
--kubecall-image-pull-timeout. No Job or pod is left pulling."""

from __future__ import annotations

import os

from tests.executor.conftest import UID, KubeEnv
from tests.executor.test_memory import TINY_SNAKEFILE
from tests.support.cluster.images import TOO_MANY_REQUESTS, UNAUTHORIZED


def tiny_workflow(env: KubeEnv) -> None:
    snakefile = env.rundir / "Snakefile"
    snakefile.write_text(TINY_SNAKEFILE)
    os.chown(snakefile, UID, UID)


def test_a_registry_throttling_pulls_is_ridden_out(kube_env: KubeEnv) -> None:
    tiny_workflow(kube_env)
    kube_env.cluster.fail_pulls(3, TOO_MANY_REQUESTS)  # type: ignore[attr-defined]
    run = kube_env.run("--retries", "0")
    assert run.returncode == 0, run.stderr[-3000:] + kube_env.failure_logs()
    assert (kube_env.rundir / "tiny.txt").read_text() == "tiny\n"
    waiting = [line for line in run.stderr.splitlines() if " is waiting: " in line]
    assert waiting and "429 Too Many Requests" in waiting[0], run.stderr[-3000:]
    # Said once, not at every retry of the kubelet (ErrImagePull, then back-off, again).
    assert len(waiting) == 1, waiting
    assert kube_env.leftovers() == []


def test_a_refused_pull_fails_the_job_at_once_with_the_reason(kube_env: KubeEnv) -> None:
    tiny_workflow(kube_env)
    kube_env.cluster.fail_pulls(-1, UNAUTHORIZED)  # type: ignore[attr-defined]
    run = kube_env.run("--retries", "0")
    assert run.returncode != 0
    assert "pull access denied" in run.stderr, run.stderr[-3000:]
    assert "the image, its tag or the pull credentials are wrong" in run.stderr
    # Its pod would pull for ever: not kept.
    assert kube_env.leftovers() == []


def test_a_pull_failing_for_longer_than_the_timeout_fails_the_job(kube_env: KubeEnv) -> None:
    tiny_workflow(kube_env)
    kube_env.cluster.fail_pulls(-1, TOO_MANY_REQUESTS)  # type: ignore[attr-defined]
    run = kube_env.run("--retries", "0", "--kubecall-image-pull-timeout", "5")
    assert run.returncode != 0
    assert "ImagePullTimeout" in run.stderr and "429 Too Many Requests" in run.stderr, \
        run.stderr[-3000:]
    assert "--kubecall-image-pull-timeout" in run.stderr
    assert kube_env.leftovers() == []
