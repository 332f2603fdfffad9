"""Waiting for claims, Deployments and Jobs, and saying what is stuck and why."""

from __future__ import annotations

import time
from collections.abc import Callable

from kubecall.cluster.contract import Obj, condition
from kubecall.cluster.kube import Kube
from kubecall.errors import KubecallError

POLL_SECONDS = 0.5
WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"


def _last_event(kube: Kube, namespace: str, kind: str, name: str) -> str:
    events = kube.events_for(namespace, kind, name)
    if not events:
        return ""
    last = events[-1]
    return f"{last.get('reason', '')}: {last.get('message', '')}".strip(": ")


# ---- claims -------------------------------------------------------------------------------
def claim_problem(kube: Kube, claim: Obj) -> str | None:
    """None when the claim is Bound with the modes it asked for, or Pending in a
    WaitForFirstConsumer class (it binds with its first pod), else why not."""
    meta, spec = claim["metadata"], claim.get("spec") or {}
    name, namespace = meta["name"], meta["namespace"]
    live = kube.get("v1", "PersistentVolumeClaim", name, namespace)
    if live is None:
        return f"PVC {name} does not exist"
    status = live.get("status") or {}
    if status.get("phase") == "Bound":
        wanted, got = set(spec.get("accessModes") or []), set(status.get("accessModes") or [])
        if wanted and not wanted <= got:
            return f"PVC {name} Bound but with access modes {sorted(got)}, not {sorted(wanted)}"
        return None
    phase = status.get("phase") or "Pending"
    volume = (live.get("spec") or {}).get("volumeName")
    storage_class = (live.get("spec") or {}).get("storageClassName")
    if volume and kube.get("v1", "PersistentVolume", volume) is None:
        return f"PVC {name} {phase}: PersistentVolume {volume} does not exist"
    if storage_class:
        found = kube.get("storage.k8s.io/v1", "StorageClass", storage_class)
        if found is None:
            return f"PVC {name} {phase}: no storage class {storage_class}"
        if found.get("volumeBindingMode") == WAIT_FOR_FIRST_CONSUMER and not volume:
            # It binds when the first pod using it is scheduled (GKE standard-rwo, EKS gp2):
            # waiting for it here would wait for ever; the Deployment or Job using it binds it.
            return None
    why = _last_event(kube, namespace, "PersistentVolumeClaim", name)
    return f"PVC {name} {phase}" + (f": {why}" if why else ": waiting for a volume")


# ---- pods ---------------------------------------------------------------------------------
def pod_problem(kube: Kube, pod: Obj) -> str:
    """Why one pod is not (yet) running or done: scheduling, image, config or crashes."""
    name = pod["metadata"]["name"]
    status = pod.get("status") or {}
    scheduled = condition(pod, "PodScheduled")
    if scheduled and scheduled.get("status") == "False":
        return f"pod {name} not scheduled: {scheduled.get('reason', '')} " \
               f"{scheduled.get('message', '')}".rstrip()
    for container in (status.get("initContainerStatuses") or []) + \
            (status.get("containerStatuses") or []):
        state = container.get("state") or {}
        if "waiting" in state and state["waiting"].get("reason") not in (None, "PodInitializing",
                                                                          "ContainerCreating"):
            waiting = state["waiting"]
            return f"pod {name} container {container['name']} waiting: " \
                   f"{waiting.get('reason')} {waiting.get('message', '')}".rstrip()
        terminated = state.get("terminated") or \
            (container.get("lastState") or {}).get("terminated")
        if terminated and terminated.get("exitCode"):
            try:
                tail = kube.pod_log(pod["metadata"]["namespace"], name, container["name"],
                                    tail=5)
            except KubecallError as exc:
                tail = f"(log unavailable: {exc})"
            return f"pod {name} container {container['name']} exited " \
                   f"{terminated.get('exitCode')} ({terminated.get('reason', '')}); last log " \
                   f"lines:\n    " + "\n    ".join(tail.strip().splitlines()[-5:])
    return f"pod {name} {status.get('phase', 'Pending')}"


def _pods(kube: Kube, namespace: str, selector: dict[str, str]) -> list[Obj]:
    text = ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
    return kube.list("v1", "Pod", namespace, text)


# ---- deployments ----------------------------------------------------------------------------
def deployment_problem(kube: Kube, deployment: Obj) -> str | None:
    meta = deployment["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    live = kube.get("apps/v1", "Deployment", name, namespace)
    if live is None:
        return f"Deployment {name} does not exist"
    available = condition(live, "Available")
    wanted = (live.get("spec") or {}).get("replicas", 1)
    if available and available.get("status") == "True" and \
            (live.get("status") or {}).get("availableReplicas", 0) >= wanted:
        return None
    labels = ((live.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    pods = _pods(kube, namespace, labels)
    if not pods:
        why = _last_event(kube, namespace, "Deployment", name)
        return f"Deployment {name} has no pods yet" + (f": {why}" if why else "")
    return f"Deployment {name} not available: " + "; ".join(pod_problem(kube, p) for p in pods)


# ---- jobs -----------------------------------------------------------------------------------
class JobFailed(KubecallError):
    """A Job reached its Failed condition."""


def job_problem(kube: Kube, job: Obj) -> str | None:
    """None when the Job completed; raises JobFailed when it failed for good."""
    meta = job["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    live = kube.get("batch/v1", "Job", name, namespace)
    if live is None:
        return f"Job {name} does not exist"
    complete = condition(live, "Complete")
    if complete and complete.get("status") == "True":
        return None
    pods = _pods(kube, namespace, {"job-name": name})
    failed = condition(live, "Failed")
    if failed and failed.get("status") == "True":
        details = "; ".join(pod_problem(kube, p) for p in pods[-1:])
        raise JobFailed(f"Job {name} failed ({failed.get('reason', '')}: "
                        f"{failed.get('message', '')}); {details}")
    if not pods:
        return f"Job {name} has no pods yet"
    return f"Job {name} not complete: " + "; ".join(pod_problem(kube, p) for p in pods[-2:])


CHECKS: dict[str, Callable[[Kube, Obj], str | None]] = {
    "PersistentVolumeClaim": claim_problem,
    "Deployment": deployment_problem,
    "Job": job_problem,
}


def wait_ready(kube: Kube, objects: list[Obj], timeout: float,
               report: Callable[[str], None],
               waiting: Callable[[str], None] | None = None) -> None:
    """Wait until every claim is Bound, Deployment available and Job complete.

    ``report`` hears of each object once it is ready; ``waiting``, when given, of each new
    reason an object is not ready yet. Raises a KubecallError listing what is still stuck,
    and why, after ``timeout`` seconds.
    """
    pending = [o for o in objects if o["kind"] in CHECKS]
    deadline = time.monotonic() + timeout
    problems: dict[str, str] = {}
    while True:
        still = []
        for obj in pending:
            problem = CHECKS[obj["kind"]](kube, obj)
            if problem is None:
                report(f"ready     {obj['kind']} {obj['metadata']['name']}")
            else:
                if waiting and problems.get(obj["metadata"]["name"]) != problem:
                    waiting(problem)
                problems[obj["metadata"]["name"]] = problem
                still.append(obj)
        pending = still
        if not pending:
            return
        if time.monotonic() >= deadline:
            lines = [problems[o["metadata"]["name"]] for o in pending]
            raise KubecallError(f"still not ready after {timeout:.0f}s:\n  " + "\n  ".join(lines)
                                + "\n(raise --timeout if the cluster is just slow)")
        time.sleep(POLL_SECONDS)
