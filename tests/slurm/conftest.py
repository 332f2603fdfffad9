"""SLURM tests: a real one-node cluster (munged, slurmctld, slurmd) started on loopback."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # Registered here, not in pyproject, so this directory is self-contained.
    config.addinivalue_line(
        "markers",
        "slurm: starts a one-node SLURM cluster on loopback (needs root, slurm-wlm and munge)",
    )
