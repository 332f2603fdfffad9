"""The driver pod's reaper: ``python -m kubecall.cluster.reaper``, a native sidecar (an init
container with ``restartPolicy: Always``, Kubernetes 1.29+) of the driver Job.

The driver Job never restarts its pod, so a driver container that is OOMKilled or SIGKILLed
leaves a Failed pod behind, and the garbage collector (the executor's Jobs are owned by that
pod) never deletes the run's Jobs. The kubelet stops this container (SIGTERM) once the driver
container has ended, however it ended; the reaper then deletes the run's Jobs that have not
finished (their pods go with them), and leaves finished ones for ``kubecall status`` and
``kubecall logs --failed``. After a clean end there are none: the executor deleted them.

A mesh's proxy injected as a regular container keeps the pod running after the driver ended,
so the kubelet never stops the reaper; it also reads its pod every POLL_SECONDS and reaps once
the driver container has ended. Where the API server dropped ``restartPolicy`` (before 1.29,
or SidecarContainers off) the reaper would be a plain init container the driver waits for:
it sees that in its pod's spec and exits at once.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import TYPE_CHECKING

from kubecall.cluster.contract import (
    DRIVER_POD_ENV,
    NAMESPACE_ENV,
    REAPER_CONTAINER,
    RUN_ID_ENV,
    Obj,
    jobs_selector,
)
from kubecall.cluster.state import job_outcome, main_status
from kubecall.errors import KubecallError

if TYPE_CHECKING:  # imported in main(), once the stop signals are blocked
    from kubecall.cluster.kube import Kube

# API retries once stopped: within the driver pod's grace period (driver_job.GRACE_SECONDS),
# after which the kubelet kills the reaper.
PATIENCE_SECONDS = 40
# How often the reaper reads its pod while the driver runs: one request per run, cheap.
POLL_SECONDS = 30
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def say(message: str) -> None:
    print(f"[kubecall reaper] {message}", flush=True)


def unfinished(jobs: list[Obj]) -> list[Obj]:
    """The Jobs that are neither Complete nor Failed (still pending or running)."""
    return [job for job in jobs if not job_outcome(job).finished]


def is_native_sidecar(pod: Obj, container: str) -> bool:
    """Whether ``container`` is one of the pod's init containers with restartPolicy Always
    (as stored: an API server without sidecar support drops the field)."""
    return any(c.get("name") == container and c.get("restartPolicy") == "Always"
               for c in (pod.get("spec") or {}).get("initContainers") or [])


def driver_ended(pod: Obj) -> bool:
    """Whether the driver container (contract.CONTAINER) has terminated."""
    main = main_status(pod)
    return bool(main and "terminated" in (main.get("state") or {}))


def others_running(pod: Obj) -> bool:
    """Whether a regular container besides the driver still runs (a mesh's proxy)."""
    main = main_status(pod)
    return any("running" in (c.get("state") or {}) for c in
               (pod.get("status") or {}).get("containerStatuses") or [] if c is not main)


def reap(kube: Kube, namespace: str, run_id: str) -> list[str]:
    """Delete the run's unfinished Jobs (never its driver's, never another run's); their
    pods follow by garbage collection. The names deleted (not those already gone)."""
    deleted = []
    for job in unfinished(kube.list("batch/v1", "Job", namespace, jobs_selector(run_id))):
        name = job["metadata"]["name"]
        if kube.delete("batch/v1", "Job", name, namespace):
            deleted.append(name)
    return deleted


def own_pod(kube: Kube, namespace: str, name: str) -> Obj | None:
    """The reaper's pod, by a list the driver's Role grants (it has no `get` on pods)."""
    pods = kube.list("v1", "Pod", namespace, fields=f"metadata.name={name}")
    return pods[0] if pods else None


def report(kube: Kube, namespace: str, run_id: str) -> None:
    deleted = reap(kube, namespace, run_id)
    for name in deleted:
        say(f"deleted Job {name} (unfinished; its pods go with it)")
    if not deleted:
        say(f"nothing of run {run_id} was left running")


def watch(kube: Kube, poll: Kube, namespace: str, pod_name: str, run_id: str) -> None:
    """Wait for the kubelet's SIGTERM, reaping earlier if the pod shows the driver ended."""
    pod = own_pod(poll, namespace, pod_name)
    reaped = pod is not None and driver_ended(pod)
    if reaped:  # it ended while the reaper started: a SIGTERM then may have been lost
        report(kube, namespace, run_id)
        if not others_running(pod):  # the pod is ending: an exited sidecar is not restarted
            return
    while True:
        if reaped:
            signal.sigwait(STOP_SIGNALS)
            break
        if signal.sigtimedwait(STOP_SIGNALS, POLL_SECONDS) is not None:
            break
        try:
            pod = own_pod(poll, namespace, pod_name)
        except KubecallError as exc:  # the API is away: try again at the next poll
            say(f"cannot read pod {pod_name} now: {exc}")
            continue
        if pod is not None and driver_ended(pod):
            say("the driver container ended while the pod runs on (a regular sidecar)")
            report(kube, namespace, run_id)
            reaped = True
    say("stopping: the driver container ended")
    report(kube, namespace, run_id)


def main() -> int:
    # Blocked, a stop signal waits in the queue until sigwait takes it, even one that comes
    # while the reaper starts (as PID 1 it would otherwise be ignored: no default action):
    # blocked before the kubernetes client is imported, which takes seconds, because a
    # driver that fails at once ends before that.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    from kubecall.cluster.kube import Kube, RetryPolicy, api_client
    try:
        run_id, pod_name, namespace = (os.environ[name] for name in
                                       (RUN_ID_ENV, DRIVER_POD_ENV, NAMESPACE_ENV))
    except KeyError as exc:
        print(f"error: {exc.args[0]} is not set (the driver Job sets it)", file=sys.stderr)
        return 2
    connection = api_client()
    kube = Kube(connection, RetryPolicy(patience=PATIENCE_SECONDS))
    poll = Kube(connection, RetryPolicy(attempts=1))  # never holds up a stop signal
    try:
        pod = own_pod(kube, namespace, pod_name)
    except KubecallError as exc:
        # Exit 0 either way: a sidecar is restarted and looks again; a plain init
        # container must not fail the driver's pod.
        say(f"cannot read pod {pod_name}: {exc}; exiting")
        return 0
    if pod is None or not is_native_sidecar(pod, REAPER_CONTAINER):
        say("not a native sidecar here (Kubernetes before 1.29, or the SidecarContainers "
            "feature off): exiting so the driver starts; a killed driver's Jobs are not "
            "deleted until its pod is (or the next run in the same directory)")
        return 0
    say(f"run {run_id}: its unfinished Jobs are deleted once the driver container ends")
    try:
        watch(kube, poll, namespace, pod_name, run_id)
    except KubecallError as exc:
        say(f"error: {exc}")
        return 1
    finally:
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
