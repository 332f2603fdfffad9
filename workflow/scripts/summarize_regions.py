"""Adapter: per-region runtimes and runaway regions for QC."""

import argparse

from kubecall.pipeline.qc import summarize_regions
from kubecall.pipeline.scripting import run_step, step_parser


def main(args: argparse.Namespace) -> None:
    summarize_regions(args.batches, args.callsets, args.budget, args.runtimes, args.runaways)


parser = step_parser(__doc__, paths=("batches", "runtimes", "runaways"))
parser.add_argument("--callsets", nargs="+", required=True, help="every call set of the run")
parser.add_argument("--budget", type=float, required=True,
                    help="config calling.region_time_budget")
run_step(parser, main)
