"""Adapter: write the region plan and its batches."""

import csv
from pathlib import Path

from kubecall.pipeline.batching import assign_batches, write_batches
from kubecall.pipeline.planning import make_plan
from kubecall.pipeline.regions import read_fai, write_plan
from kubecall.pipeline.scripting import run_logged


def main() -> None:
    with open(snakemake.input.report, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    plan = make_plan(
        strategy=snakemake.params.strategy,
        count=int(snakemake.params.n_regions),
        contigs=read_fai(Path(snakemake.input.fai)),
        reference=Path(snakemake.input.reference),
        alignments=[(Path(r["alignment"]), Path(r["index"])) for r in rows],
        targets=Path(snakemake.input.targets) if "targets" in snakemake.input.keys() else None,
        weight_samples=int(snakemake.params.weight_samples),
    )
    write_plan([item.region for item in plan], Path(snakemake.output.plan))
    assignment = assign_batches(plan, int(snakemake.params.n_batches))
    write_batches(plan, assignment, Path(snakemake.output.batches))


run_logged(snakemake.log[0], main)
