"""Fixtures for the k8s/ manifest and `kubecall` cluster CLI tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubecall.cluster.manifests import k8s_dir, overlay_names, render
from tests.support.leftovers import temp_prefix

K8S = k8s_dir()
# The overlays the CLI ships, as it finds them: a new one is tested without editing a list.
OVERLAYS = overlay_names()


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Each overlay's rendered objects (kubectl kustomize, as the CLI renders them)."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed (needed to render kustomize overlays)")
    return {name: render(K8S / "overlays" / name) for name in OVERLAYS}


@pytest.fixture(scope="module")
def world_readable_dir() -> Iterator[Path]:
    """A directory pods running as uid 10001 can reach.

    Not under /tmp: pods mount an emptyDir over /tmp, which hides anything the host keeps there
    (the cluster's state directory included), and pytest's own tmp dirs are mode 700.
    """
    path = Path(tempfile.mkdtemp(prefix=temp_prefix("k8s-tests"), dir="/var/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
