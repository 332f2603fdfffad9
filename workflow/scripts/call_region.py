"""Adapter: call one region with freebayes over the cohort."""

from pathlib import Path

from kubecall.calling import call_region
from kubecall.scripting import run_logged

run_logged(
    snakemake.log.main,
    lambda: call_region(
        reference=Path(snakemake.input.reference),
        manifest=Path(snakemake.input.manifest),
        plan=Path(snakemake.input.plan),
        region_name=snakemake.wildcards.region,
        output=Path(snakemake.output[0]),
        stderr_log=Path(snakemake.log.freebayes),
        extra=snakemake.params.extra,
    ),
)
