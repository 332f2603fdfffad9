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


parser = step_parser(__doc__, paths=("run", "receipt"))
parser.add_argument("--publish", type=json_option, required=True,
                    help="config publish, as JSON")
run_step(parser, main)
