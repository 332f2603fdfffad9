"""Read an old profile or command line, translate it, add what kubecall needs besides."""

from __future__ import annotations

from pathlib import Path

import yaml

from kubecall.cluster.contract import WORKSPACE_CLAIM, WORKSPACE_PATH
from kubecall.errors import KubecallError
from kubecall.migration.cmdline import parse_command
from kubecall.migration.model import Conversion
from kubecall.migration.translate import translate


def read_profile(path: Path) -> dict[str, object]:
    """A Snakemake profile's keys, from its config.yaml (or the directory holding it)."""
    config = path / "config.yaml" if path.is_dir() else path
    if not config.is_file():
        raise KubecallError(f"{config}: no such profile file; give a profile's config.yaml "
                            "or the directory that holds it")
    try:
        settings = yaml.safe_load(config.read_text())
    except yaml.YAMLError as exc:
        raise KubecallError(f"{config}: not valid YAML ({exc}); fix the file") from exc
    if not isinstance(settings, dict):
        raise KubecallError(f"{config}: a profile is a mapping of option: value; this file "
                            "holds none")
    return settings


def convert_profile(path: Path, workspace_claim: str | None = None) -> Conversion:
    """Convert a profile written for ``--executor kubernetes``."""
    out = Conversion(origin=str(path), workspace_claim=workspace_claim)
    translate(read_profile(path), out)
    return complete(out)


def convert_command(command: str, workspace_claim: str | None = None) -> Conversion:
    """Convert a Snakemake 7 ``snakemake --kubernetes ...`` command line."""
    options, targets = parse_command(command)
    out = Conversion(origin="--command", workspace_claim=workspace_claim)
    translate(options, out)
    for target in targets:
        out.untranslatable(f"target {target}", "a target is not a profile setting; give it "
                           "on the command line (or to kubecall launch) as before")
    return complete(out)


def complete(out: Conversion) -> Conversion:
    """Add the keys kubecall needs that the old setup had no counterpart for."""
    if not out.has("executor"):
        out.add("executor", "kubecall", "Added: the source names no Kubernetes executor "
                "(it was given on the command line); kubecall's is this one.")
    if not out.has("jobs"):
        out.add("jobs", 100, "Added: snakemake needs a job limit for a remote executor; "
                "Pending pods beyond what the cluster fits only wait.")
    if not out.has("kubecall-workspace-claim"):
        out.add("kubecall-workspace-claim", WORKSPACE_CLAIM, "Added (no workspace in the "
                "source): the ReadWriteMany claim the working directory lives on, where "
                "outputs are written in place; kubecall bootstrap creates this one.")
        out.add("kubecall-workspace-path", WORKSPACE_PATH, "Added: where the driver and every "
                "job see the workspace (the same path everywhere).")
    if not out.has("kubecall-datasource-claim"):
        out.add("kubecall-datasource-claim", "none", "Added (no data volume in the source): "
                "no read-only data source; name your claim here if the inputs live on one.")
    if not out.has("latency-wait"):
        out.add("latency-wait", 60, "Added: outputs appear on the driver's NFS mount of the "
                "workspace after its attribute cache catches up.")
    if not out.has("scheduler"):
        out.add("scheduler", "greedy", "Added, as in kubecall's own profile: snakemake's "
                "default (ilp) solves a problem over every ready job each time one ends, "
                "most of the driver's CPU with thousands of jobs; the cluster places pods.")
    return out
