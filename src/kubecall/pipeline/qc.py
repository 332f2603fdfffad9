"""Quality-control tables: how long each region took, and which ones ran away."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

from kubecall.pipeline.batching import batch_dir, read_batches

RUNTIME_COLUMNS = ["callset", "region", "batch", "weight", "bases", "how", "seconds",
                   "cpu_seconds", "max_rss_mb", "records", "allocator"]


def summarize_regions(
    batches_tsv: Path, callsets: Iterable[str], budget: float, runtimes: Path,
    runaways: Path, root: Path = Path("."),
) -> None:
    """Join the plan's expected work with each batch's measured outcome, per call set, in
    plan order (each batch's directory under the run directory ``root`` holds its
    regions.tsv).

    ``runaway_regions.tsv`` lists the regions the time budget split (``how`` = split) or
    that needed the fallback options (``how`` = fallback), with the budget in force.
    """
    planned_rows = read_batches(batches_tsv)
    batches = dict.fromkeys(row["batch"] for row in planned_rows)
    callsets = sorted(callsets)
    measured: dict[tuple[str, str], dict[str, str]] = {}
    for callset in callsets:
        for batch in batches:
            with open(batch_dir(callset, batch, root) / "regions.tsv", newline="") as handle:
                for row in csv.DictReader(handle, delimiter="\t"):
                    measured[(callset, row["region"])] = row
    rows = []
    for callset in callsets:
        for planned in planned_rows:
            outcome = measured[(callset, planned["region"])]
            rows.append({"callset": callset} | planned |
                        {k: outcome[k] for k in ("how", "seconds", "cpu_seconds",
                                                "max_rss_mb", "records", "allocator")})
    _write(runtimes, RUNTIME_COLUMNS, rows)
    runaway = [row | {"budget_s": f"{budget:g}"} for row in rows if row["how"] != "normal"]
    _write(runaways, [*RUNTIME_COLUMNS, "budget_s"], runaway)


def _write(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, delimiter="\t", lineterminator="\n",
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
