"""Adapter: publish the run's deliverables to S3 and write the receipt."""

import argparse
from pathlib import Path

from kubecall.pipeline.runinfo import read_run_id
from kubecall.pipeline.scripting import json_option, run_step, step_parser
from kubecall.publish.publishing import publish_workflow_results


def main(args: argparse.Namespace) -> None:
    result = publish_workflow_results(Path("."), args.publish, read_run_id(args.run),
                                      args.receipt)
    # On the driver's output too: where a cluster run's results are (`kubecall logs RUN`).
    print(f"kubecall: published {result.url} (receipt {args.receipt})", flush=True)


parser = step_parser(__doc__)
parser.add_argument("--run", type=Path, required=True, help="results/run.json")
parser.add_argument("--publish", type=json_option, required=True,
                    help="config publish, as JSON")
parser.add_argument("--receipt", type=Path, required=True)
run_step(parser, main)
