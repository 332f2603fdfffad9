"""Requested against used, per rule: what a run's jobs asked for (threads, mem_mb, runtime)
and what they used (peak RSS, CPU time, wall), the waste in core-hours and GB-hours, and the
values a profile should ask for instead (``set-threads``/``set-resources``).

Used figures come from snakemake's benchmark files, which sample a job's process tree (every
0.5 s, then every 30 s): a calling job's freebayes processes start and end between samples,
so for ``call_batch`` the regions' own wait4 figures (CPU seconds, each freebayes' peak RSS)
are used where they are larger. Requested figures need ``--benchmark-extended``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from kubecall.report.data import JobTiming, RegionRow, ReportData

# Headroom over the largest use seen: memory varies with the data more than with anything
# the profile controls, and a job over its runtime is killed, so both keep a margin.
MEMORY_HEADROOM = 1.25
RUNTIME_HEADROOM = 1.5
MEMORY_STEP_MB = 100
MIB_IN_MB = 1.048576  # benchmark RSS is in MiB; snakemake's mem_mb in MB
CALLING_RULE = "call_batch"  # its jobs run `threads` freebayes at once, one per region

Number = TypeVar("Number", int, float)


@dataclass(frozen=True)
class JobUse:
    """One job: what it asked for (None: not recorded) and used."""

    rule: str
    job: str
    seconds: float
    cpu_seconds: float | None
    peak_mb: float | None  # MB (not MiB), to compare with mem_mb
    threads: int | None
    mem_mb: float | None
    runtime_minutes: float | None


@dataclass(frozen=True)
class RuleUse:
    """A rule's jobs together, and what its profile entry should say."""

    rule: str
    jobs: Sequence[JobUse]

    @property
    def per_thread_memory(self) -> bool:
        """Calling: a job's memory grows with its threads (a freebayes each)."""
        return self.rule == CALLING_RULE

    @property
    def requested_threads(self) -> int | None:
        return _largest(j.threads for j in self.jobs)

    @property
    def requested_mem_mb(self) -> float | None:
        return _largest(j.mem_mb for j in self.jobs)

    @property
    def requested_runtime(self) -> float | None:
        return _largest(j.runtime_minutes for j in self.jobs)

    @property
    def peak_mb(self) -> float | None:
        return _largest(j.peak_mb for j in self.jobs)

    @property
    def longest_seconds(self) -> float:
        return max(j.seconds for j in self.jobs)

    @property
    def cpu_seconds(self) -> float | None:
        known = [j.cpu_seconds for j in self.jobs if j.cpu_seconds is not None]
        return sum(known) if known else None

    @property
    def cpu_efficiency(self) -> float | None:
        """CPU time over the core time reserved (threads x wall), all jobs together."""
        reserved = sum((j.threads or 1) * j.seconds for j in self.jobs)
        cpu = self.cpu_seconds
        return cpu / reserved if cpu is not None and reserved > 0 else None

    @property
    def wasted_core_hours(self) -> float | None:
        """Reserved core time not used: threads x wall minus CPU time, summed over jobs."""
        if any(j.threads is None or j.cpu_seconds is None for j in self.jobs):
            return None
        return sum(max(0.0, j.threads * j.seconds - j.cpu_seconds)  # type: ignore[operator]
                   for j in self.jobs) / 3600

    @property
    def wasted_gb_hours(self) -> float | None:
        """Requested memory not used, times the job's wall time, summed over jobs."""
        if any(j.mem_mb is None or j.peak_mb is None for j in self.jobs):
            return None
        return sum(max(0.0, j.mem_mb - j.peak_mb) * j.seconds  # type: ignore[operator]
                   for j in self.jobs) / 1000 / 3600

    def suggested_threads(self) -> int | None:
        """The most cores one job kept busy on average, rounded up; never above what was
        asked (a job's mean hides its busy stretches, so this only ever lowers threads)."""
        busy = [j.cpu_seconds / j.seconds for j in self.jobs
                if j.cpu_seconds is not None and j.seconds > 0]
        if not busy or self.requested_threads is None:
            return None
        return max(1, min(self.requested_threads, math.ceil(max(busy) - 0.05)))

    def suggested_mem_mb(self) -> int | None:
        """The largest peak with headroom, in MEMORY_STEP_MB steps; for calling, per thread."""
        if self.peak_mb is None:
            return None
        if self.per_thread_memory:
            per_thread = max(j.peak_mb / (j.threads or 1) for j in self.jobs
                             if j.peak_mb is not None)
            return _step(per_thread * MEMORY_HEADROOM)
        return _step(self.peak_mb * MEMORY_HEADROOM)

    def suggested_runtime(self) -> int:
        """Minutes: the longest job with headroom, at least 1."""
        return max(1, math.ceil(self.longest_seconds * RUNTIME_HEADROOM / 60))


def rule_uses(data: ReportData) -> list[RuleUse]:
    """Every rule of the run with benchmark files."""
    return rule_uses_of(data.jobs, data.regions)


def rule_uses_of(timings: Iterable[JobTiming], rows: Iterable[RegionRow]) -> list[RuleUse]:
    """Every rule with benchmark files, in the order its first job appears; ``rows``, the
    regions' measured outcomes, complete the calling jobs' figures."""
    regions: dict[tuple[str, str], list[RegionRow]] = {}
    for region in rows:
        regions.setdefault((region.callset, region.batch), []).append(region)
    uses: dict[str, list[JobUse]] = {}
    for timing in timings:
        uses.setdefault(timing.rule, []).append(_job_use(timing, regions))
    return [RuleUse(rule, jobs) for rule, jobs in uses.items()]


def _job_use(timing: JobTiming, regions: dict[tuple[str, str], list[RegionRow]]) -> JobUse:
    peak = timing.max_rss_mb
    cpu = timing.cpu_seconds
    if timing.rule == CALLING_RULE:
        callset, _, batch = timing.job.rpartition("/")
        own = regions.get((callset, batch), [])
        if own:
            # freebayes at once: at most the job's threads, at most its regions
            at_once = min(timing.threads or 1, len(own))
            bound = at_once * max(r.max_rss_mb for r in own)
            peak = max(peak or 0.0, bound) or None
            cpu = max(cpu or 0.0, sum(r.cpu_seconds for r in own))
    requested = timing.requested
    return JobUse(
        rule=timing.rule, job=timing.job, seconds=timing.seconds, cpu_seconds=cpu,
        peak_mb=None if peak is None else peak * MIB_IN_MB, threads=timing.threads,
        mem_mb=_number(requested.get("mem_mb")),
        runtime_minutes=_number(requested.get("runtime")),
    )


def suggested_profile(uses: Iterable[RuleUse], run_id: str) -> str:
    """The set-threads and set-resources blocks a profile should carry, as YAML."""
    uses = list(uses)
    threads = {u.rule: t for u in uses
               if (t := u.suggested_threads()) is not None and t != u.requested_threads}
    lines = [f"# From run {run_id}: the largest peak RSS x {MEMORY_HEADROOM:g} and the "
             f"longest job x {RUNTIME_HEADROOM:g};",
             "# sized for this run's cohort and region plan (memory and time grow with the "
             "samples).", "set-resources:"]
    for use in uses:
        lines.append(f"  {use.rule}:")
        memory = use.suggested_mem_mb()
        if memory is not None:
            lines.append(f"    mem_mb: {memory} * threads" if use.per_thread_memory
                         else f"    mem_mb: {memory}")
        lines.append(f"    runtime: {use.suggested_runtime()}")
    if threads:
        lines.append("set-threads:")
        lines.extend(f"  {rule}: {count}" for rule, count in threads.items())
    return "\n".join(lines) + "\n"


def _largest(values: Iterable[Number | None]) -> Number | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


def _step(mb: float) -> int:
    return max(MEMORY_STEP_MB, math.ceil(mb / MEMORY_STEP_MB) * MEMORY_STEP_MB)
