"""The cluster's own tests use its fixtures (the root conftest may also load the plugin),
plus a module-wide API client and a fresh namespace per test."""

from collections.abc import Iterator

import pytest
from kubernetes import client

from tests.support.cluster.cluster import Cluster
from tests.support.cluster.helpers import api_client, new_namespace
from tests.support.cluster.plugin import (  # noqa: F401 - imported fixtures are registered by pytest
    k8s_api_client,
    k8s_cluster,
    k8s_cluster_factory,
    k8s_cluster_module,
    k8s_kubeconfig,
    pytest_configure,
)


@pytest.fixture(scope="module")
def api(k8s_cluster_module: Cluster) -> Iterator[client.ApiClient]:  # noqa: F811 (fixture)
    c = api_client(k8s_cluster_module)
    yield c
    c.close()


@pytest.fixture
def ns(api: client.ApiClient) -> str:
    return new_namespace(api)
