"""The test cluster of the Kubernetes benches: tests/executor/conftest.py's prepared cluster
(namespace, claims, driver identity, demo data) running this checkout's job image, its state
under /var/tmp; drivers killed, clusters stopped and state removed however the bench ends."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.executor.conftest import KubeEnv, prepare
from tests.support.cluster.cluster import Cluster
from tests.support.image import REFERENCE, job_image


@contextlib.contextmanager
def bench_env() -> Iterator[KubeEnv]:
    """A prepared test cluster for one bench run."""
    archive = job_image()
    base = Path(tempfile.mkdtemp(prefix="kubecall-bench-", dir="/var/tmp"))
    clusters: list[Cluster] = []

    def start(**options: object) -> Cluster:
        cluster = Cluster(images={REFERENCE: archive}, **options).start()  # type: ignore[arg-type]
        clusters.append(cluster)
        return cluster
    env: KubeEnv | None = None
    try:
        env = prepare(start, base)
        yield env
    finally:
        if env is not None:  # a driver left running by an error in the bench
            for driver in env.drivers:
                if driver.poll() is None:
                    os.killpg(driver.pid, signal.SIGKILL)
            env.admin.close()
        for cluster in clusters:
            cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
