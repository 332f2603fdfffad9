"""What the workflow asks of snakemake beyond its documented Snakefile API, in one place.

Each function says which snakemake behaviour it relies on; tests/unit/test_snakemake_compat.py
fails when snakemake changes it.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any

DEFAULT_CONFIGFILE = "config/config.yaml"
# The module whose scheduler re-arms a threading.Timer on every scheduling pass.
SCHEDULER_MODULE = "snakemake.scheduling.job_scheduler"


def config_source(workflow: Any) -> str:
    """The config file(s) a user error should name: those given with --configfile, else the
    Snakefile's default. ``workflow.configfiles`` lists the command line's first, then the
    ``configfile:`` directive's (snakemake 9)."""
    given = [str(f) for f in workflow.configfiles if Path(f) != Path(DEFAULT_CONFIGFILE)]
    return ", ".join(given) or DEFAULT_CONFIGFILE


def parallelism(workflow: Any) -> int:
    """How many jobs run at once: --jobs (nodes) for cluster executors, else --cores."""
    for value in (workflow.nodes, _cores_or_none(workflow)):
        if value:
            return int(value)
    return 1


def rule_threads(workflow: Any, rule: str, default: int) -> int:
    """The threads snakemake gives ``rule``'s jobs when the rule declares ``default``: the
    profile's ``set-threads`` (``--set-threads``) when it is a number, else ``default``;
    at most ``--max-threads``, and on local cores at most ``--cores`` (snakemake scales
    threads down to both). A set-threads expression counts as ``default`` here: it is
    evaluated only per job.

    With --jobs (a cluster executor) --cores is not applied: a dry run sets it to 1 for
    want of a value, and the batch count must be the one the real run will use.
    """
    given = workflow.resource_settings.overwrite_threads.get(rule)
    value = getattr(given, "value", given)
    threads = value if isinstance(value, int) and value > 0 else default
    limits = [workflow.resource_settings.max_threads]
    if not workflow.nodes:
        limits.append(_cores_or_none(workflow))
    for limit in limits:
        if isinstance(limit, int) and limit > 0:
            threads = min(threads, limit)
    return threads


def jobs_at_once(workflow: Any, threads: int) -> int:
    """How many jobs of ``threads`` threads run at once: --jobs for a cluster executor (each
    job has its node's CPUs), the cores divided by the threads on local cores."""
    if workflow.nodes:
        return int(workflow.nodes)
    return max(1, parallelism(workflow) // threads)


def _cores_or_none(workflow: Any) -> int | None:
    try:
        return workflow.cores  # raises when no --cores was given (e.g. a dry run)
    except Exception:
        return None


def exit_promptly() -> None:
    """At the end of a run (onsuccess, onerror): nothing keeps the process alive after it.

    Besides the scheduler's timers (below), the interpreter's last garbage collection at
    exit walks every object the run made, the DAG's included: 0.4-0.5 s of the demo run's
    wall, after its last job. ``gc.freeze()`` leaves those objects out of every later
    collection; the process frees its memory by exiting, so nothing is lost.
    """
    cancel_rate_limit_timers()
    gc.freeze()


def cancel_rate_limit_timers() -> None:
    """Let the process exit as soon as the run is over.

    Snakemake's job scheduler re-arms a non-daemon ``threading.Timer`` on every scheduling
    pass; the last one keeps the interpreter alive for the rate limiter's timespan (1 s by
    default) after the final job. Once the run has ended nothing waits on it, so the
    scheduler's timers (and only those) are cancelled. No public way exists.
    """
    for thread in threading.enumerate():
        function = getattr(thread, "function", None)
        if isinstance(thread, threading.Timer) and \
                getattr(function, "__module__", "") == SCHEDULER_MODULE:
            thread.cancel()


def check_each_script_once() -> None:
    """Have snakemake check a rule's ``script:`` for its first job, not for every job.

    Before running (and in a dry run) snakemake's ``ScriptProcessor.process_job``
    (snakemake.dag) looks every job's script up through its source cache, reads it and
    raises if it is not accessible: about 1 ms a job, a fifth of the dry run at 3,000
    calling jobs (bench/dag_scale.py). For a script path without braces the path, and so the
    answer, is the same for every job of the rule; such a rule is checked for its first job
    only, in each DAG. A path with braces (formatted per job) is still checked for every
    job. Idempotent; does nothing on a snakemake without that class.
    """
    try:
        from snakemake.dag import ScriptProcessor
    except ImportError:
        return
    original = ScriptProcessor.process_job
    if getattr(original, "kubecall_once", False):
        return

    def process_job(self: Any, job: Any) -> None:
        kind = self.script_type  # "script", or "notebook" for the NotebookProcessor
        if getattr(job, f"is_{kind}", False) and "{" not in str(getattr(job.rule, kind)):
            checked = self.__dict__.setdefault("kubecall_checked_rules", set())
            if job.rule in checked:
                return
            original(self, job)  # raises for a missing script: the rule stays unchecked
            checked.add(job.rule)
            return
        original(self, job)

    process_job.kubecall_once = True  # type: ignore[attr-defined]
    process_job.kubecall_original = original  # type: ignore[attr-defined]
    ScriptProcessor.process_job = process_job  # type: ignore[method-assign]
