"""Adapter: per-region runtimes and runaway regions for QC."""

from pathlib import Path

from kubecall.pipeline.qc import summarize_regions
from kubecall.pipeline.scripting import run_logged

run_logged(
    snakemake.log[0],
    lambda: summarize_regions(
        Path(snakemake.input.batches), snakemake.input.batch_dirs,
        float(snakemake.params.budget), Path(snakemake.output.runtimes),
        Path(snakemake.output.runaways),
    ),
)
