"""Adapter: merge a call set's region VCFs into its call set VCF."""

import argparse

from kubecall.pipeline.merge import merge_region_vcfs, region_vcfs_in_plan_order
from kubecall.pipeline.regions import read_fai
from kubecall.pipeline.scripting import run_step, step_parser


def main(args: argparse.Namespace) -> None:
    merge_region_vcfs(
        parts=region_vcfs_in_plan_order(args.batches, args.callset),
        output=args.output,
        contig_order=[name for name, _ in read_fai(args.fai)],
        sample_order=args.samples,
        work_dir=args.output.parent / f".merge-{args.callset}",
    )


parser = step_parser(__doc__, paths=("batches", "samples", "fai", "output"))
parser.add_argument("--callset", required=True, help="the call set (its batches' directories)")
run_step(parser, main)
