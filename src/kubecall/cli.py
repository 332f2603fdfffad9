"""The ``kubecall`` command line: one sub-command per module, registered below."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from kubecall import __version__
from kubecall.errors import KubecallError

# Each module named here defines ``register(subparsers)``, which adds its sub-command
# and sets ``func`` (taking the parsed args, returning an exit code) as the default.
COMMAND_MODULES: tuple[str, ...] = (
    "kubecall.devtools.simulate",
    "kubecall.devtools.accuracy",
    "kubecall.publish.cli",
    "kubecall.pipeline.samplesheet_builder",
    "kubecall.cluster.bootstrap",
    "kubecall.cluster.credentials",
    "kubecall.cluster.stage",
    "kubecall.cluster.launch",
    "kubecall.cluster.status",
    "kubecall.cluster.logs",
    "kubecall.cluster.teardown",
    "kubecall.report.progress",
    "kubecall.report.cli",
    "kubecall.migration.cli",
)

EPILOG = """examples:
  kubecall simulate --samples 4 --length 200000 --depth 20 --seed 1 cohort/
  kubecall samplesheet --tree /datasource/1000g/phase3/data --match low_coverage -o samples.tsv
  kubecall bootstrap --overlay minikube            # namespace, claims, MinIO, driver RBAC
  kubecall stage --include config/my-cohort.yaml   # the workflow onto the shared workspace
  kubecall launch --configfile config/config.yaml  # snakemake as a Job in the cluster
  kubecall status; kubecall logs RUN; kubecall teardown
  kubecall progress            # where the run in this directory stands
  kubecall report -o report.html
  kubecall profile convert ~/old-k8s-profile   # a snakemake --executor kubernetes profile
"""


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="kubecall",
        description="Joint variant calling with Snakemake and freebayes, laptop to Kubernetes.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kubecall {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors print ``error: …`` and return 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KubecallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
