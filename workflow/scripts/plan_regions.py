"""Adapter: write the region plan and its batches."""

import argparse
import csv
from pathlib import Path

from kubecall.pipeline.batching import assign_batches, write_batches
from kubecall.pipeline.planning import make_plan
from kubecall.pipeline.regions import read_fai, write_plan
from kubecall.pipeline.scripting import run_step, step_parser


def main(args: argparse.Namespace) -> None:
    with open(args.report, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    plan = make_plan(
        strategy=args.strategy,
        count=args.regions,
        contigs=read_fai(args.fai),
        reference=args.reference,
        alignments=[(Path(r["alignment"]), Path(r["index"])) for r in rows],
        targets=args.targets,
        weight_samples=args.weight_samples,
    )
    write_plan([item.region for item in plan], args.plan)
    write_batches(plan, assign_batches(plan, args.batch_count), args.batches)


parser = step_parser(__doc__, paths=("report", "fai", "reference", "plan", "batches"))
parser.add_argument("--targets", type=Path, help="the targets BED (strategy bed)")
parser.add_argument("--strategy", required=True, help="config regions.strategy")
parser.add_argument("--regions", type=int, required=True, help="config regions.count")
parser.add_argument("--batch-count", type=int, required=True, help="calling jobs per call set")
parser.add_argument("--weight-samples", type=int, required=True,
                    help="config regions.weight_samples")
run_step(parser, main)
