"""The Job controller: pods per job, backoff, deadlines, TTL, podFailurePolicy, status."""

from __future__ import annotations

import contextlib
import copy

from .api import Api
from .errors import ApiError
from .objects import (
    JOBS,
    PODS,
    owned_by,
    owner_ref,
    pod_ready,
    seconds_since,
    set_condition,
)
from .store import Obj, Store, now_iso

JOB_TRACKING = "batch.kubernetes.io/job-tracking"


class JobController:
    """Keeps each Job's pods and status in step, like kube-controller-manager's."""

    def __init__(self, store: Store, api: Api) -> None:
        self.store = store
        self.api = api
        self._counted: dict[str, set[str]] = {}  # job uid -> pod uids already counted
        # job uid -> the last refusal recorded (one FailedCreate event per distinct refusal,
        # as the real recorder aggregates repeats into one event's count).
        self._refused: dict[str, str] = {}

    def reconcile(self) -> None:
        jobs, _ = self.store.list(JOBS)
        pods, _ = self.store.list(PODS)
        for job in jobs:
            owned = [p for p in pods if owned_by(p, job["metadata"]["uid"])]
            self._sync_job(job, owned)
        job_uids = {j["metadata"]["uid"] for j in jobs}
        orphans = [p for p in pods if JOB_TRACKING in (p["metadata"].get("finalizers") or [])
                   and not any(owned_by(p, uid) for uid in job_uids)]
        self._release_pods(orphans, delete_active=True)

    def _sync_job(self, job: Obj, pods: list[Obj]) -> None:
        meta, spec = job["metadata"], job["spec"]
        status = copy.deepcopy(job.get("status") or {})
        uid = meta["uid"]
        counted = self._counted.setdefault(uid, set())
        finished = _finished_condition(status)
        if finished:
            self._release_pods(pods, delete_active=True)
            ttl = spec.get("ttlSecondsAfterFinished")
            done_at = status.get("completionTime") or finished.get("lastTransitionTime")
            if ttl is not None and not meta.get("deletionTimestamp") and \
                    seconds_since(done_at) >= int(ttl):
                self.api.delete(JOBS, meta["namespace"], meta["name"],
                                {"propagationPolicy": "Background"})
            return
        if meta.get("deletionTimestamp"):
            self._release_pods(pods, delete_active=False)
            return
        stamp = now_iso()
        fail_reason: tuple[str, str] | None = None
        for pod in pods:
            phase = (pod.get("status") or {}).get("phase")
            pod_uid = pod["metadata"]["uid"]
            if phase not in ("Succeeded", "Failed") or pod_uid in counted:
                continue
            counted.add(pod_uid)
            if phase == "Succeeded":
                status["succeeded"] = status.get("succeeded", 0) + 1
                continue
            action, rule_index = _pod_failure_action(spec.get("podFailurePolicy"), pod)
            if action == "Ignore":
                continue
            status["failed"] = status.get("failed", 0) + 1
            if action == "FailJob":
                container = _failed_container(pod)
                fail_reason = ("PodFailurePolicy",
                               f"Container {container} for pod {pod['metadata']['namespace']}/"
                               f"{pod['metadata']['name']} failed with exit code "
                               f"{_exit_code(pod, container)} matching FailJob rule at index "
                               f"{rule_index}")
        self._release_pods(pods, delete_active=False)
        active = [p for p in pods if (p.get("status") or {}).get("phase")
                  not in ("Succeeded", "Failed") and not p["metadata"].get("deletionTimestamp")]
        if spec.get("suspend"):
            for pod in active:
                with contextlib.suppress(ApiError):
                    self.api.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
            status.pop("active", None)
            set_condition(status, "Suspended", "True", "JobSuspended", "Job suspended", stamp)
            self._write_job_status(job, status)
            return
        if any(c["type"] == "Suspended" and c["status"] == "True"
               for c in status.get("conditions") or []):
            set_condition(status, "Suspended", "False", "JobResumed", "Job resumed", stamp)
            status["startTime"] = stamp  # a resumed job's deadline counts from now
        status.setdefault("startTime", stamp)
        restarts = sum(cs.get("restartCount", 0) for p in pods
                       for cs in (p.get("status") or {}).get("containerStatuses") or [])
        completions = int(spec.get("completions") or 1)
        deadline = spec.get("activeDeadlineSeconds")
        if fail_reason is None and status.get("failed", 0) + restarts > int(
                spec.get("backoffLimit", 6)):
            fail_reason = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
        if fail_reason is None and deadline is not None and \
                seconds_since(status["startTime"]) >= int(deadline):
            fail_reason = ("DeadlineExceeded", "Job was active longer than specified deadline")
        if fail_reason:
            for pod in active:
                with contextlib.suppress(ApiError):
                    self.api.delete(PODS, pod["metadata"]["namespace"], pod["metadata"]["name"])
            set_condition(status, "FailureTarget", "True", *fail_reason, stamp)
            set_condition(status, "Failed", "True", *fail_reason, stamp)
            status["active"] = 0
            self.api.record_event(job, fail_reason[0], fail_reason[1], "Warning")
        elif status.get("succeeded", 0) >= completions:
            set_condition(status, "SuccessCriteriaMet", "True", "CompletionsReached",
                           "Reached expected number of succeeded pods", stamp)
            set_condition(status, "Complete", "True", "CompletionsReached",
                           "Reached expected number of succeeded pods", stamp)
            status["completionTime"] = stamp
            status["active"] = 0
            self.api.record_event(job, "Completed", "Job completed")
        else:
            wanted = min(int(spec.get("parallelism") or 1),
                         completions - status.get("succeeded", 0))
            created = 0
            for _ in range(wanted - len(active)):
                if not self._create_job_pod(job):
                    break
                created += 1
            status["active"] = len(active) + created
        status["ready"] = sum(1 for p in active if pod_ready(p))
        status["terminating"] = sum(1 for p in pods if p["metadata"].get("deletionTimestamp")
                                    and (p.get("status") or {}).get("phase")
                                    not in ("Succeeded", "Failed"))
        status.setdefault("uncountedTerminatedPods", {})
        if not status.get("active"):
            status.pop("active", None)  # omitted when zero, as the real API does
        self._write_job_status(job, status)

    def _write_job_status(self, job: Obj, status: Obj) -> None:
        def write(o: Obj) -> None:
            o["status"] = status
        self.store.mutate(JOBS, job["metadata"]["namespace"], job["metadata"]["name"], write,
                          subresource="status")

    def _release_pods(self, pods: list[Obj], delete_active: bool) -> None:
        """Drop the job-tracking finalizer of finished pods (the job has counted them)."""
        for pod in pods:
            meta = pod["metadata"]
            terminal = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            if delete_active and not terminal and not meta.get("deletionTimestamp"):
                with contextlib.suppress(ApiError):
                    self.api.delete(PODS, meta["namespace"], meta["name"])
            if JOB_TRACKING in (meta.get("finalizers") or []) and (
                    terminal or (meta.get("deletionTimestamp") and delete_active)):
                def drop(o: Obj) -> None:
                    o["metadata"]["finalizers"] = [
                        f for f in o["metadata"].get("finalizers") or [] if f != JOB_TRACKING]
                self.store.mutate(PODS, meta["namespace"], meta["name"], drop)

    def _create_job_pod(self, job: Obj) -> bool:
        """Create one pod; a refusal (admission, quota) is a FailedCreate event on the Job
        and is tried again at the next sync, as kube-controller-manager does. The real Job
        controller sets no condition for it: the event is the only trace."""
        meta = job["metadata"]
        template = copy.deepcopy(job["spec"]["template"])
        pod_meta = template.setdefault("metadata", {})
        labels = pod_meta.setdefault("labels", {})
        labels.update({"batch.kubernetes.io/controller-uid": meta["uid"],
                       "batch.kubernetes.io/job-name": meta["name"],
                       "controller-uid": meta["uid"], "job-name": meta["name"]})
        pod_meta.update({"generateName": f"{meta['name']}-", "namespace": meta["namespace"],
                         "ownerReferences": [owner_ref(job)], "finalizers": [JOB_TRACKING]})
        pod_meta.pop("name", None)
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta,
               "spec": template.get("spec") or {}}
        try:
            created = self.api.create(PODS, meta["namespace"], pod)
        except ApiError as exc:
            message = f"Error creating: {exc.message}"
            if self._refused.get(meta["uid"]) != message:
                self._refused[meta["uid"]] = message
                self.api.record_event(job, "FailedCreate", message, "Warning")
            return False
        self._refused.pop(meta["uid"], None)
        self.api.record_event(job, "SuccessfulCreate",
                              f"Created pod: {created['metadata']['name']}")
        return True


def _finished_condition(status: Obj) -> Obj | None:
    for cond in status.get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return cond
    return None


def _exit_codes(pod: Obj) -> list[tuple[str, int]]:
    # Init containers count too: a rule's containerName may name one (Kubernetes 1.27+).
    status = pod.get("status") or {}
    codes = []
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        term = (cs.get("state") or {}).get("terminated")
        if term:
            codes.append((cs["name"], int(term.get("exitCode", 0))))
    return codes


def _failed_container(pod: Obj) -> str:
    return next((name for name, code in _exit_codes(pod) if code != 0), "")


def _exit_code(pod: Obj, container: str) -> int:
    return next((code for name, code in _exit_codes(pod) if name == container), 0)


def _pod_failure_action(policy: Obj | None, pod: Obj) -> tuple[str, int]:
    """The podFailurePolicy action for a failed pod ("Count" when no rule matches)."""
    for index, rule in enumerate((policy or {}).get("rules") or []):
        on_codes = rule.get("onExitCodes")
        if on_codes:
            values = set(on_codes.get("values") or [])
            for name, code in _exit_codes(pod):
                if on_codes.get("containerName") and on_codes["containerName"] != name:
                    continue
                if on_codes.get("operator") == "In" and code in values:
                    return rule["action"], index
                if on_codes.get("operator") == "NotIn" and code != 0 and code not in values:
                    return rule["action"], index
        for pattern in rule.get("onPodConditions") or []:
            for cond in (pod.get("status") or {}).get("conditions") or []:
                if cond.get("type") == pattern.get("type") and \
                        cond.get("status") == pattern.get("status", "True"):
                    return rule["action"], index
    return "Count", -1



