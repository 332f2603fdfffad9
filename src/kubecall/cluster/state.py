"""How to read a pod's or a Job's state: the one place that decides what a status means
(the executor's outcomes, `kubecall status`'s job states). Pure functions over dicts."""

from __future__ import annotations

from dataclasses import dataclass

from kubecall.cluster.contract import Obj, condition

PENDING, RUNNING, SUCCEEDED, FAILED = "pending", "running", "succeeded", "failed"
# Waiting reasons that never resolve on their own: the job fails now instead of hanging.
STUCK_WAITING = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName",
                 "CreateContainerConfigError", "CreateContainerError"}
IMAGE_REASONS = {"ErrImagePull", "ImagePullBackOff", "InvalidImageName"}


@dataclass(frozen=True)
class Outcome:
    """A job's state, and for failures a reason such as OOMKilled and a sentence for users."""

    state: str
    reason: str = ""
    message: str = ""

    @property
    def finished(self) -> bool:
        return self.state in (SUCCEEDED, FAILED)


def pod_outcome(pod: Obj) -> Outcome:
    """The outcome a pod's status shows (one container, restartPolicy Never)."""
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
    for container in status.get("containerStatuses") or []:
        state = container.get("state") or {}
        waiting = state.get("waiting") or {}
        if waiting.get("reason") in STUCK_WAITING:
            kind = "image pull error" if waiting["reason"] in IMAGE_REASONS \
                else "container configuration error"
            return Outcome(FAILED, waiting["reason"],
                           f"{kind}: {waiting.get('message', '') or container.get('image', '')}")
        terminated = state.get("terminated")
        if terminated and (phase == "Failed" or terminated.get("exitCode")):
            reason = terminated.get("reason") or "Error"
            code = terminated.get("exitCode")
            if reason == "OOMKilled":
                return Outcome(FAILED, "OOMKilled",
                               f"container was OOMKilled (exit {code}): it used more memory "
                               "than its mem_mb limit; a retry asks for more")
            return Outcome(FAILED, reason, f"container exited with code {code} ({reason})")
    if phase == "Succeeded":
        return Outcome(SUCCEEDED)
    if phase == "Failed":
        return Outcome(FAILED, status.get("reason") or "Failed",
                       status.get("message") or "pod failed")
    if phase == "Running":
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
    for container in (pod.get("status") or {}).get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") and waiting["reason"] != "ContainerCreating":
            return f"{waiting['reason']}: {waiting.get('message', '')}"
    return ""
