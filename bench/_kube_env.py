"""The test cluster of the Kubernetes benches: tests/executor/conftest.py's prepared cluster
(namespace, claims, driver identity, demo data) running this checkout's job image, without
the tests' API latency; drivers stopped, clusters stopped and state removed however the
bench ends."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from tests.executor.conftest import KubeEnv, prepared_env
from tests.support.cluster.cluster import Cluster
from tests.support.image import job_image


@contextlib.contextmanager
def bench_env() -> Iterator[KubeEnv]:
    """A prepared test cluster for one bench run."""
    clusters: list[Cluster] = []

    def start(**options: object) -> Cluster:
        cluster = Cluster(**options).start()  # type: ignore[arg-type]
        clusters.append(cluster)
        return cluster
    try:
        with prepared_env(start, job_image(), latency=0.0) as env:
            yield env
    finally:
        for cluster in clusters:
            cluster.stop()
