"""Adapter: write results/run.json (config, samples, tool versions, run id)."""

from pathlib import Path

from kubecall.pipeline.allocator import allocator_name, resolve_allocator
from kubecall.pipeline.batching import read_batches
from kubecall.pipeline.runinfo import describe_run, tool_versions, write_run_info
from kubecall.pipeline.scripting import run_logged


def main() -> None:
    samples = Path(snakemake.input.samples).read_text().split()
    regions = len(read_batches(Path(snakemake.input.batches)))
    # The allocator can change QUAL's last digit, so it is part of what identifies a run.
    allocator = allocator_name(resolve_allocator(snakemake.config["calling"]["allocator"]))
    info = describe_run(dict(snakemake.config), samples, regions, Path(snakemake.input.fai),
                        tool_versions() | {"freebayes allocator": allocator})
    write_run_info(info, Path(snakemake.output[0]))


run_logged(snakemake.log[0], main)
