"""Make one object under a run prefix hold exactly a local file's bytes, verified.

Used by :mod:`kubecall.publish.publishing`; the integrity and resume rules are described there.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kubecall.errors import KubecallError
from kubecall.publish.manifest import SUCCESS_NAME
from kubecall.publish.s3 import ChecksumMismatch, S3Bucket, b64_sha256

log = logging.getLogger("kubecall.publish.publishing")

MAX_PARTS = 10_000  # S3's limit on parts per upload
SHA256_METADATA = "sha256"
RUN_ID_METADATA = "kubecall-run-id"


@dataclass
class ObjectAction:
    """What publication did with one object."""

    name: str
    size: int
    sha256: str
    action: str  # uploaded | resumed | skipped | planned
    uploaded_bytes: int = 0
    reread: bool = False


# A source of bytes: (offset, length) -> bytes.
Reader = Callable[[int, int], bytes]


def file_reader(path: Path) -> Reader:
    def read(offset: int, length: int) -> bytes:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read(length)

    return read


def bytes_reader(data: bytes) -> Reader:
    return lambda offset, length: data[offset : offset + length]


class ObjectUploader:
    """Makes one object under the run prefix hold exactly the given bytes."""

    def __init__(
        self, store: S3Bucket, run_prefix: str, run_id: str, multipart_threshold: int,
        part_size: int,
    ) -> None:
        self.store = store
        self.prefix = run_prefix
        self.run_id = run_id
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def check(self, key: str, size: int, sha256: str) -> tuple[bool, bool]:
        """(``key`` holds ``size`` bytes hashing to ``sha256``, whether it had to be re-read)."""
        head = self.store.head(key)
        if head is None or head.size != size or head.metadata.get(SHA256_METADATA) != sha256:
            return False, False
        if head.vouches_for(sha256):
            return True, False
        try:
            return self.store.read_sha256(key) == (size, sha256), True
        except ChecksumMismatch as exc:
            log.warning("%s; it will be uploaded again", exc)
            return False, True

    def ensure(self, name: str, size: int, sha256: str, reader: Reader) -> ObjectAction:
        """Skip ``name`` if already right, else upload it; verify either way."""
        key = self.key(name)
        right, reread = self.check(key, size, sha256)
        if right:
            log.info("skipped %s (%d bytes, already published)", name, size)
            return ObjectAction(name, size, sha256, "skipped", 0, reread)
        sent, resumed = self.upload(key, size, sha256, reader, allow_resume=True)
        right, reread = self.check(key, size, sha256)
        if not right and resumed:
            # The resumed upload was started from a different version of the file.
            log.warning("resumed upload of %s did not verify; uploading it afresh", name)
            more, resumed = self.upload(key, size, sha256, reader, allow_resume=False)
            sent += more
            right, reread = self.check(key, size, sha256)
        if not right:
            raise self.mismatch(key)
        action = "resumed" if resumed else "uploaded"
        log.info("%s %s (%d bytes sent, %d bytes total)", action, name, sent, size)
        return ObjectAction(name, size, sha256, action, sent, reread)

    def mismatch(self, key: str) -> KubecallError:
        return KubecallError(
            f"{self.store.where(key)} does not match the local file after upload (size or "
            "SHA-256 differs); check the server and rerun"
        )

    def metadata(self, sha256: str) -> dict[str, str]:
        return {SHA256_METADATA: sha256, RUN_ID_METADATA: self.run_id}

    def upload(
        self, key: str, size: int, sha256: str, reader: Reader, allow_resume: bool
    ) -> tuple[int, bool]:
        """Upload the bytes; returns (bytes sent, whether parts of an earlier upload were kept)."""
        content_type = _content_type(key)
        if size < self.multipart_threshold:
            body = reader(0, size)
            self.store.put(key, body, hashlib.sha256(body).digest(), self.metadata(sha256),
                           content_type)
            return size, False
        part_size = max(self.part_size, math.ceil(size / MAX_PARTS))
        count = math.ceil(size / part_size)
        upload_id, kept = (None, {})
        if allow_resume:
            upload_id, kept = self.resumable(key, size, part_size, reader)
        if upload_id is None:
            upload_id = self.store.start_multipart(key, self.metadata(sha256), content_type)
        parts: list[tuple[int, str, bytes]] = []
        sent = 0
        for number in range(1, count + 1):
            if number in kept:
                parts.append((number, *kept[number]))
                continue
            offset = (number - 1) * part_size
            body = reader(offset, min(part_size, size - offset))
            digest = hashlib.sha256(body).digest()
            etag = self.store.upload_part(key, upload_id, number, body, digest)
            parts.append((number, etag, digest))
            sent += len(body)
            # A multi-gigabyte VCF takes minutes: a line per part shows it moving.
            log.info("%s: part %d/%d sent (%d bytes)", key, number, count, len(body))
        self.store.complete_multipart(key, upload_id, parts)
        return sent, bool(kept)

    def resumable(
        self, key: str, size: int, part_size: int, reader: Reader
    ) -> tuple[str | None, dict[int, tuple[str, bytes]]]:
        """An unfinished upload of ``key`` to continue and its reusable parts (etag, sha256)."""
        chosen: str | None = None
        kept: dict[int, tuple[str, bytes]] = {}
        for upload_id in self.store.unfinished_uploads(key):
            if chosen is not None:
                self.store.abort_multipart(key, upload_id)
                continue
            matching = self.matching_parts(key, upload_id, size, part_size, reader)
            if not matching:
                # Nothing reusable; a fresh upload also gets fresh metadata.
                self.store.abort_multipart(key, upload_id)
                continue
            chosen, kept = upload_id, matching
        return chosen, kept

    def matching_parts(
        self, key: str, upload_id: str, size: int, part_size: int, reader: Reader
    ) -> dict[int, tuple[str, bytes]] | None:
        """Parts of ``upload_id`` equal to the local file's; None if the layout differs."""
        count = math.ceil(size / part_size)
        kept: dict[int, tuple[str, bytes]] = {}
        for part in self.store.uploaded_parts(key, upload_id):
            offset = (part.number - 1) * part_size
            if part.number > count or part.size != min(part_size, size - offset):
                return None
            body = reader(offset, part.size)
            digest = hashlib.sha256(body).digest()
            if part.checksum_sha256 is not None:
                same = part.checksum_sha256 == b64_sha256(digest)
            else:
                same = part.etag.strip('"') == hashlib.md5(body, usedforsecurity=False).hexdigest()
            if same:
                kept[part.number] = (part.etag, digest)
        return kept


def _content_type(key: str) -> str:
    if key.endswith(".json"):
        return "application/json"
    if key.endswith(".html"):
        return "text/html; charset=utf-8"
    if key.endswith((".txt", ".bed", SUCCESS_NAME)):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"
