"""Fixtures for the k8s/ manifest tests: the overlays and their rendered objects."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from kubecall.cluster.manifests import k8s_dir, overlay_names, render

K8S = k8s_dir()
# The overlays the CLI ships, as it finds them: a new one is tested without editing a list.
OVERLAYS = overlay_names()


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Each overlay's rendered objects (kubectl kustomize, as the CLI renders them)."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl is not installed (needed to render kustomize overlays)")
    return {name: render(K8S / "overlays" / name) for name in OVERLAYS}
