"""Fixtures for the cluster CLI tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.leftovers import temp_prefix


@pytest.fixture(scope="module")
def world_readable_dir() -> Iterator[Path]:
    """A directory pods running as uid 10001 can reach.

    Not under /tmp: pods mount an emptyDir over /tmp, which hides anything the host keeps there
    (the cluster's state directory included), and pytest's own tmp dirs are mode 700.
    """
    path = Path(tempfile.mkdtemp(prefix=temp_prefix("k8s-tests"), dir="/var/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
