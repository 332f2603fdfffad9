"""What a test session may leave behind on the host, and a check that it left nothing.

Tests start drivers and pods (uid 10001), test-cluster sandboxes, mounts, memory cgroups and
temporary cluster directories. Each is ended by the fixture that started it; this module finds
the ones that were not, so the session fails instead of leaving them to pile up. Only this
session's are counted (another session may run beside it): processes carry ``SESSION_ENV`` in
their environment, cgroups and temporary directories this process's pid in their names.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

SESSION_ENV = "KUBECALL_TEST_SESSION"
TEMP_DIRS = (Path("/tmp"), Path("/var/tmp"))


def session_tag() -> str:
    """``kubecall-<pid>-``: the name prefix of this session's cgroups and temporary dirs."""
    return f"kubecall-{os.getpid()}-"


def temp_prefix(what: str) -> str:
    """A ``mkdtemp`` prefix that marks the directory as this session's."""
    return f"{session_tag()}{what}-"


@dataclass(frozen=True)
class Leftovers:
    """Processes (pid, command line), mount points, cgroups and temporary directories."""

    processes: tuple[tuple[int, str], ...] = ()
    mounts: tuple[str, ...] = ()
    cgroups: tuple[Path, ...] = ()
    temp_dirs: tuple[Path, ...] = ()

    def lines(self) -> list[str]:
        return ([f"process {pid}: {cmd}" for pid, cmd in self.processes]
                + [f"mount {m}" for m in self.mounts]
                + [f"cgroup {c}" for c in self.cgroups]
                + [f"directory {d}" for d in self.temp_dirs])


def _processes(marker: bytes) -> tuple[tuple[int, str], ...]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").strip()
        except OSError:
            continue
        if cmdline:  # zombies and kernel threads have none
            found.append((int(entry.name), cmdline.decode(errors="replace")[:200]))
    return tuple(sorted(found))


def _mounts(within: str) -> tuple[str, ...]:
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return ()
    return tuple(sorted({line.split()[4] for line in lines if within in line.split()[4]}))


def _cgroups(tag: str) -> tuple[Path, ...]:
    from tests.support.cluster.cgroups import MemoryCgroups

    base = MemoryCgroups().base
    if base is None:
        return ()
    return tuple(sorted(p for p in base.iterdir() if p.name.startswith(tag)))


def find(every_mount: bool = True) -> Leftovers:
    """This session's processes, cgroups and temporary dirs, and any kubecall mount (with
    ``every_mount`` false, only those under this session's directories: an xdist worker's
    sessions beside it still have theirs, which their controller checks once all ended)."""
    tag = session_tag()
    marker = f"{SESSION_ENV}={os.getpid()}".encode()
    temp = tuple(sorted(p for d in TEMP_DIRS if d.is_dir() for p in d.iterdir()
                        if p.name.startswith(tag)))
    return Leftovers(_processes(marker), _mounts("kubecall" if every_mount else tag),
                     _cgroups(tag), temp)


def clean(found: Leftovers) -> None:
    """End and remove what was found, so one failed session does not poison the next."""
    for pid, _ in found.processes:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    for mount in sorted(found.mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True, check=False)
    for cgroup in found.cgroups:
        from tests.support.cluster.cgroups import MemoryCgroups

        MemoryCgroups().kill_all(cgroup)
        with contextlib.suppress(OSError):
            cgroup.rmdir()
    for directory in found.temp_dirs:
        shutil.rmtree(directory, ignore_errors=True)
