"""Snakemake's own executor-plugin test workflows (`snakemake.common.tests`), unchanged, run by
the kubecall executor against the test cluster (issue 15): trivial rules with tiny resources
(`mem="5MB"`), threads, wildcards into subdirectories, group jobs and `report()` outputs.

The base class runs snakemake in this process, in `tmp_path`; here `tmp_path` is a directory
on the workspace claim, so the jobs' pods (the job image, uid 10001) see it at the same path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from snakemake.common.tests import TestWorkflowsLocalStorageBase

from snakemake_executor_plugin_kubecall import ExecutorSettings
from tests.executor.conftest import POD_IMAGE_PYTHON, UID, KubeEnv


class TestSnakemakeWorkflowsOnKubecall(TestWorkflowsLocalStorageBase):
    __test__ = True
    # The workspace stands for NFS in the profile; here it is a local directory.
    latency_wait = 5

    @pytest.fixture(autouse=True)
    def _cluster(self, kube_env: KubeEnv, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        self.env = kube_env
        # snakemake hands every job its own cache path (--runtime-source-cache-path, under
        # $XDG_CACHE_HOME); job pods can write only to /tmp (issue 15, finding 10, not
        # fixed here): a driver must keep its cache there, as the driver Job does.
        monkeypatch.setenv("XDG_CACHE_HOME", "/tmp/.cache")
        # Files the in-process driver (root) creates must stay writable by the pods' user.
        umask = os.umask(0)
        try:
            yield
        finally:
            os.umask(umask)

    @pytest.fixture
    def tmp_path(self, kube_env: KubeEnv) -> Path:  # overrides pytest's: on the claim
        path = kube_env.workspace / "snakemake-common"
        path.mkdir()
        os.chown(path, UID, UID)
        return path

    def _copy_test_files(self, test_path: Path, tmp_path: Path) -> None:
        # The copy is made by root from site-packages (0755): hand it to the pods' user, as
        # `kubecall stage` does with a workflow on the workspace.
        super()._copy_test_files(test_path, tmp_path)
        for path in [tmp_path, *tmp_path.rglob("*")]:
            os.chown(path, UID, UID)

    def get_executor(self) -> str:
        return "kubecall"

    def get_executor_settings(self) -> ExecutorSettings:
        return ExecutorSettings(
            kubeconfig=str(self.env.kubeconfig), workspace_path=str(self.env.workspace),
            datasource_path=str(self.env.datasource), python=POD_IMAGE_PYTHON)

    def cleanup_test(self) -> None:
        # Shown with a failure: the executor's saved container logs.
        for log in sorted(self.env.workspace.glob("snakemake-common/*/logs/kubernetes/*/*.log")):
            print(f"==> {log} <==\n{log.read_text()}")
