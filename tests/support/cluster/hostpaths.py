"""Host paths that pods of the test cluster (and the driver, which runs as their uid) can see.

Two things hide a host path from a pod: hardened pods mount an emptyDir over ``/tmp``, so
every host path under ``/tmp`` is invisible inside them; and pods run as uid 10001, which
cannot enter a directory that only root may (a checkout in ``mktemp -d``, under ``/root``).
Tests that give pods host code (this checkout's ``src``, the venv's site-packages) may run
from any checkout: such paths are staged once per test session as a hard-linked copy under
``/var/tmp`` in world-readable directories, and removed by ``remove_stage()`` at the end.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path

from tests.support.leftovers import temp_prefix

# The image's user, which pods and the test driver run as.
POD_UID = 10001
# The interpreter pods (and the tests' driver) run: the venv's own links into wherever the
# base Python lives (pyenv under /root, 0700), so they run the system Python 3.11 with the
# venv's site-packages on PYTHONPATH instead (same version, same ABI).
POD_PYTHON = "/usr/bin/python3"
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])

_stage: Path | None = None


@functools.cache
def readable_by_pods(path: Path) -> bool:
    """Whether uid 10001 can read ``path`` (and enter it, for a directory), asked of the kernel."""
    test = ["test", "-r", str(path)] + (["-a", "-x", str(path)] if path.is_dir() else [])
    if os.geteuid() != 0:
        return os.access(path, os.R_OK)  # not root: we are the user who will read it
    done = subprocess.run(["setpriv", f"--reuid={POD_UID}", f"--regid={POD_UID}",
                           "--clear-groups", *test], capture_output=True, check=False)
    return done.returncode == 0


def pod_visible(path: Path) -> Path:
    """``path`` itself, or a readable copy outside ``/tmp`` when pods could not see it."""
    global _stage
    resolved = Path(path).resolve()
    if not resolved.is_relative_to("/tmp") and readable_by_pods(resolved):
        return resolved
    if _stage is None:
        _stage = Path(tempfile.mkdtemp(prefix=temp_prefix("pod-visible"), dir="/var/tmp"))
        _stage.chmod(0o755)
    target = _stage / str(abs(hash(str(resolved)))) / resolved.name
    if not target.exists():
        target.parent.mkdir(mode=0o755)
        # hard links: instant and no extra space on one filesystem; a real copy otherwise
        linked = subprocess.run(["cp", "-al", str(resolved), str(target)],
                                capture_output=True, check=False)
        if linked.returncode != 0:
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(resolved, target, symlinks=True)
    return target


def pod_pythonpath(*extra: Path) -> str:
    """PYTHONPATH for POD_PYTHON: this checkout's kubecall, ``extra``, the venv's packages."""
    repo_src = Path(__file__).resolve().parents[3] / "src"
    return os.pathsep.join(str(pod_visible(p)) for p in (repo_src, *extra, SITE_PACKAGES))


def remove_stage() -> None:
    """Remove the staged copies (end of the test session)."""
    global _stage
    if _stage is not None:
        shutil.rmtree(_stage, ignore_errors=True)
        _stage = None

