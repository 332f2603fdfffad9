"""Pytest fixtures for the test cluster.

Enable with `pytest_plugins = ["tests.support.cluster.plugin"]` in a root conftest.py.

- `k8s_cluster`: a fresh cluster per test (a `Cluster`: `.kubeconfig`, `.faults`, `.requests`,
  `.hold_pods()`, `.kill_pod()`, `.evict_pod()`, `.kubeconfig_for(ns, sa)` …). Options come
  from `@pytest.mark.k8s_cluster(nfs_exports={"server:/path": dir}, storage_classes=...)`.
- `k8s_cluster_module`: one cluster shared by a module's tests.
- `k8s_cluster_factory`: start clusters with explicit options; all stop at teardown.
- `k8s_kubeconfig`: `KUBECONFIG` set to the per-test cluster's admin kubeconfig; yields the path.
- `k8s_api_client`: a `kubernetes.client.ApiClient` for the per-test cluster (admin token).

Fixtures skip (with the reason) where pods cannot run: the node agent needs root with
CAP_SYS_ADMIN for private mount namespaces.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .cluster import Cluster
from .node import sandbox_support

ClusterFactory = Callable[..., Cluster]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "k8s_cluster(**options): options for the `k8s_cluster` fixture's Cluster")


def sandbox_processes(state_dir: Path | None = None) -> set[int]:
    """PIDs of pod sandbox helpers running on the host (of one cluster, given its state dir)."""
    marker = str(state_dir).encode() if state_dir else b""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"tests/support/cluster/sandbox.py" in cmdline and marker in cmdline:
            found.add(int(entry.name))
    return found


@pytest.fixture
def k8s_cluster_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterFactory]:
    clusters: list[Cluster] = []

    def start(**options: Any) -> Cluster:
        _skip_without_sandbox()
        options.setdefault("state_dir", tmp_path_factory.mktemp("k8s-state"))
        cluster = Cluster(**options).start()
        clusters.append(cluster)
        return cluster

    yield start
    for cluster in clusters:
        cluster.stop()


@pytest.fixture
def k8s_cluster(request: pytest.FixtureRequest,
                k8s_cluster_factory: ClusterFactory) -> Cluster:
    marker = request.node.get_closest_marker("k8s_cluster")
    return k8s_cluster_factory(**(marker.kwargs if marker else {}))


def _skip_without_sandbox() -> None:
    reason = sandbox_support()
    if reason:
        pytest.skip(f"test cluster unavailable: {reason}")


@pytest.fixture(scope="module")
def k8s_cluster_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    _skip_without_sandbox()
    cluster = Cluster(state_dir=tmp_path_factory.mktemp("k8s-module-state")).start()
    yield cluster
    cluster.stop()


@pytest.fixture
def k8s_kubeconfig(k8s_cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KUBECONFIG", str(k8s_cluster.kubeconfig))
    return k8s_cluster.kubeconfig


@pytest.fixture
def k8s_api_client(k8s_cluster: Cluster) -> Iterator[Any]:
    from kubernetes import config

    client = config.new_client_from_config(config_file=str(k8s_cluster.kubeconfig))
    yield client
    client.close()


__all__ = ["k8s_cluster", "k8s_cluster_module", "k8s_cluster_factory", "k8s_kubeconfig",
           "k8s_api_client", "sandbox_processes"]
