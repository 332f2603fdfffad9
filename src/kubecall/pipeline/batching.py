"""Group regions into calling jobs of about equal expected work.

Longest-processing-time-first: regions in decreasing weight go to the batch with the least
work so far, which keeps the slowest batch within 4/3 of the optimum. Ties are broken by
name and batch number, so the same plan always gives the same batches.
"""

from __future__ import annotations

import csv
import heapq
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kubecall.errors import KubecallError
from kubecall.layout import BATCH_DIR
from kubecall.pipeline.regions import Interval, Region

if TYPE_CHECKING:
    # Only a type here: importing planning (and pysam with it) would cost every snakemake
    # start, which imports this module for batch_names (workflow/rules/common.smk).
    from kubecall.pipeline.planning import WeightedRegion


def batch_names(count: int) -> list[str]:
    """Names of ``count`` batches; zero-padded so name order is batch order."""
    width = max(3, len(str(count - 1)))
    return [f"b{index:0{width}d}" for index in range(count)]


def default_batch_count(regions: int, threads: int, jobs_at_once: int) -> int:
    """regions.batches 0: how many calling jobs to make of ``regions`` regions.

    Twice the jobs that run at once, so a job whose plan weights were off is made up for
    by the others taking the remaining batches; but one batch when only one job runs at a
    time, since a job already keeps its threads busy (each freebayes takes the next region)
    and a second job in series would add a second tail and a job start with every core
    idle. At most ``regions // threads``, so every thread of a job has a region.
    """
    wanted = 1 if jobs_at_once <= 1 else 2 * jobs_at_once
    return max(1, min(wanted, regions // max(1, threads)))


def assign_batches(regions: Sequence[WeightedRegion], batches: int) -> dict[str, str]:
    """Region name -> batch name, longest-first onto the least-loaded batch."""
    if batches < 1:
        raise KubecallError(f"regions.batches must be at least 1, got {batches}")
    names = batch_names(batches)
    heap = [(0.0, index) for index in range(batches)]
    assignment: dict[str, str] = {}
    for item in sorted(regions, key=lambda r: (-r.weight, r.region.name)):
        load, index = heapq.heappop(heap)
        assignment[item.region.name] = names[index]
        heapq.heappush(heap, (load + item.weight, index))
    return assignment


def write_batches(regions: Sequence[WeightedRegion], assignment: dict[str, str],
                  path: Path) -> None:
    """TSV: region, batch, weight, bases, intervals — in plan order.

    ``intervals`` repeats the region's lines of regions.bed (``contig:start-end``, 0-based
    half-open, space-separated: a FASTA name ends at whitespace), so that a calling job
    needs this one file of the plan: each file a job declares costs the DAG at 3,000 jobs.
    """
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["region", "batch", "weight", "bases", "intervals"])
        for item in regions:
            writer.writerow([item.region.name, assignment[item.region.name],
                             f"{item.weight:.1f}", item.region.length,
                             " ".join(f"{i.contig}:{i.start}-{i.end}"
                                      for i in item.region.intervals)])


def read_batches(path: Path) -> list[dict[str, str]]:
    """Rows of a batches TSV, in plan order."""
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def batch_dir(callset: str, batch: str, root: Path = Path(".")) -> Path:
    """A calling job's directory under the run directory ``root`` (kubecall.layout.BATCH_DIR)."""
    return root / BATCH_DIR.format(callset=callset, batch=batch)


def read_batch_regions(path: Path, batch: str) -> list[tuple[Region, float]]:
    """The regions of ``batch`` with their expected work, in plan order."""
    return [(region, weight) for region, in_batch, weight in _plan_rows(path)
            if in_batch == batch]


def read_plan_regions(path: Path) -> list[tuple[Region, str]]:
    """Every region of the plan with its batch, in plan order."""
    return [(region, batch) for region, batch, _ in _plan_rows(path)]


def _plan_rows(path: Path) -> list[tuple[Region, str, float]]:
    """Each row of a batches TSV as (region, batch, expected work), in plan order."""
    rows = []
    for lineno, row in enumerate(read_batches(path), 2):
        try:
            intervals = tuple(_interval(token) for token in row["intervals"].split(" "))
            rows.append((Region(row["region"], intervals), row["batch"], float(row["weight"])))
        except (KeyError, AttributeError, ValueError) as exc:
            raise KubecallError(f"{path}:{lineno}: not a batches row with intervals ({exc}); "
                                f"rerun plan_regions (snakemake --forcerun plan_regions)") from None
    return rows


def _interval(token: str) -> Interval:
    """``contig:start-end`` (the last colon ends the name, which may hold colons)."""
    contig, _, span = token.rpartition(":")
    start, _, end = span.partition("-")
    return Interval(contig, int(start), int(end))
