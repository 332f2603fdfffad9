"""The cluster's own tests use its fixtures (the root conftest may also load the plugin)."""

from .plugin import (  # noqa: F401 - imported fixtures are registered by pytest
    k8s_api_client,
    k8s_cluster,
    k8s_cluster_factory,
    k8s_cluster_module,
    k8s_kubeconfig,
    pytest_configure,
)
