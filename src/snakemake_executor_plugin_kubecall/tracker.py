"""One watch over all of a run's pods, kept in memory for the executor's status checks.

A status check reads this cache: it costs no request, however many jobs are active. The
watch resumes from the last resourceVersion after a dropped stream and relists after 410.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from kubernetes.client.rest import ApiException

from kubecall.cluster.contract import Obj
from kubecall.cluster.kube import is_transient
from kubecall.cluster.state import IMAGE_PULL_REASONS, LOST, PENDING, Outcome, pod_outcome

from .k8s_api import KubeApi


@dataclass
class PodRecord:
    """The latest state seen for one Job's pod."""

    name: str
    outcome: Outcome
    deleted: bool = False
    # The pod itself ended (Succeeded/Failed): a regular sidecar can keep it Running after
    # the snakemake container ended, and a pod that cannot pull its image stays Pending.
    finished: bool = False
    # time.monotonic() since which its image pull keeps failing (ErrImagePull and
    # ImagePullBackOff in turn), None while it does not.
    pulling_since: float | None = None


@dataclass
class PodTracker:
    """Background watch of the pods matching `selector`, by owning Job name."""

    api: KubeApi
    selector: str
    watch_timeout: int = 240
    # Seconds of continuous failure (API outage, throttling) ridden out before giving up.
    patience: float = 900.0
    pods: dict[str, PodRecord] = field(default_factory=dict)
    error: BaseException | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    # Told of each failure the watch rides out (the executor logs it).
    on_retry: Callable[[BaseException, float], None] | None = None
    _thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="kubecall-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop following (the open watch ends at its next event or timeout)."""
        self._stop.set()

    def get(self, job_name: str) -> PodRecord | None:
        with self._lock:
            return self.pods.get(job_name)

    def _apply(self, kind: str, pod: Obj) -> None:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        job = labels.get("batch.kubernetes.io/job-name") or labels.get("job-name")
        if not job:
            return
        name = pod["metadata"]["name"]
        outcome = pod_outcome(pod)
        finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        with self._lock:
            previous = self.pods.get(job)
            if previous and previous.name != name:
                previous = None
            if previous and previous.outcome.finished:
                # The first final state wins: later events are the pod's deletion (or
                # the end of a sidecar); only whether the pod itself ended is updated.
                previous.finished = previous.finished or finished
                previous.deleted = previous.deleted or kind == "DELETED"
                return
            pulling_since = None
            if outcome.state == PENDING and outcome.reason in IMAGE_PULL_REASONS:
                pulling_since = previous.pulling_since if previous and \
                    previous.pulling_since is not None else time.monotonic()
                if previous and previous.pulling_since is not None and \
                        outcome.message.startswith("Back-off pulling image"):
                    # An older kubelet's back-off names no error: keep the last one seen.
                    outcome = replace(outcome, message=previous.outcome.message)
            if kind == "DELETED" and not outcome.finished:
                outcome = LOST
            self.pods[job] = PodRecord(name, outcome, kind == "DELETED", finished,
                                       pulling_since)

    def _relist(self) -> str:
        items, version = self.api.list_pods(self.selector)
        for pod in items:
            self._apply("ADDED", pod)
        # A pod that vanished while we were not watching is lost.
        seen = {(p.get("metadata") or {}).get("name") for p in items}
        with self._lock:
            for job, record in self.pods.items():
                if record.name not in seen and not record.outcome.finished:
                    self.pods[job] = PodRecord(record.name, LOST, True)
        return version

    def _run(self) -> None:
        version: str | None = None
        failures = 0
        failing_since: float | None = None
        while not self._stop.is_set():
            try:
                if version is None:
                    version = self._relist()
                    failures, failing_since = 0, None
                for event in self.api.watch_pods(self.selector, version, self.watch_timeout):
                    obj = event.get("object") or {}
                    new_version = (obj.get("metadata") or {}).get("resourceVersion")
                    if event.get("type") != "BOOKMARK":
                        self._apply(event.get("type", ""), obj)
                    version = new_version or version
                    failures, failing_since = 0, None
                    if self._stop.is_set():
                        return
            except Exception as exc:  # API errors, dropped or timed-out connections
                if isinstance(exc, ApiException) and exc.status == 410:
                    version = None  # history compacted: start over from a fresh list
                    continue
                failures += 1
                now = time.monotonic()
                failing_since = now if failing_since is None else failing_since
                # An API error that is not transient (403…) ends the watch at once; other
                # errors are given a few tries, transient ones `patience` seconds.
                permanent = not is_transient(exc) and (
                    isinstance(exc, ApiException) or failures > 3)
                if permanent or now - failing_since > self.patience:
                    self.error = exc
                    return
                delay = min(10.0, 0.2 * 2 ** min(failures, 6))
                if self.on_retry:
                    self.on_retry(exc, delay)
                time.sleep(delay)
