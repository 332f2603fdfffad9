"""``kubecall progress``: a local run's regions and batches by state, from results/ and logs/.

Read-only and cheap: it opens the plan, each batch's ``regions.tsv`` (written when the batch
finishes), the running batches' logs (a line per finished region) and the latest Snakemake
log (``Error in rule ...`` blocks), so it can be run at any time, also while Snakemake runs.

States: ``done``; ``runaway`` (done, but split by the time budget or called with the fallback
options); ``running``; ``failed`` (the latest Snakemake run reported the batch's job as
failed, or it started and stopped without finishing while no Snakemake holds the working
directory's lock); ``pending`` (not started).
"""

from __future__ import annotations

import argparse
import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from kubecall.errors import KubecallError

STATES = ("done", "runaway", "running", "failed", "pending")
CALLS = Path("results/calls")
# What kubecall.pipeline.calling logs per region: start, and the outcome once it is written.
REGION_START = re.compile(r"running: freebayes .*?/(r[0-9]+)\.vcf\.gz\.partial")
REGION_DONE = re.compile(r"region (\S+) \((normal|split|fallback)\): \d+ records kept")
REGION_OVER = re.compile(r"region (\S+) exceeded its")
ERROR_BLOCK = re.compile(r"^Error in rule (\w+):\s*$")
ERROR_OUTPUT = re.compile(r"^\s+output: (.*)$")


@dataclass
class BatchProgress:
    """One calling job and the state of each of its regions, in plan order."""

    name: str
    state: str
    regions: dict[str, str] = field(default_factory=dict)

    def count(self, state: str) -> int:
        return sum(1 for value in self.regions.values() if value == state)


@dataclass
class RunProgress:
    """A run directory's calling progress."""

    workdir: Path
    planned: bool
    batches: list[BatchProgress] = field(default_factory=list)
    snakemake_running: bool = False
    failed_rules: list[str] = field(default_factory=list)

    def region_counts(self) -> Counter[str]:
        return Counter(state for b in self.batches for state in b.regions.values())

    def batch_counts(self) -> Counter[str]:
        return Counter(b.state for b in self.batches)


def read_progress(workdir: Path) -> RunProgress:
    """Where the run in ``workdir`` stands (see the module docstring for the states)."""
    workdir = Path(workdir).resolve()
    if not workdir.is_dir():
        raise KubecallError(f"{workdir} is not a directory; give the run's working directory")
    running = any((workdir / ".snakemake" / "locks").glob("*.lock"))
    failed_outputs, failed_rules = _latest_failures(workdir / ".snakemake" / "log")
    progress = RunProgress(workdir, planned=False, snakemake_running=running,
                           failed_rules=failed_rules)
    plan = workdir / "results" / "regions" / "batches.tsv"
    if not plan.is_file():
        return progress
    progress.planned = True
    members: dict[str, list[str]] = {}
    for row in _read_tsv(plan):
        members.setdefault(row["batch"], []).append(row["region"])
    for callset in _callsets(workdir):
        for batch, regions in sorted(members.items()):
            failed = str(CALLS / callset / "batches" / batch) in failed_outputs
            progress.batches.append(
                _batch_progress(workdir, callset, batch, regions, failed, running))
    return progress


def _callsets(workdir: Path) -> list[str]:
    """The run's call sets (``cohort`` when calling jointly), from preflight's manifests."""
    manifests = (workdir / "results" / "cohort" / "callsets").glob("*.txt")
    names = sorted(p.name[: -len(".txt")] for p in manifests
                   if not p.name.endswith(".samples.txt"))
    return names or ["cohort"]


def _batch_progress(workdir: Path, callset: str, batch: str, regions: list[str], failed: bool,
                    snakemake_running: bool) -> BatchProgress:
    # jobs of a joint run are named by batch alone; other modes add the call set
    name = batch if callset == "cohort" else f"{callset}/{batch}"
    outcome = workdir / CALLS / callset / "batches" / batch / "regions.tsv"
    if outcome.is_file() and not failed:
        hows = {row["region"]: row["how"] for row in _read_tsv(outcome)}
        return BatchProgress(name, "done", {
            region: "runaway" if hows.get(region, "normal") != "normal" else "done"
            for region in regions
        })
    log = workdir / "logs" / "call_batch" / callset / f"{batch}.log"
    if not log.is_file():
        return BatchProgress(name, "pending", dict.fromkeys(regions, "pending"))
    state = "running" if snakemake_running and not failed else "failed"
    finished, over, current = _read_batch_log(log)
    states = {}
    for region in regions:
        if region in finished:
            states[region] = "runaway" if finished[region] != "normal" else "done"
        elif region in current:
            states[region] = state
        else:
            states[region] = "pending"
    for region in over - finished.keys():
        if states.get(region) == "running":
            states[region] = "runaway"  # over budget and still being split or retried
    return BatchProgress(name, state, states)


def _read_batch_log(log: Path) -> tuple[dict[str, str], set[str], set[str]]:
    """(finished region -> how, regions over budget, regions started and unfinished: a job
    with N threads calls up to N at once)."""
    finished: dict[str, str] = {}
    over: set[str] = set()
    current: set[str] = set()
    for line in log.read_text(errors="replace").splitlines():
        if done := REGION_DONE.search(line):
            finished[done.group(1)] = done.group(2)
            current.discard(done.group(1))
        elif start := REGION_START.search(line):
            current.add(start.group(1))
        elif late := REGION_OVER.search(line):
            over.add(late.group(1))
    return finished, over, current - finished.keys()


def _latest_failures(log_dir: Path) -> tuple[set[str], list[str]]:
    """Outputs and rule names of the jobs the newest Snakemake log reports as failed."""
    logs = sorted(log_dir.glob("*.snakemake.log"), key=lambda p: p.stat().st_mtime)
    if not logs:
        return set(), []
    outputs: set[str] = set()
    rules: list[str] = []
    in_block = False
    for line in logs[-1].read_text(errors="replace").splitlines():
        if header := ERROR_BLOCK.match(line):
            rules.append(header.group(1))
            in_block = True
        elif in_block and (found := ERROR_OUTPUT.match(line)):
            outputs.update(part.strip() for part in found.group(1).split(","))
        elif in_block and not line.startswith(" "):
            in_block = False
    return outputs, rules


def format_progress(progress: RunProgress, every_batch: bool = False) -> str:
    """A compact table: counts by state, then the batches that are not done (or all)."""
    if not progress.planned:
        lines = [f"{progress.workdir}: no region plan yet (results/regions/batches.tsv); "
                 + ("snakemake is running" if progress.snakemake_running else
                    "snakemake is not running")]
        if progress.failed_rules:
            lines.append(f"failed in the last run: {', '.join(sorted(set(progress.failed_rules)))}")
        return "\n".join(lines) + "\n"
    regions, batches = progress.region_counts(), progress.batch_counts()
    total_regions = sum(regions.values())
    lines = [
        f"{progress.workdir}: {total_regions} regions in {len(progress.batches)} batches; "
        f"snakemake {'is' if progress.snakemake_running else 'is not'} running",
        f"{'state':<9}{'regions':>9}{'batches':>9}",
    ]
    for state in STATES:
        batch_count = "-" if state == "runaway" else str(batches.get(state, 0))
        lines.append(f"{state:<9}{regions.get(state, 0):>9}{batch_count:>9}")
    shown = [b for b in progress.batches if every_batch or b.state != "done"]
    if shown:
        lines.append("")
        lines.append(f"{'batch':<8}{'state':<9}{'done':>6}{'runaway':>9}{'total':>7}  now")
        for batch in shown:
            now = ",".join(n for n, s in batch.regions.items() if s in ("running", "failed"))
            lines.append(f"{batch.name:<8}{batch.state:<9}{batch.count('done'):>6}"
                         f"{batch.count('runaway'):>9}{len(batch.regions):>7}  {now}".rstrip())
    other = sorted(set(progress.failed_rules) - {"call_batch"})
    if other:
        lines.append(f"\nfailed in the last run (other rules): {', '.join(other)}")
    return "\n".join(lines) + "\n"


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``kubecall progress``."""
    parser = subparsers.add_parser(
        "progress",
        help="a local run's regions and batches by state",
        description="Count a run's regions and calling batches by state (done, runaway, "
        "running, failed, pending) from its results/, logs/ and .snakemake/ directories. "
        "Read-only; safe while snakemake runs.",
        epilog="examples:\n  kubecall progress\n  kubecall progress /workspace/runs/1kg "
        "--all\n  watch -n 10 kubecall progress",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workdir", nargs="?", type=Path, default=Path("."),
                        help="the run's working directory (default: the current one)")
    parser.add_argument("--all", action="store_true", dest="every_batch",
                        help="list every batch, also the finished ones")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    print(format_progress(read_progress(args.workdir), args.every_batch), end="")
    return 0
