"""Host paths that pods of the test cluster can see.

Hardened pods mount an emptyDir over ``/tmp``, so inside a pod every host path under ``/tmp``
is hidden. Tests that give pods host code (this checkout's ``src``, the venv's
site-packages) may run from a checkout under ``/tmp`` (CI clones anywhere): such paths are
staged once per test session as a hard-linked copy under ``/var/tmp``.
"""

from __future__ import annotations

import atexit
import shutil
import subprocess
import tempfile
from pathlib import Path

_stage: Path | None = None


def pod_visible(path: Path) -> Path:
    """``path`` itself, or a readable copy outside ``/tmp`` when pods could not see it."""
    global _stage
    resolved = Path(path).resolve()
    if not resolved.is_relative_to("/tmp"):
        return resolved
    if _stage is None:
        _stage = Path(tempfile.mkdtemp(prefix="kubecall-pod-visible-", dir="/var/tmp"))
        _stage.chmod(0o755)
        atexit.register(shutil.rmtree, _stage, True)
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
