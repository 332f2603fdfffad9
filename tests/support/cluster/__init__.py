"""Test-support Kubernetes: an API server, controllers and a node agent running pods locally.

Test support only; never shipped in the package. See `Cluster` and the `plugin` fixtures.
"""

from .cluster import Cluster

__all__ = ["Cluster"]
