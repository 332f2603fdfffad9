"""`make run`'s tool check: without root or without apt-get it explains the conda route."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.support.leftovers import temp_prefix

SCRIPT = REPO / "scripts" / "ensure-tools.sh"


def bare_path(tmp_path: Path) -> str:
    """A PATH with the shell basics the script needs and none of the bioinformatics tools."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("id", "sort", "cat", "grep"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    return str(bin_dir)


def test_missing_tools_without_apt_point_to_environment_yml(tmp_path: Path) -> None:
    done = subprocess.run(["/bin/bash", str(SCRIPT)], env={"PATH": bare_path(tmp_path)},
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "error: missing tools: samtools freebayes bcftools tabix bgzip" in done.stderr
    assert "conda env create -f environment.yml" in done.stderr


def run_unprivileged(*args: str) -> subprocess.CompletedProcess[str]:
    """The script as an ordinary user (65534) with apt-get on PATH and no tools."""
    shared = Path(tempfile.mkdtemp(prefix=temp_prefix("ensure")))
    try:
        shared.chmod(0o755)
        shutil.copy(SCRIPT, shared / "ensure-tools.sh")
        path = bare_path(shared)
        (Path(path) / "apt-get").symlink_to(shutil.which("apt-get") or "/usr/bin/apt-get")
        return subprocess.run(
            [shutil.which("setpriv") or "setpriv", "--reuid=65534", "--regid=65534",
             "--clear-groups", "/bin/bash", str(shared / "ensure-tools.sh"), *args],
            env={"PATH": path}, capture_output=True, text=True, check=False, cwd="/",
        )
    finally:
        shutil.rmtree(shared)


needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="switching to an unprivileged user needs root")


@needs_root
def test_without_root_it_does_not_try_apt_get() -> None:
    """apt-get is on PATH, the user is not root: explain, do not attempt an install."""
    done = run_unprivileged()
    assert done.returncode == 1
    assert "Installing" not in done.stdout
    assert "conda env create -f environment.yml" in done.stderr


@needs_root
def test_test_mode_without_root_names_every_package_the_suite_needs() -> None:
    done = run_unprivileged("test")
    assert done.returncode == 1
    assert "Installing" not in done.stdout
    # The script also looks in /usr/sbin (not on an ordinary user's PATH): the SLURM and munge
    # daemons installed on this machine are found there.
    packages = sorted({"bcftools", "buildah", "chromium", "freebayes", "mmdebstrap", "openssl",
                       "python3-venv", "samtools", "skopeo", "tabix", "umoci", "util-linux"}
                      | ({"slurm-wlm"} if not Path("/usr/sbin/slurmctld").exists() else set())
                      | ({"munge"} if not Path("/usr/sbin/munged").exists() else set()))
    assert f"The test suite needs these Debian packages: {' '.join(packages)}\n" in done.stderr
    assert f"sudo apt-get install {' '.join(packages)}\n" in done.stderr


@needs_root
def test_image_mode_without_root_names_the_image_build_tools() -> None:
    done = run_unprivileged("image")
    assert done.returncode == 1
    assert "error: missing tools: mmdebstrap umoci skopeo\n" in done.stderr
    assert "make image needs these Debian packages: mmdebstrap skopeo umoci\n" in done.stderr


def test_nothing_missing_means_nothing_done() -> None:
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""


def test_test_mode_with_everything_installed_does_nothing() -> None:
    done = subprocess.run(["bash", str(SCRIPT), "test"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""


def test_a_library_listing_that_outlives_grep_is_still_read_as_installed(tmp_path: Path) -> None:
    """ldconfig -p may still be writing when a `grep -q` has found tcmalloc and exited; it
    then dies of SIGPIPE, which pipefail made the check's answer ("missing") on a loaded
    machine. An ldconfig that writes on after its tcmalloc line makes that certain."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "ldconfig").write_text(
        "#!/bin/sh\necho '\tlibtcmalloc_minimal.so.4 (libc6,x86-64) => /lib/libtcmalloc.so.4'\n"
        "sleep 0.2\nyes '\tlibother.so.1 (libc6,x86-64) => /lib/libother.so.1' | head -c 1000000\n")
    (fake / "ldconfig").chmod(0o755)
    done = subprocess.run(["bash", str(SCRIPT), "test"], capture_output=True, text=True,
                          check=False, env={**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"})
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
