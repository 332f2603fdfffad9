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
