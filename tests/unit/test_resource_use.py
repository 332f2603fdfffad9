"""The report's requested-vs-used figures and the profile entries they suggest."""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from kubecall.report.data import JobTiming, RegionRow, read_benchmarks
from kubecall.report.resources import (
    MEMORY_HEADROOM,
    MIB_IN_MB,
    RUNTIME_HEADROOM,
    rule_uses_of,
    suggested_profile,
)


def region(name: str, batch: str, cpu: float, rss: float) -> RegionRow:
    return RegionRow(name, batch, 1.0, 1000, "normal", cpu, 1, "", "cohort", cpu, rss)


CALLING = [
    # sampled by snakemake: the job's Python process only, freebayes came and went between
    JobTiming("call_batch", "cohort/b000", 10.0, 80.0, 1.0, 4, {"mem_mb": 16000, "runtime": 720}),
    JobTiming("call_batch", "cohort/b001", 20.0, 90.0, 2.0, 4, {"mem_mb": 16000, "runtime": 720}),
]
REGIONS = [region("r0", "b000", 15.0, 300.0), region("r1", "b000", 15.0, 250.0),
           region("r2", "b001", 40.0, 200.0)]
MERGE = JobTiming("merge_calls", "cohort", 30.0, 500.0, 25.0, 1, {"mem_mb": 2000, "runtime": 60})


def test_calling_jobs_count_each_freebayes_the_benchmark_missed() -> None:
    (calling,) = rule_uses_of(CALLING, REGIONS)
    first, second = calling.jobs
    # CPU: the regions' own wait4 seconds, not the 1 s the samples saw
    assert first.cpu_seconds == 30.0 and second.cpu_seconds == 40.0
    # memory: as many freebayes at once as the job has threads and regions (2 and 1 here)
    assert first.peak_mb == 2 * 300.0 * MIB_IN_MB
    assert second.peak_mb == 200.0 * MIB_IN_MB
    assert calling.cpu_efficiency == (30 + 40) / (4 * 10 + 4 * 20)
    assert math.isclose(calling.wasted_core_hours, (4 * 10 - 30 + 4 * 20 - 40) / 3600)
    memory_waste = (16000 - first.peak_mb) * 10 + (16000 - second.peak_mb) * 20
    assert math.isclose(calling.wasted_gb_hours, memory_waste / 1000 / 3600)


def test_suggestions_follow_the_largest_use_with_headroom() -> None:
    calling, merge = rule_uses_of([*CALLING, MERGE], REGIONS)
    # per thread: the largest job's peak over its threads, in steps of 100 MB
    per_thread = 2 * 300.0 * MIB_IN_MB / 4 * MEMORY_HEADROOM
    assert calling.suggested_mem_mb() == math.ceil(per_thread / 100) * 100 == 200
    assert calling.suggested_runtime() == math.ceil(20 * RUNTIME_HEADROOM / 60) == 1
    # the busiest calling job kept 30 / 10 = 3 cores busy: 3 threads, not 4
    assert calling.suggested_threads() == 3
    assert merge.suggested_mem_mb() == math.ceil(500 * MIB_IN_MB * MEMORY_HEADROOM / 100) * 100
    assert merge.suggested_threads() == 1
    block = yaml.safe_load(suggested_profile([calling, merge], "run-x"))
    assert block == {
        "set-resources": {"call_batch": {"mem_mb": "200 * threads", "runtime": 1},
                          "merge_calls": {"mem_mb": 700, "runtime": 1}},
        "set-threads": {"call_batch": 3},
    }


def test_unrecorded_requests_give_no_waste_and_no_thread_advice() -> None:
    plain = JobTiming("describe_run", "", 2.0, 40.0, 1.5)
    (use,) = rule_uses_of([plain], [])
    assert use.requested_threads is None and use.requested_mem_mb is None
    assert use.wasted_core_hours is None and use.wasted_gb_hours is None
    assert use.suggested_threads() is None
    assert use.suggested_mem_mb() == 100  # 40 MiB with headroom, at least one step
    assert "set-threads" not in yaml.safe_load(suggested_profile([use], "run-x"))


def test_benchmark_files_with_and_without_the_extended_columns(tmp_path: Path) -> None:
    (tmp_path / "call_batch" / "cohort").mkdir(parents=True)
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time"
    (tmp_path / "index_reference.tsv").write_text(
        f"{header}\n0.01\t0:00:00\tNA\tNA\tNA\tNA\tNA\tNA\tNA\tNA\n")
    (tmp_path / "call_batch" / "cohort" / "b000.tsv").write_text(
        f"{header}\tjobid\trule_name\twildcards\tparams\tthreads\tcpu_usage\tresources"
        "\tinput_size_mb\n"
        "1.27\t0:00:01\t71.61\t250.53\t44.26\t52.42\t0.00\t0.10\t1.57\t0.96\t2\tcall_batch\t"
        "{'callset': 'cohort', 'batch': 'b000'}\t{'extra': ''}\t2\t2.00\t"
        "{'tmpdir': '/tmp', '_nodes': 1, '_cores': 2, 'mem_mb': 8000, 'runtime': 720}\t{}\n")
    timings = {t.rule: t for t in read_benchmarks(tmp_path)}
    calling, index = timings["call_batch"], timings["index_reference"]
    assert (calling.job, calling.seconds, calling.max_rss_mb, calling.cpu_seconds) == (
        "cohort/b000", 1.27, 71.61, 0.96)
    assert calling.threads == 2 and calling.requested["mem_mb"] == 8000
    assert calling.requested["runtime"] == 720
    # a job over before snakemake's first sample: no figures, not zeros
    assert (index.max_rss_mb, index.cpu_seconds, index.threads, index.requested) == (
        None, None, None, {})
