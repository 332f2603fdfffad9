"""Adapter: call one batch of regions with freebayes over the cohort."""

from pathlib import Path

from kubecall.pipeline.allocator import resolve_allocator
from kubecall.pipeline.batching import read_batch_regions
from kubecall.pipeline.calling import CallSettings, call_batch
from kubecall.pipeline.regions import read_fai
from kubecall.pipeline.scripting import run_logged


def main() -> None:
    # the regions with the plan's expected work: the job starts the longest first
    chosen = read_batch_regions(Path(snakemake.input.batches), snakemake.wildcards.batch)
    reference = Path(snakemake.input.reference)
    settings = CallSettings(
        reference=reference,
        manifest=Path(snakemake.input.manifest),
        extra=snakemake.params.extra,
        padding=int(snakemake.params.padding),
        time_budget=float(snakemake.params.time_budget),
        fallback_extra=snakemake.params.fallback,
        allocator=resolve_allocator(snakemake.params.allocator),
    )
    # the reference's index, which freebayes reads beside it (the rule's comment says why
    # it is not an input)
    fai = reference.with_name(reference.name + ".fai")
    call_batch([region for region, _ in chosen], dict(read_fai(fai)), settings,
               Path(snakemake.output[0]), Path(snakemake.log[0]), workers=snakemake.threads,
               weights={region.name: weight for region, weight in chosen})


run_logged(snakemake.log[0], main)
