"""The session's leftover check finds what a test left running or mounted, and only that."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support import leftovers


def test_a_left_process_and_directory_are_found_and_cleaned() -> None:
    directory = Path(tempfile.mkdtemp(prefix=leftovers.temp_prefix("probe"), dir="/var/tmp"))
    foreign = Path(tempfile.mkdtemp(prefix="kubecall-0-probe-", dir="/var/tmp"))
    # A pod-like process: uid 10001, this session's mark in its environment.
    left = subprocess.Popen(["setpriv", "--reuid=10001", "--regid=10001", "--clear-groups",
                             "sleep", "300"], env={**os.environ, "PATH": "/usr/bin:/bin"})
    unmarked = subprocess.Popen(["sleep", "300"], env={"PATH": "/usr/bin:/bin"})
    try:
        deadline = time.monotonic() + 30
        found = leftovers.find()
        while left.pid not in {pid for pid, _ in found.processes}:
            assert time.monotonic() < deadline, found
            time.sleep(0.05)
            found = leftovers.find()
        assert unmarked.pid not in {pid for pid, _ in found.processes}
        assert directory in found.temp_dirs and foreign not in found.temp_dirs
        assert any("sleep 300" in line for line in found.lines())
        leftovers.clean(found)
        assert left.wait(timeout=30) == -9
        assert not directory.exists()
        again = leftovers.find()
        assert left.pid not in {pid for pid, _ in again.processes}
    finally:
        for process in (left, unmarked):
            process.kill()
            process.wait()
        foreign.rmdir()
        if directory.exists():
            directory.rmdir()
