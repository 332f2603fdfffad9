"""Adapter: call one batch of regions with freebayes over the cohort."""

from pathlib import Path

from kubecall.pipeline.allocator import resolve_allocator
from kubecall.pipeline.batching import read_batches
from kubecall.pipeline.calling import CallSettings, call_batch
from kubecall.pipeline.regions import read_fai, read_plan
from kubecall.pipeline.scripting import run_logged


def main() -> None:
    batch = snakemake.wildcards.batch
    # the plan's expected work per region: the job starts the longest first
    weights = {row["region"]: float(row["weight"])
               for row in read_batches(Path(snakemake.input.batches)) if row["batch"] == batch}
    regions = [r for r in read_plan(Path(snakemake.input.plan)) if r.name in weights]
    settings = CallSettings(
        reference=Path(snakemake.input.reference),
        manifest=Path(snakemake.input.manifest),
        extra=snakemake.params.extra,
        padding=int(snakemake.params.padding),
        time_budget=float(snakemake.params.time_budget),
        fallback_extra=snakemake.params.fallback,
        allocator=resolve_allocator(snakemake.params.allocator),
    )
    call_batch(regions, dict(read_fai(Path(snakemake.input.fai))), settings,
               Path(snakemake.output[0]), Path(snakemake.log.freebayes),
               workers=snakemake.threads, weights=weights)


run_logged(snakemake.log.main, main)
