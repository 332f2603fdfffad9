"""Adapter: write results/run.json (config, samples, tool versions, run id)."""

import argparse

from kubecall.pipeline.allocator import allocator_name, resolve_allocator
from kubecall.pipeline.batching import read_batches
from kubecall.pipeline.runinfo import describe_run, tool_versions, write_run_info
from kubecall.pipeline.scripting import json_option, run_step, step_parser


def main(args: argparse.Namespace) -> None:
    samples = args.samples.read_text().split()
    regions = len(read_batches(args.batches))
    # The allocator can change QUAL's last digit, so it is part of what identifies a run.
    allocator = allocator_name(resolve_allocator(args.config["calling"]["allocator"]))
    versions = tool_versions() | {"freebayes allocator": allocator,
                                  "snakemake": args.snakemake_version}
    write_run_info(describe_run(args.config, samples, regions, args.fai, versions), args.output)


parser = step_parser(__doc__, paths=("samples", "fai", "batches", "output"))
parser.add_argument("--config", type=json_option, required=True, help="the run's config, as JSON")
parser.add_argument("--snakemake-version", required=True, help="of the snakemake running the run")
run_step(parser, main)
