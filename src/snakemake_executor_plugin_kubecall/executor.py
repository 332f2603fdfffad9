"""The executor: submit one Job per snakemake job, follow them through one pod watch,
report failures with the container's log, delete everything of the run at the end."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections.abc import AsyncGenerator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from snakemake_interface_common.exceptions import WorkflowError
from snakemake_interface_executor_plugins.executors.base import SubmittedJobInfo
from snakemake_interface_executor_plugins.executors.remote import RemoteExecutor
from snakemake_interface_executor_plugins.jobs import JobExecutorInterface
from snakemake_interface_executor_plugins.utils import format_cli_arg

from kubecall.cluster.contract import (
    CONTAINER,
    DRIVER_POD_ENV,
    DRIVER_POD_UID_ENV,
    JOB_SOURCE_CACHE_PATH,
    RUN_ID_ENV,
    WORKDIR_LABEL,
    driver_owner_reference,
    jobs_selector,
)
from kubecall.cluster.state import (
    FAILED,
    FAILED_CREATE,
    IMAGE_PULL_REASONS,
    PENDING,
    SUCCEEDED,
    Outcome,
    job_outcome,
    refusal_outcome,
    refusals,
)

from .jobspec import (
    JobRequest,
    MemoryTooLarge,
    PlainEnvironment,
    SpecSettings,
    build_job,
    label_value,
    limit_range_max_mb,
    parse_list,
    parse_pairs,
    parse_tolerations,
    workdir_key,
)

if TYPE_CHECKING:
    from .tracker import PodRecord

# When some Job has had no pod for this long, the run's Jobs and the namespace's FailedCreate
# events are listed (two requests, however many Jobs wait: a pod refused by admission or
# quota leaves only an event); the look-up repeats at this interval while any Job waits.
NO_POD_CHECK_SECONDS = 30.0
LOG_DIR = Path("logs") / "kubernetes"


def spec_settings(settings: Any) -> SpecSettings:
    """SpecSettings from the plugin's ExecutorSettings (strings parsed, errors explained)."""
    try:
        datasource = settings.datasource_claim
        if datasource and datasource.lower() == "none":
            datasource = None
        return SpecSettings(
            namespace=settings.namespace,
            workspace_claim=settings.workspace_claim,
            workspace_path=settings.workspace_path,
            datasource_claim=datasource,
            datasource_path=settings.datasource_path,
            image=settings.image,
            image_pull_policy=settings.image_pull_policy,
            image_pull_secrets=parse_list(settings.image_pull_secrets),
            service_account=settings.service_account,
            node_selector=parse_pairs(settings.node_selector, "--kubecall-node-selector"),
            tolerations=parse_tolerations(settings.tolerations),
            labels=parse_pairs(settings.labels, "--kubecall-labels"),
            annotations=parse_pairs(settings.annotations, "--kubecall-annotations"),
            run_as_user=int(settings.run_as_user),
            run_as_group=int(settings.run_as_group),
            fs_group=int(settings.fs_group),
            read_only_root=not settings.writable_root,
            cpu_scalar=float(settings.cpu_scalar),
            memory_growth=float(settings.memory_growth),
            memory_headroom_mb=int(settings.memory_headroom),
            ttl_seconds=int(settings.ttl_seconds),
            scratch_memory=bool(settings.scratch_memory),
            secret_name=settings.secret_name,
            secret_env=parse_pairs(settings.secret_env, "--kubecall-secret-env"),
        )
    except ValueError as exc:
        raise WorkflowError(f"kubecall executor settings: {exc}") from None


class Interrupts:
    """Ctrl-C and SIGTERM cancel the run, even when snakemake loses the KeyboardInterrupt.

    snakemake's log handler ignores a KeyboardInterrupt raised while it writes a line
    (ColorizingTextHandler.emit): a Ctrl-C that lands during a log write would vanish and the
    driver would wait for ever on running Jobs. So each interrupt is noted, and the status
    thread raises it again in the main thread if the run has not begun cancelling within
    `grace` seconds (far longer than snakemake takes from the KeyboardInterrupt to
    cancel_jobs).

    SIGTERM (a deleted driver pod, `kill`) is made a Ctrl-C: snakemake's own handler waits
    for running jobs to finish, which on a cluster can take hours and outlive the driver's
    grace period; jobs would be left behind.
    """

    def __init__(self, grace: float = 10.0) -> None:
        self.grace = grace
        self.raised_at: float | None = None
        self.cancelling = False

    def install(self, signum: signal.Signals) -> None:
        """Handle `signum` from now on (SIGTERM only once snakemake's scheduler has set its
        own handler, at the first submission)."""
        try:
            signal.signal(signum, self._raise)
        except ValueError:  # not the main thread: keep snakemake's handler
            pass

    def _raise(self, signum: int, frame: object) -> None:
        self.raised_at = time.monotonic()
        raise KeyboardInterrupt

    def check(self) -> None:
        """From the status thread: deliver a lost interrupt to the main thread again (a real
        signal, which also wakes it from the scheduler's wait)."""
        if self.raised_at is None or self.cancelling or \
                time.monotonic() - self.raised_at < self.grace:
            return
        self.raised_at = time.monotonic()
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)


def _number(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class Executor(RemoteExecutor):
    """`--executor kubecall`."""

    # snakemake's base __init__ starts the status thread before it calls __post_init__, and
    # that thread calls check_active_jobs after init_seconds_before_status_checks (1 s).
    # Loading credentials and clearing an earlier run's Jobs can take longer (a slow API
    # server, an exec auth plugin); the thread must not see a half-built executor: its
    # exception would be printed and lost (the scheduler does not exist yet) and the run
    # would hang. Until __post_init__ has finished, every job is still active.
    _ready = False

    def __post_init__(self) -> None:
        self.settings = self.workflow.executor_settings
        self.spec = spec_settings(self.settings)
        # The driver Job's run id (kubecall launch), else a new one.
        self.run_id = os.environ.get(RUN_ID_ENV) or uuid.uuid4().hex[:10]
        if label_value(self.run_id) != self.run_id or len(self.run_id) > 30:
            raise WorkflowError(f"kubecall executor: {RUN_ID_ENV}={self.run_id!r} is not a "
                                "usable run id (at most 30 of [A-Za-z0-9._-])")
        # A driver in a pod that says who it is (the driver Job, by the downward API) owns
        # its Jobs: whatever deletes that pod deletes them, even after a SIGKILL.
        pod, pod_uid = os.environ.get(DRIVER_POD_ENV), os.environ.get(DRIVER_POD_UID_ENV)
        if pod and pod_uid:
            self.spec = replace(self.spec, owner=driver_owner_reference(pod, pod_uid))
        # The driver's working directory: jobs run in the same path on the workspace claim.
        self.workdir = os.getcwd()
        self._cleaned = False
        self._submitted: dict[str, float] = {}
        self._next_lookup = 0.0
        # Jobs without a pod: their outcome as of the last look-up.
        self._podless: dict[str, Outcome] = {}
        # What was last said about a waiting job (said again only when it changes).
        self._said: dict[str, str] = {}
        # snakemake jobid -> its OOMKilled attempts so far (only those make memory grow).
        self._oom_kills: dict[int, int] = {}
        # Failed Jobs whose pod (and log) still exists: kept for `kubecall status` and
        # `kubecall logs --failed` until their ttlSecondsAfterFinished.
        self._kept: set[str] = set()
        self.interrupts = Interrupts()
        self.interrupts.install(signal.SIGINT)
        # Imported here, not at module level: snakemake imports every installed executor
        # plugin on each start, and the kubernetes client costs ~0.3 s that a local run
        # should not pay.
        from kubecall.cluster.kube import RetryPolicy, api_client

        from .k8s_api import KubeApi
        from .tracker import PodTracker

        try:
            kubeconfig = self.settings.kubeconfig
            client = api_client(Path(kubeconfig) if kubeconfig else None, self.settings.context,
                                flag="--kubecall-kubeconfig")
        except Exception as exc:
            raise WorkflowError(f"kubecall executor: no Kubernetes credentials ({exc}); set "
                                "--kubecall-kubeconfig or KUBECONFIG") from None
        patience = float(self.settings.api_patience)
        self.api = KubeApi(client, self.spec.namespace, RetryPolicy(patience=patience),
                           on_retry=self._log_retry)
        self.logger.info(f"kubecall executor: run {self.run_id} in namespace "
                         f"{self.spec.namespace}, working directory {self.workdir}")
        # Jobs a killed driver left in this working directory would race this run's jobs
        # for the same outputs: delete them first (snakemake's lock rules out a live one).
        self._call("delete Jobs left by an earlier run",
                   lambda: self.api.delete_all(f"{WORKDIR_LABEL}={workdir_key(self.workdir)}"))
        self.tracker = PodTracker(self.api, jobs_selector(self.run_id),
                                  watch_timeout=int(self.settings.watch_timeout),
                                  patience=patience, on_retry=self._log_retry)
        self._ready = True

    # ---- helpers -------------------------------------------------------------------------
    def _log_retry(self, exc: BaseException, delay: float) -> None:
        status = getattr(exc, "status", None) or type(exc).__name__
        self.logger.warning(f"kubecall: Kubernetes API call failed ({status}); retrying in "
                            f"{delay:.1f}s")

    def _call(self, what: str, call: Any) -> Any:
        try:
            return call()
        except Exception as exc:
            status = getattr(exc, "status", "")
            reason = getattr(exc, "reason", "") or exc
            hint = (" (the driver's Role lacks this permission: see "
                    "k8s/base/driver/kubecall-driver-role.yaml)") if status == 403 else ""
            raise WorkflowError(f"kubecall: could not {what}: {status} {reason}{hint}") from None

    def get_python_executable(self) -> str:
        # The job image's python, not the driver's interpreter path.
        return str(self.settings.python)

    def additional_general_args(self) -> str:
        # snakemake passes each job the driver's --runtime-source-cache-path (under the
        # driver's ~/.cache, e.g. on a VM): a pod cannot create that path on its read-only
        # root. The runtime cache is private to each process (filled from the shared
        # workflow sources), so every job gets one in its /tmp; given later, it wins. (A
        # string: snakemake joins it into the command line, whatever its docstring says.)
        return format_cli_arg("--runtime-source-cache-path", JOB_SOURCE_CACHE_PATH)

    def job_request(self, job: JobExecutorInterface) -> JobRequest:
        resources = job.resources
        image = resources.get("kubecall_image") or getattr(job, "container_img_url", None)
        scratch_memory = resources.get("kubecall_scratch_memory")
        return JobRequest(
            run_id=self.run_id, rule=job.name, jobid=job.jobid, attempt=job.attempt,
            command=self.format_job_exec(job), workdir=self.workdir,
            threads=job.threads, mem_mb=_number(resources.get("mem_mb")),
            disk_mb=_number(resources.get("disk_mb")),
            runtime_minutes=_number(resources.get("runtime")),
            image=str(image) if image else None,
            scratch_memory=None if scratch_memory is None else bool(_number(scratch_memory)),
            env=dict(self.envvars()), oom_kills=self._oom_kills.get(job.jobid, 0))

    # ---- the executor interface ----------------------------------------------------------
    def run_job(self, job: JobExecutorInterface) -> None:
        if not self.tracker.started:
            # Started with the first job: a run with nothing to do opens no watch.
            self.tracker.start()
            self.interrupts.install(signal.SIGTERM)
            limits = self._call("list the namespace's LimitRanges", self.api.list_limit_ranges)
            self.spec = replace(self.spec, memory_max_mb=limit_range_max_mb(limits))
        try:
            body = build_job(self.job_request(job), self.spec)
        except (MemoryTooLarge, PlainEnvironment) as exc:
            # No Job: its pod would be refused. The job fails now, saying what to change.
            self.report_job_error(SubmittedJobInfo(job=job), msg=f"kubecall: rule {job.name}: "
                                                                 f"{exc}")
            return
        name = body["metadata"]["name"]
        self._call(f"create Job {name}", lambda: self.api.create_job(body))
        self._submitted[name] = time.monotonic()
        self.report_job_submission(SubmittedJobInfo(
            job=job, external_jobid=name, aux={"rule": job.name, "jobid": job.jobid}))

    async def check_active_jobs(
        self, active_jobs: list[SubmittedJobInfo]
    ) -> AsyncGenerator[SubmittedJobInfo, None]:
        if not self._ready:
            for job_info in active_jobs:
                yield job_info
            return
        self.interrupts.check()
        if self.tracker.error is not None:
            raise WorkflowError(f"kubecall: the status watch failed: {self.tracker.error}")
        self._look_up_podless([str(j.external_jobid) for j in active_jobs
                               if self.tracker.get(str(j.external_jobid)) is None])
        for job_info in active_jobs:
            name = str(job_info.external_jobid)
            record = self.tracker.get(name)
            outcome = record.outcome if record else self._podless.get(name, Outcome(PENDING))
            outcome = self._pull_deadline(record, outcome)
            self._say_why_waiting(name, outcome)
            if outcome.state == SUCCEEDED:
                self._finish(name)
                self.report_job_success(job_info)
            elif outcome.state == FAILED:
                self._report_failure(job_info, record, outcome)
            else:
                yield job_info

    def _look_up_podless(self, names: list[str]) -> None:
        """Why do these Jobs have no pod? One list of the run's Jobs and one of the
        FailedCreate events, at most every NO_POD_CHECK_SECONDS (never one request per Job)."""
        now = time.monotonic()
        due = [n for n in names if now >= self._submitted.get(n, now) + NO_POD_CHECK_SECONDS]
        if not due or now < self._next_lookup:
            return
        self._next_lookup = now + NO_POD_CHECK_SECONDS
        jobs = {j["metadata"]["name"]: j for j in self._call(
            "list the run's Jobs", lambda: self.api.list_jobs(jobs_selector(self.run_id)))}
        refused = refusals(self._call("list FailedCreate events", lambda: self.api.list_events(
            f"involvedObject.kind=Job,reason={FAILED_CREATE}")))
        for name in due:
            job = jobs.get(name)
            if job is None:
                self._podless[name] = Outcome(FAILED, "JobDeleted",
                                              "the Job was deleted before it finished")
                continue
            outcome = job_outcome(job)
            if not outcome.finished and name in refused:
                outcome = refusal_outcome(refused[name])
            self._podless[name] = outcome

    def _pull_deadline(self, record: PodRecord | None, outcome: Outcome) -> Outcome:
        """A pod whose image pull has kept failing for --kubecall-image-pull-timeout fails
        its job: the kubelet would retry for ever (a registry's 429s and timeouts usually
        pass within minutes; errors that never pass fail at once, kubecall.cluster.state)."""
        timeout = float(self.settings.image_pull_timeout)
        if record is None or record.pulling_since is None or outcome.state != PENDING or \
                time.monotonic() - record.pulling_since < timeout:
            return outcome
        return Outcome(FAILED, "ImagePullTimeout",
                       f"the image could not be pulled for {timeout:.0f} s while the kubelet "
                       f"retried (--kubecall-image-pull-timeout): {outcome.message}")

    def _say_why_waiting(self, name: str, outcome: Outcome) -> None:
        """Log once why a job waits (quota, unschedulable, image pull), when that is known.
        A failing pull is said once: the kubelet alternates ErrImagePull and back-off."""
        if outcome.state != PENDING or not outcome.message:
            return
        key = "image pull" if outcome.reason in IMAGE_PULL_REASONS else outcome.message
        if self._said.get(name) == key:
            return
        self._said[name] = key
        what = "the image pull fails, the kubelet retries: " if key == "image pull" else ""
        self.logger.warning(f"kubecall: Job {name} is waiting: {what}{outcome.message}")

    def _finish(self, name: str, keep: bool = False) -> None:
        """Forget a finished job; delete its Job unless it is kept (a failure with a log)."""
        self._submitted.pop(name, None)
        self._podless.pop(name, None)
        self._said.pop(name, None)
        if keep:
            self._kept.add(name)
        elif not self.settings.keep_jobs:
            self._call(f"delete Job {name}", lambda: self.api.delete_job(name))

    def _report_failure(self, job_info: SubmittedJobInfo, record: PodRecord | None,
                        outcome: Outcome) -> None:
        name = str(job_info.external_jobid)
        if outcome.reason == "PodLost":
            # Did the Job controller end it (deadline)? Its condition says why.
            job = self._call(f"read Job {name}", lambda: self.api.get_job(name))
            if job is not None and job_outcome(job).state == FAILED:
                outcome = job_outcome(job)
        if outcome.reason == "OOMKilled":
            jobid = int(job_info.aux.get("jobid") or 0)
            self._oom_kills[jobid] = self._oom_kills.get(jobid, 0) + 1
        log = ""
        if record is not None and not record.deleted:
            log = self._call(f"read the log of pod {record.name}",
                             lambda: self.api.pod_log(record.name, CONTAINER))
        path = LOG_DIR / str(job_info.aux.get("rule")) / f"{job_info.aux.get('jobid')}.log"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# Kubernetes Job {name}, pod {record.name if record else '-'}\n"
                        f"# {outcome.reason}: {outcome.message}\n"
                        + (log or "# (no container log: the pod is gone or never ran)\n"))
        # Kept when its pod (with the log) stays and has ended: not after an eviction or a
        # lost pod, nor while the pod would go on (a regular sidecar still running, an
        # image still being pulled), holding quota and never reaching its TTL.
        self._finish(name, keep=record is not None and not record.deleted and record.finished
                     and outcome.reason not in ("Evicted", "PodLost"))
        self.report_job_error(job_info, msg=(
            f"Kubernetes Job {name} failed: {outcome.reason}: {outcome.message}. "
            f"Container log: {path}. "))

    def cancel_jobs(self, active_jobs: list[SubmittedJobInfo]) -> None:
        self.interrupts.cancelling = True
        self.logger.info(f"kubecall: cancelling run {self.run_id}: deleting its Jobs and pods")
        self._cleanup(force=True)

    def shutdown(self) -> None:
        super().shutdown()
        self.tracker.stop()
        self._cleanup()

    def _cleanup(self, force: bool = False) -> None:
        """Delete every Job and pod of this run but the failed ones kept (one list, one
        delete per Job still there, one delete-collection of pods), unless asked to keep
        them. Nothing of the run is left running, however it ends."""
        if self._cleaned or (self.settings.keep_jobs and not force):
            return
        self._cleaned = True
        selector = jobs_selector(self.run_id)
        for job in self._call("list the run's Jobs", lambda: self.api.list_jobs(selector)):
            name = job["metadata"]["name"]
            if name not in self._kept:
                self._call(f"delete Job {name}", lambda n=name: self.api.delete_job(n))
        if self._kept:
            selector += f",batch.kubernetes.io/job-name notin ({','.join(sorted(self._kept))})"
        self._call("delete the run's pods", lambda: self.api.delete_pods(selector))
