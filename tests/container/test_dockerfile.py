"""container/Dockerfile, built by buildah bud here, gives a job image that behaves as
`make image`'s: same user, paths, tools, kubecall and read-only root."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.selftest.test_images import EXPECTED, probe
from tests.support.cluster.plugin import ClusterFactory
from tests.support.dockerfile_image import DockerfileBuildError, dockerfile_image


@pytest.fixture(scope="session")
def dockerfile_archive() -> Path:
    try:
        return dockerfile_image()
    except DockerfileBuildError as exc:
        pytest.fail(str(exc))


def test_the_dockerfile_image_runs_like_the_make_image_one(
        k8s_cluster_factory: ClusterFactory, dockerfile_archive: Path) -> None:
    phase, log = probe(k8s_cluster_factory, dockerfile_archive)
    assert (phase, log) == ("Succeeded", EXPECTED)
