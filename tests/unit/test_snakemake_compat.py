"""What kubecall.pipeline.snakemake_compat relies on in snakemake: these fail when it changes."""

from __future__ import annotations

import gc
import inspect
import threading
from pathlib import Path
from types import SimpleNamespace

import snakemake.api  # noqa: F401  (imports snakemake.workflow without a cycle)
from snakemake.scheduling.job_scheduler import JobScheduler
from snakemake.workflow import Workflow

from kubecall.pipeline import snakemake_compat


def test_the_schedulers_rearmed_timer_is_cancelled_and_no_other() -> None:
    scheduler = SimpleNamespace(_open_jobs=threading.Semaphore(0))
    before = set(threading.enumerate())
    JobScheduler._schedule_reevalutation(scheduler, 60)  # type: ignore[arg-type]
    armed = [t for t in threading.enumerate() if t not in before]
    assert len(armed) == 1 and isinstance(armed[0], threading.Timer), \
        "snakemake no longer re-arms one threading.Timer per scheduling pass"
    own = threading.Timer(60, lambda: None)
    own.start()
    try:
        snakemake_compat.cancel_rate_limit_timers()
        armed[0].join(timeout=10)
        assert not armed[0].is_alive()
        assert own.is_alive()
    finally:
        own.cancel()


def test_at_the_end_of_a_run_no_collection_walks_what_it_made() -> None:
    made = [[] for _ in range(1000)]
    try:
        snakemake_compat.exit_promptly()
        assert gc.get_freeze_count() >= len(made)  # left out of every later collection
    finally:
        gc.unfreeze()


def test_configfiles_and_parallelism_are_read_through_public_properties() -> None:
    assert isinstance(Workflow.nodes, property) and isinstance(Workflow.cores, property)
    # command-line config files first, then each configfile: directive's
    source = Path(inspect.getfile(Workflow)).read_text()
    assert "self.configfiles = list(self.config_settings.configfiles)" in source
    assert "self.configfiles.append(fp)" in source
    workflow = SimpleNamespace(configfiles=[Path("my.yaml"), "config/config.yaml"],
                               nodes=None, cores=3)
    assert snakemake_compat.config_source(workflow) == "my.yaml"
    assert snakemake_compat.parallelism(workflow) == 3
    workflow.nodes = 40
    assert snakemake_compat.parallelism(workflow) == 40
    assert snakemake_compat.config_source(SimpleNamespace(configfiles=[])) == \
        "config/config.yaml"


def test_calling_threads_and_jobs_at_once_follow_set_threads_cores_and_jobs() -> None:
    """A rule's threads as snakemake runs it (set-threads first, lowered to --cores and
    --max-threads), and how many calling jobs of that many threads run at once."""
    import dataclasses

    from snakemake.cli import parse_set_threads
    from snakemake.resources import Resource
    from snakemake.settings.types import ResourceSettings

    # what rule_threads reads from snakemake's own settings
    fields = {f.name for f in dataclasses.fields(ResourceSettings)}
    assert {"overwrite_threads", "max_threads", "cores", "nodes"} <= fields
    assert parse_set_threads(["call_batch=4"])["call_batch"].value == 4

    def workflow(cores: int | None, nodes: int | None, threads=None,
                 max_threads=None) -> SimpleNamespace:
        overwrite = {} if threads is None else {"call_batch": threads}
        return SimpleNamespace(
            nodes=nodes, cores=cores,
            resource_settings=SimpleNamespace(overwrite_threads=overwrite,
                                              max_threads=max_threads))

    rule_threads = snakemake_compat.rule_threads
    jobs_at_once = snakemake_compat.jobs_at_once
    assert rule_threads(workflow(2, None), "call_batch", 1) == 1
    assert rule_threads(workflow(8, None, Resource("_cores", 4)), "call_batch", 1) == 4
    assert rule_threads(workflow(2, None, 4), "call_batch", 1) == 2  # scaled to --cores
    assert rule_threads(workflow(None, 15, Resource("_cores", 4), 3),
                        "call_batch", 1) == 3  # --max-threads
    # a cluster executor's dry run has --cores 1 for want of a value: not a limit
    assert rule_threads(workflow(1, 15, Resource("_cores", 4)), "call_batch", 1) == 4
    assert jobs_at_once(workflow(2, None), 1) == 2
    assert jobs_at_once(workflow(2, None), 2) == 1
    assert jobs_at_once(workflow(8, None), 3) == 2
    # a cluster executor: --jobs counts jobs, each on its own node's CPUs
    assert jobs_at_once(workflow(None, 15), 4) == 15
    assert jobs_at_once(workflow(1, 15), 4) == 15
