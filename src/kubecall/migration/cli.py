"""``kubecall profile convert``: an old Kubernetes profile or command line to a kubecall one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kubecall.errors import KubecallError
from kubecall.migration.convert import convert_command, convert_profile
from kubecall.migration.render import render_findings, render_profile

EXAMPLES = """examples:
  kubecall profile convert ~/profiles/k8s/config.yaml > profiles/mine/config.yaml
  kubecall profile convert ~/profiles/k8s --workspace-claim data-rwx -o profiles/mine
  kubecall profile convert --command "snakemake --kubernetes ns --container-image IMG \\
      --default-remote-provider S3 --default-remote-prefix bucket/run --jobs 50"

Keys that have no kubecall counterpart are printed on standard error as
"warning: untranslatable key 'KEY' (...)", keys it does not know as "warning: unknown key".
See docs/migrating-from-snakemake-kubernetes.md."""


# The migration concern's commands (see kubecall.cluster.cli for the shape).
VERB_MODULES: tuple[str, ...] = ("kubecall.migration.cli",)
EXAMPLES = """\
  kubecall profile convert ~/.config/snakemake/k8s/config.yaml -o profiles/migrated
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``kubecall profile convert``."""
    profile = subparsers.add_parser(
        "profile", help="convert a snakemake --kubernetes / --executor kubernetes setup",
        description="Work with Snakemake profiles.")
    verbs = profile.add_subparsers(dest="profile_command", metavar="VERB")
    parser = verbs.add_parser(
        "convert", help="print a kubecall profile for an old Kubernetes profile",
        description="Read a Snakemake profile written for --executor kubernetes "
        "(snakemake-executor-plugin-kubernetes), or a Snakemake 7 command line with "
        "--kubernetes, and print a profiles/kubernetes-style profile for kubecall, every "
        "key commented with where it came from.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", type=Path,
                        help="the old profile's config.yaml or its directory")
    parser.add_argument("--command", help="a Snakemake 7 command line instead of a profile")
    parser.add_argument("--workspace-claim", metavar="NAME",
                        help="which of kubernetes-persistent-volumes is the ReadWriteMany "
                        "workspace (default: the one mounted at /workspace)")
    parser.add_argument("-o", "--output", type=Path, metavar="DIR",
                        help="write DIR/config.yaml (a new profile directory) instead of "
                        "printing it")
    parser.set_defaults(func=_run)
    profile.set_defaults(func=lambda _args: profile.print_help() or 2)


def _run(args: argparse.Namespace) -> int:
    if (args.path is None) == (args.command is None):
        raise KubecallError("profile convert: give either PATH (a profile) or --command "
                            "'snakemake ...', not both or neither")
    out = convert_command(args.command, args.workspace_claim) if args.command \
        else convert_profile(args.path, args.workspace_claim)
    text = render_profile(out)
    if args.output:
        target = args.output / "config.yaml"
        if target.exists():
            raise KubecallError(f"{target}: already exists; remove it or choose another "
                                "--output directory")
        args.output.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    else:
        sys.stdout.write(text)
    warnings = render_findings(out)
    sys.stderr.write(warnings)
    print(f"kubecall profile convert: {len(out.entries)} keys written, "
          f"{len(out.findings)} not translated"
          f"{' (above)' if warnings else ''}{f'; wrote {target}' if args.output else ''}",
          file=sys.stderr)
    return 0
