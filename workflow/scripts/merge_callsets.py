"""Adapter: merge the per-group (or per-sample) call sets into the cohort call set."""

import argparse
from pathlib import Path

from kubecall.layout import CALLSET_VCF
from kubecall.pipeline.merge import merge_callsets
from kubecall.pipeline.regions import read_fai
from kubecall.pipeline.scripting import run_step, step_parser


def main(args: argparse.Namespace) -> None:
    merge_callsets(
        inputs=[Path(CALLSET_VCF.format(callset=name)) for name in args.callsets],
        output=args.output,
        contig_order=[name for name, _ in read_fai(args.fai)],
        sample_order=args.samples,
        work_dir=args.output.parent / ".merge-callsets",
        threads=args.threads,
    )


parser = step_parser(__doc__, paths=("samples", "fai", "output"))
parser.add_argument("--callsets", nargs="+", required=True, help="the call sets merged")
run_step(parser, main)
