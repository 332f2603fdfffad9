"""Adapter: render the run report (and its figures) from the run directory."""

import argparse
from pathlib import Path

from kubecall.layout import BENCHMARKS
from kubecall.pipeline.scripting import json_option, run_step, step_parser
from kubecall.report.data import load_report_data
from kubecall.report.render import write_report
from kubecall.report.vcf_summary import CallSetSummary


def deliverable(text: str) -> tuple[str, Path]:
    """A ``--deliverable KEY=PATH`` option (keys: kubecall.layout.DELIVERABLES)."""
    key, _, path = text.partition("=")
    return key, Path(path)


def main(args: argparse.Namespace) -> None:
    calls = CallSetSummary.read_json(args.summary) if args.summary else None
    # benchmarks/: the jobs' own timings, which snakemake writes and no rule outputs
    data = load_report_data(dict(args.deliverable), Path(BENCHMARKS), args.publish,
                            args.receipt, calls=calls)
    write_report(data, args.html, args.figures)
    if args.summary_out:
        data.calls.write_json(args.summary_out)


parser = step_parser(__doc__, paths=("html",))
parser.add_argument("--deliverable", type=deliverable, action="append", required=True,
                    help="KEY=PATH of each deliverable the report reads")
parser.add_argument("--publish", type=json_option, required=True,
                    help="config publish, as JSON")
parser.add_argument("--summary", type=Path, help="the call set summary render_report saved")
parser.add_argument("--receipt", type=Path, help="the publication's receipt")
parser.add_argument("--figures", type=Path, help="the directory of SVG figures")
parser.add_argument("--summary-out", type=Path, help="where to save the call set summary")
run_step(parser, main)
