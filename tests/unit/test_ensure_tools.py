"""`make run`'s tool check: without root or without apt-get it explains the conda route."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "ensure-tools.sh"


def bare_path(tmp_path: Path) -> str:
    """A PATH with the shell basics the script needs and none of the bioinformatics tools."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("id", "sort", "cat"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    return str(bin_dir)


def test_missing_tools_without_apt_point_to_environment_yml(tmp_path: Path) -> None:
    done = subprocess.run(["/bin/bash", str(SCRIPT)], env={"PATH": bare_path(tmp_path)},
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "error: missing tools: samtools freebayes bcftools tabix bgzip" in done.stderr
    assert "conda env create -f environment.yml" in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to an unprivileged user needs root")
def test_without_root_it_does_not_try_apt_get() -> None:
    """apt-get is on PATH, the user is not root: explain, do not attempt an install."""
    shared = Path(tempfile.mkdtemp(prefix="kubecall-ensure-"))
    try:
        shared.chmod(0o755)
        shutil.copy(SCRIPT, shared / "ensure-tools.sh")
        path = bare_path(shared)
        (Path(path) / "apt-get").symlink_to(shutil.which("apt-get") or "/usr/bin/apt-get")
        done = subprocess.run(
            [shutil.which("setpriv") or "setpriv", "--reuid=65534", "--regid=65534",
             "--clear-groups", "/bin/bash", str(shared / "ensure-tools.sh")],
            env={"PATH": path}, capture_output=True, text=True, check=False, cwd="/",
        )
    finally:
        shutil.rmtree(shared)
    assert done.returncode == 1
    assert "Installing" not in done.stdout
    assert "conda env create -f environment.yml" in done.stderr


def test_nothing_missing_means_nothing_done() -> None:
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
