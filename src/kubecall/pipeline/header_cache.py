"""What preflight learned from each alignment's header, kept between runs.

Reading 2,504 headers from a network mount takes minutes; the facts only change when the
file does. Entries are keyed by absolute path and remembered with the file's size and
modification time (ns): a file whose size or mtime differs is read again. The cache is one
JSON file, written atomically (temporary file + rename), so an interrupted job leaves either
the old or the new cache, never half of one. A missing, unreadable or outdated cache is
simply empty: it can always be deleted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

# Bump when the stored facts change meaning; older caches are then ignored.
CACHE_VERSION = 2


@dataclass(frozen=True)
class AlignmentFacts:
    """What an alignment file says about itself (nothing about the sheet or reference)."""

    file_format: str
    contigs: tuple[tuple[str, int], ...]
    read_group_samples: tuple[str, ...]
    # @SQ M5 tags (contig, MD5) where the header has them
    contig_md5: tuple[tuple[str, str], ...] = ()
    # of the first reads, how many were looked at and how many lack a header @RG's ID
    reads_sampled: int = 0
    reads_without_read_group: int = 0


@dataclass(frozen=True)
class FileStamp:
    """Identity of one version of a file: absolute path, size and mtime in nanoseconds."""

    path: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileStamp:
        """Stamp ``path`` as it is now on disk."""
        stat = path.stat()
        return cls(os.path.abspath(path), stat.st_size, stat.st_mtime_ns)


class HeaderCache:
    """A thread-safe map FileStamp -> AlignmentFacts, loaded from and saved to one file."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._entries: dict[str, dict] = {}
        self._contig_sets: dict[str, list[list]] = {}
        self._dirty = False
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable preflight cache %s (%s); it will be rebuilt",
                        path, exc)
            return
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            log.info("preflight cache %s is from another version; it will be rebuilt", path)
            return
        self._entries = data.get("entries", {})
        self._contig_sets = data.get("contig_sets", {})

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, stamp: FileStamp) -> AlignmentFacts | None:
        """The facts for this exact file version, or None when unknown or changed."""
        with self._lock:
            entry = self._entries.get(stamp.path)
            if entry is None or (entry["size"], entry["mtime_ns"]) != (stamp.size,
                                                                      stamp.mtime_ns):
                return None
            contigs = self._contig_sets.get(entry["contigs"])
        if contigs is None:
            return None
        return AlignmentFacts(
            entry["format"],
            tuple((str(name), int(length)) for name, length in contigs),
            tuple(entry["samples"]),
            tuple((str(name), str(md5)) for name, md5 in entry["md5"]),
            int(entry["reads_sampled"]),
            int(entry["reads_without_read_group"]),
        )

    def put(self, stamp: FileStamp, facts: AlignmentFacts) -> None:
        """Remember ``facts`` for this file version (replacing an older version's)."""
        contigs = [[name, length] for name, length in facts.contigs]
        # 2,504 files share a handful of contig lists: store each list once.
        digest = hashlib.sha256(json.dumps(contigs).encode()).hexdigest()[:16]
        with self._lock:
            self._contig_sets.setdefault(digest, contigs)
            self._entries[stamp.path] = {
                "size": stamp.size,
                "mtime_ns": stamp.mtime_ns,
                "format": facts.file_format,
                "contigs": digest,
                "samples": list(facts.read_group_samples),
                "md5": [list(pair) for pair in facts.contig_md5],
                "reads_sampled": facts.reads_sampled,
                "reads_without_read_group": facts.reads_without_read_group,
            }
            self._dirty = True

    def index_verified(self, stamp: FileStamp, index: FileStamp) -> bool:
        """Whether this version of the file was read through this version of the index."""
        with self._lock:
            entry = self._entries.get(stamp.path)
            return (entry is not None and (entry["size"], entry["mtime_ns"]) ==
                    (stamp.size, stamp.mtime_ns) and entry.get("index") ==
                    [index.path, index.size, index.mtime_ns])

    def mark_index_verified(self, stamp: FileStamp, index: FileStamp) -> None:
        """Remember that reading the file through ``index`` worked (facts put beforehand)."""
        with self._lock:
            entry = self._entries.get(stamp.path)
            if entry is not None:
                entry["index"] = [index.path, index.size, index.mtime_ns]
                self._dirty = True

    def save(self) -> None:
        """Write the cache if anything changed; a failure to write only costs a re-read."""
        if self.path is None or not self._dirty:
            return
        used = {entry["contigs"] for entry in self._entries.values()}
        data = {
            "version": CACHE_VERSION,
            "entries": self._entries,
            "contig_sets": {k: v for k, v in self._contig_sets.items() if k in used},
        }
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps(data, separators=(",", ":")))
            os.replace(temporary, self.path)
        except OSError as exc:
            log.warning("could not write preflight cache %s (%s); next run re-reads headers",
                        self.path, exc)
            temporary.unlink(missing_ok=True)
            return
        self._dirty = False
