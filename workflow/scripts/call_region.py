"""Adapter: call one region with freebayes over the cohort."""

import sys

# This checkout's kubecall, whichever environment (venv, conda, container) runs the job.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

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
