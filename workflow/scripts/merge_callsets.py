"""Adapter: merge the per-group (or per-sample) call sets into the cohort call set."""

from pathlib import Path

from kubecall.pipeline.merge import merge_callsets
from kubecall.pipeline.regions import read_fai
from kubecall.pipeline.scripting import run_logged

run_logged(
    snakemake.log[0],
    lambda: merge_callsets(
        inputs=[Path(p) for p in snakemake.input.vcfs],
        output=Path(snakemake.output.vcf),
        contig_order=[name for name, _ in read_fai(Path(snakemake.input.fai))],
        sample_order=Path(snakemake.input.samples),
        work_dir=Path(snakemake.output.vcf).parent / ".merge-callsets",
        threads=snakemake.threads,
    ),
)
