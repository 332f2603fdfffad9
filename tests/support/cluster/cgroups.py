"""Memory limits for container processes via cgroup v2 or v1, when the host allows it."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path


class MemoryCgroups:
    """Creates one memory cgroup per container run under this process's own cgroup."""

    def __init__(self) -> None:
        self.base, self.version = self._detect()

    @property
    def enforced(self) -> bool:
        return self.base is not None

    @staticmethod
    def _detect() -> tuple[Path | None, int]:
        try:
            lines = Path("/proc/self/cgroup").read_text().splitlines()
        except OSError:
            return None, 0
        root = Path("/sys/fs/cgroup")
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if "memory" in controllers.split(","):
                base = root / "memory" / path.lstrip("/")
                if (base / "memory.limit_in_bytes").exists() and _writable_dir(base):
                    return base, 1
        controllers_file = root / "cgroup.controllers"
        if controllers_file.exists() and "memory" in controllers_file.read_text().split():
            for line in lines:
                if line.startswith("0::"):
                    base = root / line[3:].lstrip("/")
                    if _writable_dir(base) and "memory" in \
                            (base / "cgroup.subtree_control").read_text().split():
                        return base, 2
        return None, 0

    def create(self, name: str, limit_bytes: int | None) -> Path | None:
        """A fresh cgroup (limited to `limit_bytes` if given); None when cgroups are unusable."""
        if self.base is None:
            return None
        path = self.base / name
        try:
            path.mkdir(exist_ok=True)
            if limit_bytes is None:
                return path
            if self.version == 1:
                (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
                with contextlib.suppress(OSError):
                    (path / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
            else:
                (path / "memory.max").write_text(str(limit_bytes))
                with contextlib.suppress(OSError):
                    (path / "memory.swap.max").write_text("0")
        except OSError:
            return None
        return path

    def oom_killed(self, path: Path | None) -> bool:
        if path is None:
            return False
        try:
            if self.version == 1:
                text = (path / "memory.oom_control").read_text()
            else:
                text = (path / "memory.events").read_text()
        except OSError:
            return False
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and int(value or 0) > 0:
                return True
        return False

    def kill_all(self, path: Path | None) -> None:
        """SIGKILL every process still in the cgroup (daemons that left the process group)."""
        if path is None:
            return
        for _ in range(20):
            try:
                pids = [int(p) for p in (path / "cgroup.procs").read_text().split()]
            except OSError:
                return
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def remove(self, path: Path | None) -> None:
        if path is None:
            return
        with contextlib.suppress(OSError):
            path.rmdir()


def _writable_dir(path: Path) -> bool:
    return path.is_dir() and os.access(path, os.W_OK)
