"""The ``kubecall`` command line: one sub-command per module, registered below."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from kubecall import __version__
from kubecall.errors import KubecallError

# One registry: each concern's cli module names its verb modules (each with a
# ``register(subparsers)`` that adds the sub-command and sets ``func``, taking the parsed args
# and returning an exit code) and the examples the top-level help shows.
CONCERN_CLIS: tuple[str, ...] = (
    "kubecall.devtools.cli",
    "kubecall.pipeline.cli",
    "kubecall.cluster.cli",
    "kubecall.report.cli",
    "kubecall.publish.cli",
    "kubecall.migration.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="kubecall",
        description="Joint variant calling with Snakemake and freebayes, laptop to Kubernetes.",
        epilog="examples:\n" + "".join(
            importlib.import_module(name).EXAMPLES for name in CONCERN_CLIS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"kubecall {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in CONCERN_CLIS:
        for verb in importlib.import_module(name).VERB_MODULES:
            importlib.import_module(verb).register(subparsers)
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
