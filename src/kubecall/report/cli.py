"""``kubecall report``: render a finished run's report outside the workflow (e.g. again later)."""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from kubecall.errors import KubecallError

# The report concern's commands (see kubecall.cluster.cli for the shape).
VERB_MODULES: tuple[str, ...] = ("kubecall.report.progress", "kubecall.report.cli")
EXAMPLES = """\
  kubecall progress            # where the run in this directory stands
  kubecall report -o report.html
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``kubecall report``."""
    parser = subparsers.add_parser(
        "report",
        help="render a finished run's HTML report",
        description="Render the self-contained HTML report of the finished run in WORKDIR "
        "(what the workflow's render_report rule writes to results/report.html). With "
        "--configfile, the publish section is read from it and the publication (S3 location, "
        "receipt) is shown.",
        epilog="examples:\n  kubecall report -o report.html\n  kubecall report /workspace/"
        "runs/1kg --configfile config/1kg.yaml -o 1kg.html",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("workdir", nargs="?", type=Path, default=Path("."),
                        help="the run's working directory (default: the current one)")
    parser.add_argument("-o", "--output", type=Path, default=Path("report.html"),
                        help="where to write the page (default: report.html)")
    parser.add_argument("--configfile", type=Path,
                        help="the run's config, for its publish section")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from kubecall.report.data import load_run
    from kubecall.report.render import write_report

    publish = None
    if args.configfile:
        try:
            publish = (yaml.safe_load(args.configfile.read_text()) or {}).get("publish")
        except (OSError, yaml.YAMLError) as exc:
            raise KubecallError(f"cannot read config {args.configfile}: {exc}") from None
    write_report(load_run(args.workdir, publish), args.output)
    print(f"wrote {args.output}")
    return 0
