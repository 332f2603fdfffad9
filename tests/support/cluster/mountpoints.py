"""Mount-point directories created on the host for pods' volumeMounts, shared by clusters.

A mount target that does not exist must be created on the host's filesystem (the mount
namespace is private, the filesystem is not). Removing such a directory while another cluster
in this process still mounts there would detach that mount, so directories are reference
counted per process and removed when the last cluster using them stops.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

_lock = threading.Lock()
_users: dict[Path, set[int]] = {}
_created: set[Path] = set()


def claim(owner: int, target: Path) -> None:
    """Record that cluster `owner` mounts at `target` (and which directories we create)."""
    with _lock:
        for path in [target, *target.parents]:
            if path == Path("/"):
                break
            if not path.exists():
                _created.add(path)
            _users.setdefault(path, set()).add(owner)


def release(owner: int) -> None:
    """Forget `owner`; remove created directories nobody uses any more (deepest first)."""
    with _lock:
        unused = []
        for path, users in list(_users.items()):
            users.discard(owner)
            if not users:
                del _users[path]
                if path in _created:
                    unused.append(path)
        for path in sorted(unused, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                path.rmdir()
            _created.discard(path)
