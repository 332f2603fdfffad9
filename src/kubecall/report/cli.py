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
  kubecall resources           # the set-resources block this run's jobs suggest
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
    resources = subparsers.add_parser(
        "resources",
        help="print the set-threads/set-resources a profile should ask for, from a run",
        description="Compare what a finished run's jobs asked for (threads, mem_mb, runtime; "
        "recorded with --benchmark-extended, which profiles/default sets) with what they used "
        "(benchmarks/, and for calling each freebayes' own figures), and print the profile "
        "entries to ask for instead: peak memory and the longest job, with headroom. Paste "
        "them into your profile's config.yaml; they hold for this run's cohort and plan.",
        epilog="example:\n  kubecall resources /workspace/runs/1kg >> my-profile/config.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    resources.add_argument("workdir", nargs="?", type=Path, default=Path("."),
                           help="the run's working directory (default: the current one)")
    resources.set_defaults(func=_resources)


def _run(args: argparse.Namespace) -> int:
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


def _resources(args: argparse.Namespace) -> int:
    from kubecall.layout import BENCHMARKS, deliverable_paths
    from kubecall.report.data import read_benchmarks, read_json, read_regions
    from kubecall.report.resources import rule_uses_of, suggested_profile

    paths = deliverable_paths(args.workdir)
    timings = read_benchmarks(args.workdir / BENCHMARKS)
    if not timings:
        raise KubecallError(f"{args.workdir / BENCHMARKS}: no benchmark files; give the "
                            "working directory of a finished run")
    regions = read_regions(paths["region_runtimes"], paths["regions"]) \
        if paths["region_runtimes"].is_file() else []
    run_id = str(read_json(paths["run"]).get("run_id", "?")) if paths["run"].is_file() else "?"
    print(suggested_profile(rule_uses_of(timings, regions), run_id), end="")
    return 0
