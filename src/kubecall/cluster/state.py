"""How to read a pod's or a Job's state: the one place that decides what a status means
(the executor's outcomes, `kubecall status`'s job states). Pure functions over dicts."""

from __future__ import annotations

from dataclasses import dataclass

from kubecall.cluster.contract import CONTAINER, Obj, condition

PENDING, RUNNING, SUCCEEDED, FAILED = "pending", "running", "succeeded", "failed"
# Waiting reasons that never resolve on their own: the job fails now instead of hanging.
STUCK_WAITING = {"InvalidImageName", "CreateContainerConfigError", "CreateContainerError"}
# The kubelet retries these with back-off: a registry's 429 or a timeout passes, a missing
# image or a refused pull does not (image_pull_is_permanent); the executor bounds the wait.
IMAGE_PULL_REASONS = {"ErrImagePull", "ImagePullBackOff"}
IMAGE_REASONS = IMAGE_PULL_REASONS | {"InvalidImageName"}
# What containerd and the registries say when an image can never be pulled as asked:
# no such repository, tag or digest, no access (credentials), no image for this platform.
PERMANENT_PULL_MARKERS = ("code = notfound", ": not found", "manifest unknown",
                          "pull access denied", "unauthorized", "authorization failed",
                          "insufficient_scope", "403 forbidden", "invalid reference format",
                          "no match for platform")
# Since Kubernetes 1.32 a back-off message carries the last pull error after this.
_BACKOFF_DETAIL = ": ErrImagePull: "


@dataclass(frozen=True)
class Outcome:
    """A job's state, and for failures a reason such as OOMKilled and a sentence for users."""

    state: str
    reason: str = ""
    message: str = ""

    @property
    def finished(self) -> bool:
        return self.state in (SUCCEEDED, FAILED)


def image_pull_is_permanent(message: str) -> bool:
    """Whether an image pull error can never pass by retrying (not found, no access)."""
    text = message.lower()
    return any(marker in text for marker in PERMANENT_PULL_MARKERS)


def pull_error(waiting: Obj) -> str:
    """The pull error of an ErrImagePull or ImagePullBackOff state, without the back-off
    prefix ('' when a back-off message does not carry it: Kubernetes before 1.32)."""
    message = str(waiting.get("message") or "")
    if waiting.get("reason") == "ImagePullBackOff":
        _, found, detail = message.partition(_BACKOFF_DETAIL)
        return detail if found else ""
    return message


def container_statuses(pod: Obj) -> list[Obj]:
    """Every container's status: init containers (native sidecars among them) first."""
    status = pod.get("status") or {}
    return (status.get("initContainerStatuses") or []) + \
        (status.get("containerStatuses") or [])


def main_status(pod: Obj) -> Obj | None:
    """The status of the container that decides the outcome (CONTAINER), not of a sidecar
    a mesh injected beside it."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    named = [c for c in statuses if c.get("name") == CONTAINER]
    if named:
        return named[0]
    return statuses[0] if len(statuses) == 1 else None


def _waiting_outcome(pod: Obj) -> Outcome | None:
    """A container that waits on something that blocks the job (its own image, a sidecar's
    image, a configuration error): failed when it never resolves, pending while the kubelet
    retries a pull that may pass."""
    for container in container_statuses(pod):
        waiting = (container.get("state") or {}).get("waiting") or {}
        reason = waiting.get("reason") or ""
        detail = waiting.get("message", "") or container.get("image", "")
        if reason in STUCK_WAITING:
            kind = "image pull error" if reason in IMAGE_REASONS \
                else "container configuration error"
            return Outcome(FAILED, reason, f"{kind}: {detail}")
        if reason in IMAGE_PULL_REASONS:
            error = pull_error(waiting)
            if error and image_pull_is_permanent(error):
                return Outcome(FAILED, reason, f"image pull error (the image, its tag or the "
                                               f"pull credentials are wrong): {error}")
            return Outcome(PENDING, reason, error or detail)
    return None


def pod_outcome(pod: Obj) -> Outcome:
    """The outcome a pod's status shows: the snakemake container's (restartPolicy Never),
    whatever sidecars run beside it."""
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    disruption = condition(pod, "DisruptionTarget")
    if disruption and disruption.get("status") == "True":
        return Outcome(FAILED, "Evicted", f"pod was evicted ({disruption.get('reason', '')}: "
                                          f"{disruption.get('message', '')})")
    if status.get("reason") == "Evicted":
        return Outcome(FAILED, "Evicted", f"pod was evicted: {status.get('message', '')}")
    if status.get("reason") == "DeadlineExceeded":
        return Outcome(FAILED, "DeadlineExceeded",
                       "job ran longer than its runtime resource (activeDeadlineSeconds)")
    main = main_status(pod)
    state = (main or {}).get("state") or {}
    terminated = state.get("terminated")
    if terminated:
        # Final: the container does not restart. A regular sidecar (Istio, Linkerd) may
        # keep the pod Running for ever; its exit code does not count either.
        reason = terminated.get("reason") or "Error"
        code = terminated.get("exitCode")
        if code == 0:
            return Outcome(SUCCEEDED)
        if reason == "OOMKilled":
            return Outcome(FAILED, "OOMKilled",
                           f"container was OOMKilled (exit {code}): it used more memory "
                           "than its mem_mb limit; a retry asks for more")
        return Outcome(FAILED, reason, f"container exited with code {code} ({reason})")
    waiting = _waiting_outcome(pod)
    if waiting is not None:
        return waiting
    if phase == "Succeeded":
        return Outcome(SUCCEEDED)
    if phase == "Failed":
        return Outcome(FAILED, status.get("reason") or "Failed",
                       status.get("message") or "pod failed")
    if phase == "Running" and (main is None or "running" in state):
        return Outcome(RUNNING)
    reason = waiting_reason(pod)
    return Outcome(PENDING, "Waiting" if reason else "", reason)


def job_outcome(job: Obj) -> Outcome:
    """The outcome a Job's conditions show (used when its pod is gone or never came)."""
    failed = condition(job, "Failed")
    if failed and failed.get("status") == "True":
        reason = failed.get("reason") or "Failed"
        if reason == "DeadlineExceeded":
            return Outcome(FAILED, reason, "job ran longer than its runtime resource "
                                           "(activeDeadlineSeconds)")
        return Outcome(FAILED, reason, failed.get("message") or "job failed")
    complete = condition(job, "Complete")
    if complete and complete.get("status") == "True":
        return Outcome(SUCCEEDED)
    return Outcome(PENDING)


LOST = Outcome(FAILED, "PodLost", "pod disappeared before it finished (evicted, preempted or "
                                  "its node was lost)")

# Refusals of a Job's pod that no retry of the Job controller can overcome: the pod spec
# itself breaks a namespace policy (Pod Security, LimitRange bounds). A quota refusal is not
# here: it passes once other pods finish.
PERMANENT_REFUSALS = ("violates PodSecurity", "usage per Container is", "usage per Pod is",
                      "must specify")
FAILED_CREATE = "FailedCreate"


def refusals(events: list[Obj]) -> dict[str, str]:
    """Job name -> the newest FailedCreate message (its pod refused by admission or quota)."""
    newest: dict[str, tuple[str, str]] = {}
    for event in events:
        involved = event.get("involvedObject") or {}
        if event.get("reason") != FAILED_CREATE or involved.get("kind") != "Job":
            continue
        stamp = event.get("lastTimestamp") or event.get("eventTime") or ""
        name = involved.get("name", "")
        if stamp >= newest.get(name, ("", ""))[0]:
            newest[name] = (stamp, event.get("message") or "")
    return {name: message for name, (_, message) in newest.items()}


def refusal_outcome(message: str) -> Outcome:
    """What a FailedCreate message means for the job: failed when the pod spec can never be
    admitted, else still pending (waiting for quota), with the reason for users."""
    if any(marker in message for marker in PERMANENT_REFUSALS):
        return Outcome(FAILED, "AdmissionRefused", f"the namespace refuses the job's pod: "
                                                   f"{message}")
    return Outcome(PENDING, FAILED_CREATE, f"no pod yet: {message}")


def waiting_reason(pod: Obj | None) -> str:
    """Why a pending pod does not run yet (unschedulable, image pull…), '' when unknown."""
    if pod is None:
        return ""
    scheduled = condition(pod, "PodScheduled")
    if scheduled and scheduled.get("status") == "False":
        return f"{scheduled.get('reason', 'Unschedulable')}: {scheduled.get('message', '')}"
    for container in container_statuses(pod):
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") and waiting["reason"] not in ("ContainerCreating",
                                                               "PodInitializing"):
            return f"{waiting['reason']}: {waiting.get('message', '')}"
    return ""
