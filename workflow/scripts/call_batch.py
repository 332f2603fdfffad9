"""Adapter: call one batch of regions with freebayes over the cohort."""

import argparse

from kubecall.pipeline.allocator import resolve_allocator
from kubecall.pipeline.batching import read_batch_regions
from kubecall.pipeline.calling import CallSettings, call_batch
from kubecall.pipeline.regions import read_fai
from kubecall.pipeline.scripting import run_step, step_parser


def main(args: argparse.Namespace) -> None:
    # the regions with the plan's expected work: the job starts the longest first
    chosen = read_batch_regions(args.batches, args.batch)
    settings = CallSettings(
        reference=args.reference,
        manifest=args.manifest,
        extra=args.extra,
        padding=args.padding,
        time_budget=args.time_budget,
        fallback_extra=args.fallback,
        allocator=resolve_allocator(args.allocator),
        samples=tuple(args.samples.read_text().split()),
    )
    # the reference's index, which freebayes reads beside it (the rule's comment says why
    # it is not an input)
    fai = args.reference.with_name(args.reference.name + ".fai")
    call_batch([region for region, _ in chosen], dict(read_fai(fai)), settings, args.output,
               args.log, workers=args.threads,
               weights={region.name: weight for region, weight in chosen})


parser = step_parser(__doc__, paths=("reference", "manifest", "samples", "batches", "output"))
parser.add_argument("--batch", required=True, help="the batch's name in batches.tsv")
parser.add_argument("--extra", required=True, help="config calling.extra")
parser.add_argument("--padding", type=int, required=True, help="config regions.padding")
parser.add_argument("--time-budget", type=float, required=True,
                    help="config calling.region_time_budget")
parser.add_argument("--fallback", required=True, help="config calling.runaway_fallback")
parser.add_argument("--allocator", required=True, help="config calling.allocator")
run_step(parser, main)
