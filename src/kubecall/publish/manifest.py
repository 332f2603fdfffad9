"""The files that describe a published run: ``manifest.json`` and the ``_SUCCESS`` marker.

``manifest.json`` is deterministic (no timestamps), so republishing identical files produces an
identical manifest and uploads nothing::

    {"format": "kubecall-run-manifest/1", "run_id": "...",
     "objects": [{"name": "calls/cohort.vcf.gz", "size": 123, "sha256": "<hex>"}, ...],
     "total_bytes": 123}

``_SUCCESS`` is written last and binds the run to that exact manifest::

    {"format": "kubecall-run-success/1", "run_id": "...", "manifest": "manifest.json",
     "manifest_sha256": "<hex>", "manifest_size": 456, "objects": 6, "total_bytes": 123,
     "completed_at": "2026-11-28T22:00:00Z", "kubecall_version": "0.1.0"}
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kubecall import __version__
from kubecall.errors import KubecallError

MANIFEST_NAME = "manifest.json"
SUCCESS_NAME = "_SUCCESS"
RESERVED_NAMES = frozenset({MANIFEST_NAME, SUCCESS_NAME})
MANIFEST_FORMAT = "kubecall-run-manifest/1"
SUCCESS_FORMAT = "kubecall-run-success/1"

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
# Object names: relative, '/'-separated, no empty, '.' or '..' segments, printable ASCII.
NAME_SEGMENT = re.compile(r"^[A-Za-z0-9._+=@,-]+$")

CHUNK_SIZE = 1024 * 1024


def validate_run_id(run_id: str) -> str:
    """``run_id`` if it is a safe single key segment, else a KubecallError saying why."""
    if not RUN_ID_PATTERN.match(run_id) or run_id in (".", ".."):
        raise KubecallError(
            f"invalid run id {run_id!r}: use 1-128 characters from A-Z a-z 0-9 . _ - starting "
            "with a letter or digit (e.g. 2026-11-28_cohort-a)"
        )
    return run_id


def validate_object_name(name: str) -> str:
    """``name`` if it is a clean relative object name under the run prefix."""
    segments = name.split("/")
    if name in RESERVED_NAMES or any(
        s in ("", ".", "..") or not NAME_SEGMENT.match(s) for s in segments
    ):
        raise KubecallError(
            f"invalid object name {name!r}: use a relative path such as calls/cohort.vcf.gz "
            f"(no leading '/', no '..', not {' or '.join(sorted(RESERVED_NAMES))})"
        )
    return name


def sha256_file(path: Path) -> tuple[int, str]:
    """(size, SHA-256 hex) of ``path``, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


@dataclass(frozen=True)
class LocalObject:
    """A local file to publish under ``name``, with its size and SHA-256."""

    name: str
    path: Path
    size: int
    sha256: str

    @classmethod
    def from_path(cls, name: str, path: Path) -> LocalObject:
        if not path.is_file():
            raise KubecallError(f"cannot publish {name}: {path} is not a readable file")
        size, sha256 = sha256_file(path)
        return cls(validate_object_name(name), path, size, sha256)


@dataclass(frozen=True)
class ManifestEntry:
    """One object as the manifest records it."""

    name: str
    size: int
    sha256: str


def build_manifest(run_id: str, objects: Iterable[LocalObject]) -> bytes:
    """The canonical ``manifest.json`` bytes for ``objects`` (sorted, no timestamps)."""
    entries = sorted(objects, key=lambda o: o.name)
    document = {
        "format": MANIFEST_FORMAT,
        "run_id": run_id,
        "objects": [{"name": o.name, "size": o.size, "sha256": o.sha256} for o in entries],
        "total_bytes": sum(o.size for o in entries),
    }
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


def parse_manifest(data: bytes, where: str) -> list[ManifestEntry]:
    """The entries of a ``manifest.json``; KubecallError naming ``where`` if it is malformed."""
    try:
        document = json.loads(data)
        if document.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"format is {document.get('format')!r}, expected {MANIFEST_FORMAT}")
        return [
            ManifestEntry(str(o["name"]), int(o["size"]), str(o["sha256"]))
            for o in document["objects"]
        ]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KubecallError(f"{where} is not a kubecall run manifest: {exc}") from None


def build_success(run_id: str, manifest: bytes, objects: Iterable[LocalObject]) -> bytes:
    """The ``_SUCCESS`` marker bytes binding ``run_id`` to ``manifest``."""
    listed = list(objects)
    document = {
        "format": SUCCESS_FORMAT,
        "run_id": run_id,
        "manifest": MANIFEST_NAME,
        "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
        "manifest_size": len(manifest),
        "objects": len(listed),
        "total_bytes": sum(o.size for o in listed),
        "completed_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kubecall_version": __version__,
    }
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode("utf-8")


def success_manifest_sha256(data: bytes, where: str) -> str:
    """The manifest SHA-256 a ``_SUCCESS`` marker vouches for."""
    try:
        document = json.loads(data)
        if document.get("format") != SUCCESS_FORMAT:
            raise ValueError(f"format is {document.get('format')!r}, expected {SUCCESS_FORMAT}")
        return str(document["manifest_sha256"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise KubecallError(f"{where} is not a kubecall _SUCCESS marker: {exc}") from None
