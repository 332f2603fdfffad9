"""Adapter: merge region VCFs into the cohort call set."""

from pathlib import Path

from kubecall.pipeline.merge import merge_region_vcfs, region_vcfs_in_plan_order
from kubecall.pipeline.regions import read_fai
from kubecall.pipeline.scripting import run_logged

run_logged(
    snakemake.log[0],
    lambda: merge_region_vcfs(
        inputs=region_vcfs_in_plan_order(
            Path(snakemake.input.batches), map(Path, snakemake.input.batch_dirs)
        ),
        output=Path(snakemake.output.vcf),
        contig_order=[name for name, _ in read_fai(Path(snakemake.input.fai))],
        sample_order=Path(snakemake.input.samples),
        work_dir=Path(snakemake.output.vcf).parent / f".merge-{snakemake.wildcards.callset}",
        threads=snakemake.threads,
    ),
)
