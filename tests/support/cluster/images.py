"""Images the node knows: OCI archives, each unpacked once (by digest) next to the archive.

`<archive>.rootfs/<digest>/` outlives the session: unpacking costs seconds and deleting
hundreds of megabytes a minute on this disk, so a session reuses what an earlier one unpacked;
the directory goes with the archive (test support prunes old builds), and unpacking a new
digest removes the others.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_lock = threading.Lock()
_unpacked: dict[str, Image] = {}


class PullError(Exception):
    """The image cannot be had (ErrImagePull)."""


@dataclass(frozen=True)
class Image:
    """An unpacked image: its root filesystem and the parts of its config a runtime applies."""

    digest: str
    rootfs: Path
    env: dict[str, str] = field(default_factory=dict)
    user: str = ""
    working_dir: str = ""
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)


def repository(reference: str) -> str:
    """`registry/name` of `registry/name:tag` or `registry/name@sha256:...`."""
    name = reference.split("@")[0]
    if ":" in name.rsplit("/", 1)[-1]:
        name = name.rsplit(":", 1)[0]
    return name


def _member(archive: tarfile.TarFile, name: str) -> bytes:
    handle = archive.extractfile(name)
    if handle is None:
        raise PullError(f"{name} missing in the OCI archive")
    return handle.read()


def _blob(digest: str) -> str:
    return "blobs/" + digest.replace(":", "/", 1)


def read_config(path: Path) -> tuple[str, dict[str, Any], list[str]]:
    """(manifest digest, image config, layer blob names) of an oci-archive."""
    with tarfile.open(path) as archive:
        index = json.loads(_member(archive, "index.json"))
        digest = index["manifests"][0]["digest"]
        manifest = json.loads(_member(archive, _blob(digest)))
        config = json.loads(_member(archive, _blob(manifest["config"]["digest"])))
    return digest, config, [_blob(layer["digest"]) for layer in manifest["layers"]]


def _apply_layer(layout: Path, blob: str, rootfs: Path) -> None:
    """Extract one layer over `rootfs`, honouring whiteouts (`.wh.<name>` deletes <name>)."""
    subprocess.run(["tar", "--extract", "--file", str(layout / blob), "--directory",
                    str(rootfs), "--numeric-owner", "--same-permissions"], check=True)
    for marker in list(rootfs.rglob(".wh.*")):
        if marker.name == ".wh..wh..opq":
            for sibling in marker.parent.iterdir():
                if sibling != marker:
                    _remove(sibling)
        else:
            _remove(marker.with_name(marker.name[len(".wh."):]))
        marker.unlink()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _unpack_layers(archive: Path, layers: list[str], target: Path) -> None:
    """Extract `archive`'s layers into `target`/rootfs, by way of a directory renamed at the end
    (another session may unpack the same digest at the same time)."""
    partial = Path(f"{target}.partial-{os.getpid()}-{threading.get_ident()}")
    shutil.rmtree(partial, ignore_errors=True)
    layout, rootfs = partial / "layout", partial / "rootfs"
    layout.mkdir(parents=True)
    rootfs.mkdir()
    rootfs.chmod(0o755)
    subprocess.run(["tar", "--extract", "--file", str(archive), "--directory", str(layout)],
                   check=True)
    for blob in layers:
        _apply_layer(layout, blob, rootfs)
    shutil.rmtree(layout)
    try:
        partial.rename(target)
    except OSError:  # unpacked meanwhile by another session
        shutil.rmtree(partial, ignore_errors=True)


def unpack(archive: Path) -> Image:
    """The image in `archive`, unpacked on first use (one copy per digest)."""
    if not archive.is_file():
        raise PullError(f"no OCI archive at {archive}")
    digest, config, layers = read_config(archive)
    with _lock:
        if digest in _unpacked:
            return _unpacked[digest]
        cache = Path(f"{archive}.rootfs")
        target = cache / digest.replace(":", "-")
        if not (target / "rootfs").is_dir():
            cache.mkdir(exist_ok=True)
            for other in cache.iterdir():
                if other.name.startswith("sha256-") and "partial" not in other.name:
                    shutil.rmtree(other, ignore_errors=True)
            _unpack_layers(archive, layers, target)
        settings = config.get("config") or {}
        env = dict(item.split("=", 1) for item in settings.get("Env") or [] if "=" in item)
        image = Image(digest, target / "rootfs", env, settings.get("User") or "",
                      settings.get("WorkingDir") or "", list(settings.get("Entrypoint") or []),
                      list(settings.get("Cmd") or []))
        _unpacked[digest] = image
        return image


# What a registry answers under load, as containerd reports it (the kubelet retries).
TOO_MANY_REQUESTS = (
    'rpc error: code = Unknown desc = failed to pull and unpack image "{reference}": failed to '
    "copy: httpReadSeeker: failed open: unexpected status code "
    "https://registry.test/v2/blobs/sha256:0: 429 Too Many Requests - Server message: "
    "toomanyrequests: retry-after: 707.013µs")
PULL_TIMEOUT = (
    'rpc error: code = DeadlineExceeded desc = failed to pull and unpack image "{reference}": '
    'failed to resolve reference "{reference}": failed to do request: Head '
    '"https://registry.test/v2/manifests/latest": dial tcp 192.0.2.1:443: i/o timeout')
UNAUTHORIZED = (
    'rpc error: code = Unknown desc = failed to pull and unpack image "{reference}": failed to '
    'resolve reference "{reference}": pull access denied, repository does not exist or may '
    "require authorization: server message: insufficient_scope: authorization failed")


class Registry:
    """What the node can pull: image references (exact, or by repository) -> OCI archives;
    tests make pulls fail for a while (`fail_pulls`)."""

    def __init__(self, archives: dict[str, Path]) -> None:
        self.archives = {name: Path(path) for name, path in archives.items()}
        # [remaining, message template, image or None for any]; -1 remaining: for ever.
        self._failures: list[list] = []
        self._lock = threading.Lock()

    def fail_pulls(self, count: int, message: str = TOO_MANY_REQUESTS,
                   image: str | None = None) -> None:
        """Fail the next `count` pulls (of `image`, by reference or repository, or of any)
        with `message` ({reference} filled in); count -1 fails every pull until cleared."""
        with self._lock:
            self._failures.append([count, message, image])

    def clear_pull_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def _injected(self, reference: str) -> str | None:
        with self._lock:
            for failure in self._failures:
                remaining, message, image = failure
                if image is not None and image not in (reference, repository(reference)):
                    continue
                if remaining > 0:
                    failure[0] -= 1
                    if failure[0] == 0:
                        self._failures.remove(failure)
                return str(message).replace("{reference}", reference)
        return None

    def pull(self, reference: str) -> Image:
        injected = self._injected(reference)
        if injected is not None:
            raise PullError(injected)
        archive = self.archives.get(reference, self.archives.get(repository(reference)))
        if archive is None:
            raise PullError(f"rpc error: code = NotFound desc = failed to pull and unpack image "
                            f'"{reference}": not found (the test node knows only '
                            f"{', '.join(sorted(self.archives)) or 'no image'})")
        return unpack(archive)
