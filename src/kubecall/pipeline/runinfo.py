"""Run metadata (results/run.json): what was run, on what, with which tools, and the run id.

The run id names the run's S3 prefix. Unless set in config, it is derived from this
metadata's content, which holds no timestamps: rerunning the same config on the same inputs
gives the same id, so a repeated publication is recognised instead of duplicated.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kubecall import __version__
from kubecall.publish.manifest import validate_run_id

# tool -> the command that prints its version (first line kept)
TOOL_VERSION_COMMANDS: dict[str, list[str]] = {
    "freebayes": ["freebayes", "--version"],
    "samtools": ["samtools", "--version"],
    "bcftools": ["bcftools", "--version"],
    "tabix": ["tabix", "--version"],
}


def tool_versions() -> dict[str, str]:
    """First line each tool prints for its version (``not found`` when absent)."""
    versions = {}
    for tool, command in TOOL_VERSION_COMMANDS.items():
        try:
            # errors="replace": samtools prints a Latin-1 byte in its copyright notice
            done = subprocess.run(command, capture_output=True, text=True, errors="replace",
                                  check=False)
            lines = (done.stdout or done.stderr).strip().splitlines()
            versions[tool] = lines[0].strip() if lines else "unknown"
        except FileNotFoundError:
            versions[tool] = "not found"
    return versions


def describe_run(
    config: Mapping[str, Any], samples: Sequence[str], regions: int, fai: Path,
    versions: Mapping[str, str],
) -> dict[str, Any]:
    """The run's metadata, with ``run_id`` from config or derived from everything else.

    ``versions`` holds the tools' and snakemake's (the workflow passes the version of the
    snakemake running it: a rule's environment need not hold snakemake).
    """
    science = {key: value for key, value in config.items() if key != "publish"}
    info: dict[str, Any] = {
        "config": science,
        "samples": list(samples),
        "regions": regions,
        "reference_index_sha256": hashlib.sha256(fai.read_bytes()).hexdigest(),
        "tools": dict(versions) | {"kubecall": __version__},
    }
    configured = str(config.get("publish", {}).get("run_id", "") or "")
    digest = hashlib.sha256(json.dumps(info, sort_keys=True).encode()).hexdigest()
    info["run_id"] = validate_run_id(configured) if configured else f"run-{digest[:12]}"
    return info


def write_run_info(info: Mapping[str, Any], path: Path) -> None:
    """Write the metadata as stable, human-readable JSON."""
    path.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


def read_run_id(path: Path) -> str:
    """The run id recorded in a run.json."""
    return str(json.loads(path.read_text())["run_id"])
