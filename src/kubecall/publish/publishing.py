"""Publish a finished run's deliverables to S3 (MinIO) and verify published runs.

Layout: ``s3://{bucket}/{prefix}/{run_id}/{name}`` for every deliverable, then
``manifest.json`` and ``_SUCCESS`` (formats in :mod:`kubecall.publish.manifest`).

Integrity
    Every file's SHA-256 is computed locally, stored as object metadata (``x-amz-meta-sha256``,
    hex) and listed in ``manifest.json``. Single-PUT objects are sent with
    ``x-amz-checksum-sha256``, which S3 and MinIO check against the bytes received; multipart
    uploads send a SHA-256 checksum with every part. After each upload the object is checked:
    size and metadata from HEAD, and the content either from the server's full-object SHA-256
    (when it equals ours, the server vouches for the bytes) or, for multipart objects, whose
    checksum is only a composite of part hashes, by reading the object back and hashing it.

Atomic publication
    Objects first, then ``manifest.json``, then ``_SUCCESS``. ``_SUCCESS`` holds the manifest's
    SHA-256 and the completion time and is written with ``PutObject`` + ``If-None-Match: *``
    (supported by AWS S3, MinIO and moto 5.2.5, which answer 412 when the key exists), so a
    finished run is never overwritten, even by a concurrent publisher. A reader who sees
    ``_SUCCESS`` therefore sees objects that were all verified before it was written. A server
    that ignores the header would fall back to the HEAD check done at the start of every run,
    which leaves only a race between two publishers of the same run id.

Idempotent and resumable
    Objects already present with the right size and SHA-256 are skipped (0 bytes uploaded).
    An unfinished multipart upload of the same key is resumed: parts whose size and checksum
    (SHA-256, or the MD5 ETag where the server does not list part checksums) match the local
    file are kept; other unfinished uploads of that key are aborted. An interrupted run leaves
    its unfinished upload in place for the next run to resume. If ``_SUCCESS`` exists and the
    local manifest is identical, the rerun only reads; if it differs, publication stops with an
    error (publish under a new run id).

Safety
    Nothing is ever deleted except unfinished multipart uploads of this run's own keys; the
    bucket is created only with ``create_bucket`` and never removed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kubecall.errors import KubecallError
from kubecall.layout import DELIVERABLES, RESULTS
from kubecall.publish.manifest import (
    MANIFEST_NAME,
    SUCCESS_NAME,
    LocalObject,
    build_manifest,
    build_success,
    parse_manifest,
    success_manifest_sha256,
    validate_object_name,
    validate_run_id,
)
from kubecall.publish.s3 import (
    AddressingStyle,
    ChecksumMismatch,
    ChecksumMode,
    ClientSettings,
    Credentials,
    S3Bucket,
    load_credentials,
)
from kubecall.publish.upload import (
    RUN_ID_METADATA,
    SHA256_METADATA,
    ObjectAction,
    ObjectUploader,
    bytes_reader,
    file_reader,
)

log = logging.getLogger(__name__)

MIB = 1024 * 1024
MIN_PART_MB = 5  # S3's minimum size of every part but the last
MAX_PART_MB = 5 * 1024
BUCKET_PATTERN = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
PREFIX_SEGMENT = re.compile(r"^[A-Za-z0-9._=@,+-]+$")
CONFIG_KEYS = frozenset({
    "enabled", "endpoint", "bucket", "prefix", "region", "addressing_style", "create_bucket",
    "multipart_threshold_mb", "part_size_mb", "checksum_mode", "credentials_dir", "max_attempts",
    "run_id", "replace_foreign",
})

@dataclass(frozen=True)
class PublishSettings:
    """Where and how to publish; built from the workflow's ``publish:`` config section.

    ``credentials_dir``, when set, is a directory of files mounted from the MinIO Secret
    (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``accesskey``/``secretkey`` or
    ``rootUser``/``rootPassword``); otherwise the ``AWS_*`` environment variables are used.
    Credentials never appear in config.
    """

    endpoint: str
    bucket: str
    prefix: str = ""
    region: str = "us-east-1"
    addressing_style: AddressingStyle = "path"
    create_bucket: bool = False
    multipart_threshold_mb: float = 64
    part_size_mb: float = 16
    checksum_mode: ChecksumMode = "when_supported"
    credentials_dir: Path | None = None
    max_attempts: int = 5
    # Objects under the run's prefix that this run did not write are refused unless true.
    replace_foreign: bool = False

    def __post_init__(self) -> None:
        if self.endpoint and not re.match(r"^https?://[^/\s]+/?$", self.endpoint):
            raise KubecallError(
                f"publish.endpoint {self.endpoint!r} is not an http(s)://host[:port] URL "
                "(e.g. http://minio:9000)"
            )
        if not BUCKET_PATTERN.match(self.bucket):
            raise KubecallError(
                f"publish.bucket {self.bucket!r} is not a valid bucket name: 3-63 characters "
                "from a-z 0-9 . -, starting and ending with a letter or digit"
            )
        prefix = self.prefix.strip("/")
        if prefix and not all(
            PREFIX_SEGMENT.match(s) and s not in (".", "..") for s in prefix.split("/")
        ):
            raise KubecallError(
                f"publish.prefix {self.prefix!r} must be '/'-separated segments of "
                "A-Z a-z 0-9 . _ = @ , + - other than '.' and '..' (e.g. kubecall/runs)"
            )
        object.__setattr__(self, "prefix", prefix)
        if self.addressing_style not in ("path", "virtual", "auto"):
            raise KubecallError(
                f"publish.addressing_style {self.addressing_style!r}: use path, virtual or auto"
            )
        if self.checksum_mode not in ("when_supported", "when_required"):
            raise KubecallError(
                f"publish.checksum_mode {self.checksum_mode!r}: use when_supported or "
                "when_required"
            )
        if not MIN_PART_MB <= self.part_size_mb <= MAX_PART_MB:
            raise KubecallError(
                f"publish.part_size_mb {self.part_size_mb} is outside S3's part size limits "
                f"[{MIN_PART_MB}, {MAX_PART_MB}]"
            )
        if self.multipart_threshold_mb < self.part_size_mb:
            raise KubecallError(
                f"publish.multipart_threshold_mb {self.multipart_threshold_mb} is smaller than "
                f"publish.part_size_mb {self.part_size_mb}; raise it to at least the part size"
            )
        if not 1 <= self.max_attempts <= 20:
            raise KubecallError(f"publish.max_attempts {self.max_attempts} must be 1-20")
        if self.credentials_dir is not None:
            object.__setattr__(self, "credentials_dir", Path(self.credentials_dir))

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> PublishSettings:
        """Settings from the ``publish:`` config mapping.

        ``enabled`` is the caller's business and ``run_id`` names the run, not the store.
        """
        unknown = sorted(set(section) - CONFIG_KEYS)
        if unknown:
            raise KubecallError(
                f"unknown publish config key(s) {', '.join(unknown)}; known keys: "
                f"{', '.join(sorted(CONFIG_KEYS))}"
            )
        if not section.get("bucket"):
            raise KubecallError("publish.bucket is empty: name the bucket to publish to")
        values = {
            k: v for k, v in section.items() if k not in ("enabled", "run_id") and v is not None
        }
        if values.get("credentials_dir") == "":
            values.pop("credentials_dir")
        for key in ("multipart_threshold_mb", "part_size_mb", "max_attempts"):
            if key in values and (
                isinstance(values[key], bool) or not isinstance(values[key], int | float)
            ):
                raise KubecallError(f"publish.{key} must be a number, got {values[key]!r}")
        for key in ("create_bucket", "replace_foreign"):
            if key in values and not isinstance(values[key], bool):
                raise KubecallError(f"publish.{key} must be true or false")
        return cls(**values)

    @property
    def part_size(self) -> int:
        return int(self.part_size_mb * MIB)

    @property
    def multipart_threshold(self) -> int:
        return int(self.multipart_threshold_mb * MIB)

    def client_settings(self) -> ClientSettings:
        return ClientSettings(
            endpoint=self.endpoint,
            region=self.region,
            addressing_style=self.addressing_style,
            checksum_mode=self.checksum_mode,
            max_attempts=self.max_attempts,
        )

    def run_prefix(self, run_id: str) -> str:
        return f"{self.prefix}/{run_id}" if self.prefix else run_id

    def run_url(self, run_id: str) -> str:
        return f"s3://{self.bucket}/{self.run_prefix(run_id)}"

    def open_bucket(self, bucket: str | None = None) -> S3Bucket:
        """A connected :class:`S3Bucket` using this configuration's credentials."""
        credentials: Credentials = load_credentials(self.credentials_dir)
        return S3Bucket(self.client_settings(), bucket or self.bucket, credentials)


def deliverables(run_dir: Path) -> dict[str, Path]:
    """Object name -> file for a finished run directory (names are paths under ``results/``).

    Every deliverable of :data:`kubecall.layout.DELIVERABLES` must be there: a run without
    one (e.g. stopped before its report) did not finish and is not published.
    """
    results = Path(run_dir) / RESULTS
    found = {name: results / name for name in DELIVERABLES.values()}
    missing = [str(path) for path in found.values() if not path.is_file()]
    if missing:
        raise KubecallError(
            f"run directory {run_dir} did not finish: missing deliverable(s) "
            f"{', '.join(missing)}; finish the workflow (snakemake) before publishing"
        )
    return found


@dataclass
class PublishResult:
    """The receipt of one publication (``results/publish/receipt.json``)."""

    url: str
    run_id: str
    manifest_sha256: str
    already_complete: bool = False
    dry_run: bool = False
    objects: list[ObjectAction] = field(default_factory=list)

    @property
    def uploaded_objects(self) -> int:
        return sum(o.action in ("uploaded", "resumed") for o in self.objects)

    @property
    def uploaded_bytes(self) -> int:
        return sum(o.uploaded_bytes for o in self.objects)

    @property
    def skipped_objects(self) -> int:
        return sum(o.action == "skipped" for o in self.objects)

    @property
    def skipped_bytes(self) -> int:
        return sum(o.size for o in self.objects if o.action == "skipped")

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "run_id": self.run_id,
            "manifest_sha256": self.manifest_sha256,
            "already_complete": self.already_complete,
            "dry_run": self.dry_run,
            "uploaded_objects": self.uploaded_objects,
            "uploaded_bytes": self.uploaded_bytes,
            "skipped_objects": self.skipped_objects,
            "skipped_bytes": self.skipped_bytes,
            "objects": [asdict(o) for o in self.objects],
        }

    def write_json(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")


def publish_run(
    files: Mapping[str, Path], settings: PublishSettings, run_id: str, dry_run: bool = False
) -> PublishResult:
    """Upload ``files`` (object name -> path) to ``settings.run_url(run_id)`` and mark it done."""
    validate_run_id(run_id)
    if not files:
        raise KubecallError("nothing to publish: the file list is empty")
    objects = [LocalObject.from_path(validate_object_name(n), Path(p)) for n, p in files.items()]
    manifest = build_manifest(run_id, objects)
    manifest_sha = hashlib.sha256(manifest).hexdigest()
    result = PublishResult(settings.run_url(run_id), run_id, manifest_sha, dry_run=dry_run)
    if dry_run:
        result.objects = [ObjectAction(o.name, o.size, o.sha256, "planned") for o in objects]
        return result

    store = settings.open_bucket()
    if not store.bucket_exists():
        if not settings.create_bucket:
            raise KubecallError(
                f"bucket {settings.bucket} does not exist at endpoint {settings.endpoint}: "
                "create it, or set publish.create_bucket: true (--create-bucket)"
            )
        log.info("creating bucket %s", settings.bucket)
        store.create()
    uploader = ObjectUploader(store, settings.run_prefix(run_id), run_id,
                              settings.multipart_threshold, settings.part_size)

    if store.head(uploader.key(SUCCESS_NAME)) is not None:
        result.already_complete = True
        result.objects = _check_finished_run(uploader, objects, manifest)
        log.info("%s is already published; nothing uploaded", result.url)
        return result

    _clear_foreign(uploader, [o.name for o in objects], settings.replace_foreign)
    ordered = sorted(objects, key=lambda o: o.name)
    total_bytes = sum(o.size for o in ordered)
    done_bytes = 0
    for number, obj in enumerate(ordered, 1):
        # One progress line per object, so a long upload shows where it is in the log.
        log.info("object %d/%d: %s (%d bytes; %d of %d bytes done before it)", number,
                 len(ordered), obj.name, obj.size, done_bytes, total_bytes)
        result.objects.append(uploader.ensure(obj.name, obj.size, obj.sha256,
                                              file_reader(obj.path)))
        done_bytes += obj.size
    result.objects.append(uploader.ensure(MANIFEST_NAME, len(manifest), manifest_sha,
                                          bytes_reader(manifest)))
    result.objects.append(_write_success(uploader, objects, manifest))
    log.info("published %s: %d objects uploaded (%d bytes), %d skipped", result.url,
             result.uploaded_objects, result.uploaded_bytes, result.skipped_objects)
    return result


def publish_workflow_results(
    run_dir: Path, section: Mapping[str, Any], run_id: str, receipt: Path
) -> PublishResult:
    """What the workflow's publish rule runs: settings from ``config["publish"]``, the run
    directory's deliverables, publication, and the receipt written to ``receipt``."""
    settings = PublishSettings.from_config(section)
    result = publish_run(deliverables(run_dir), settings, run_id)
    result.write_json(receipt)
    return result


def foreign_objects(uploader: ObjectUploader, names: list[str]) -> list[str]:
    """Keys under the run's prefix that this run did not write: names it does not publish,
    or objects at its names without its run-id metadata (someone else's upload)."""
    planned = {uploader.key(n) for n in [*names, MANIFEST_NAME, SUCCESS_NAME]}
    found = []
    for key in uploader.store.list_keys(uploader.prefix):
        if key not in planned:
            found.append(key)
            continue
        head = uploader.store.head(key)
        if head is not None and head.metadata.get(RUN_ID_METADATA) != uploader.run_id:
            found.append(key)
    return found


def _clear_foreign(uploader: ObjectUploader, names: list[str], replace: bool) -> None:
    """Refuse to publish over objects kubecall did not write, or (``replace``) remove them."""
    foreign = foreign_objects(uploader, names)
    if not foreign:
        return
    url = f"s3://{uploader.store.bucket}/{uploader.prefix}"
    shown = ", ".join(k.removeprefix(uploader.prefix + "/") for k in foreign[:8])
    more = f" and {len(foreign) - 8} more" if len(foreign) > 8 else ""
    if not replace:
        raise KubecallError(
            f"{url} holds {len(foreign)} object(s) this run did not write ({shown}{more}); "
            "nothing was uploaded. Publish under another run id (publish.run_id in the "
            "workflow's config, --run-id for kubecall publish), or replace them with "
            "publish.replace_foreign: true (--replace-foreign)"
        )
    for key in foreign:
        log.warning("replacing foreign object %s (publish.replace_foreign)", key)
        uploader.store.delete(key)


def _check_finished_run(
    uploader: ObjectUploader, objects: list[LocalObject], manifest: bytes
) -> list[ObjectAction]:
    """Reads only: confirm a run that has ``_SUCCESS`` holds exactly these files."""
    store, url = uploader.store, f"s3://{uploader.store.bucket}/{uploader.prefix}"
    remote = store.get_bytes(uploader.key(MANIFEST_NAME))
    if remote != manifest:
        if remote is None:
            changed = "manifest.json is missing"
        else:
            old = {e.name: e.sha256 for e in parse_manifest(remote, f"{url}/{MANIFEST_NAME}")}
            new = {o.name: o.sha256 for o in objects}
            names = sorted(n for n in old.keys() | new.keys() if old.get(n) != new.get(n))
            changed = f"differing objects: {', '.join(names) or 'none (manifest format)'}"
        raise KubecallError(
            f"{url} is already published (it has _SUCCESS) with different content ({changed}); "
            "a finished run is never overwritten: publish under a new run id "
            "(publish.run_id in the workflow's config, --run-id for kubecall publish)"
        )
    actions = []
    for obj in objects:
        head = store.head(uploader.key(obj.name))
        sha = None if head is None else head.metadata.get(SHA256_METADATA)
        if head is None or head.size != obj.size or sha != obj.sha256:
            raise KubecallError(
                f"{url} has _SUCCESS but {obj.name} is missing or altered; it is not "
                f"overwritten: run `kubecall verify {url}` and publish under a new run id "
                f"(publish.run_id in the workflow's config, --run-id for kubecall publish)"
            )
        actions.append(ObjectAction(obj.name, obj.size, obj.sha256, "skipped"))
    sha = hashlib.sha256(manifest).hexdigest()
    actions.append(ObjectAction(MANIFEST_NAME, len(manifest), sha, "skipped"))
    return actions


def _write_success(
    uploader: ObjectUploader, objects: list[LocalObject], manifest: bytes
) -> ObjectAction:
    """Write ``_SUCCESS`` with If-None-Match, then read it back."""
    store, key = uploader.store, uploader.key(SUCCESS_NAME)
    url = f"s3://{uploader.store.bucket}/{uploader.prefix}"
    marker = build_success(uploader.run_id, manifest, objects)
    digest = hashlib.sha256(marker).digest()
    written = store.put(key, marker, digest, uploader.metadata(digest.hex()), "application/json",
                        if_none_match=True)
    stored = store.get_bytes(key)
    manifest_sha = hashlib.sha256(manifest).hexdigest()
    if stored is None or success_manifest_sha256(stored, f"{url}/{SUCCESS_NAME}") != manifest_sha:
        raise KubecallError(
            f"{url}/{SUCCESS_NAME} does not vouch for this run's manifest after writing it; "
            "another publisher may be using the same run id"
        )
    if not written:
        log.info("%s/_SUCCESS was written concurrently for the same manifest", url)
        return ObjectAction(SUCCESS_NAME, len(stored), hashlib.sha256(stored).hexdigest(),
                            "skipped")
    return ObjectAction(SUCCESS_NAME, len(marker), digest.hex(), "uploaded", len(marker), True)


@dataclass
class ObjectCheck:
    """The verdict on one object of a published run."""

    name: str
    status: str  # ok | mismatch | missing
    expected_size: int
    expected_sha256: str
    actual_size: int | None = None
    actual_sha256: str | None = None
    detail: str = ""


@dataclass
class VerifyResult:
    """Everything ``verify_run`` found about a published run."""

    url: str
    complete: bool
    problems: list[str] = field(default_factory=list)
    objects: list[ObjectCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.complete and not self.problems and all(o.status == "ok" for o in self.objects)

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "ok": self.ok, "complete": self.complete,
                "problems": self.problems, "objects": [asdict(o) for o in self.objects]}


def parse_run_url(url: str) -> tuple[str, str, str]:
    """(bucket, prefix, run_id) of ``s3://bucket[/prefix]/run_id``."""
    match = re.match(r"^s3://([^/]+)/(.+?)/?$", url)
    if not match:
        raise KubecallError(f"{url!r} is not a run URL: use s3://bucket/prefix/run_id")
    bucket, path = match.groups()
    prefix, _, run_id = path.rpartition("/")
    return bucket, prefix, validate_run_id(run_id)


def check_publish_ready(section: Mapping[str, Any]) -> None:
    """Before any job runs: the publish settings parse and the credentials are there (read,
    never shown), so that a run does not call for hours and then fail at publishing."""
    load_credentials(PublishSettings.from_config(section).credentials_dir)


def verify_run(url: str, settings: PublishSettings) -> VerifyResult:
    """Re-read every object of the run at ``url`` and check it against its manifest."""
    bucket, prefix, run_id = parse_run_url(url)
    store = settings.open_bucket(bucket)
    if not store.bucket_exists():
        raise KubecallError(f"bucket {bucket} does not exist at endpoint {settings.endpoint}")
    base = f"{prefix}/{run_id}" if prefix else run_id
    manifest = store.get_bytes(f"{base}/{MANIFEST_NAME}")
    success = store.get_bytes(f"{base}/{SUCCESS_NAME}")
    if manifest is None and success is None:
        raise KubecallError(f"nothing is published at {url} (no manifest.json, no _SUCCESS)")
    result = VerifyResult(url, complete=success is not None)
    if success is None:
        result.problems.append("no _SUCCESS: publication did not finish")
    if manifest is None:
        result.problems.append("manifest.json is missing")
        return result
    if success is not None:
        vouched = success_manifest_sha256(success, f"{url}/{SUCCESS_NAME}")
        if vouched != hashlib.sha256(manifest).hexdigest():
            result.problems.append("_SUCCESS names a different manifest SHA-256 than manifest.json")
    entries = parse_manifest(manifest, f"{url}/{MANIFEST_NAME}")
    known = {f"{base}/{name}" for name in [*(e.name for e in entries), MANIFEST_NAME,
                                           SUCCESS_NAME]}
    extra = [k for k in store.list_keys(base) if k not in known]
    if extra:
        names = ", ".join(k.removeprefix(base + "/") for k in extra[:8])
        result.problems.append(f"{len(extra)} object(s) under the run are not in its "
                               f"manifest: {names}")
    for entry in entries:
        key = f"{base}/{entry.name}"
        check = ObjectCheck(entry.name, "ok", entry.size, entry.sha256)
        try:
            read = store.read_sha256(key)
        except ChecksumMismatch:
            check.status, check.detail = "mismatch", "bytes disagree with the server's checksum"
            result.objects.append(check)
            continue
        if read is None:
            check.status = "missing"
        else:
            check.actual_size, check.actual_sha256 = read
            if read != (entry.size, entry.sha256):
                check.status, check.detail = "mismatch", "content differs from the manifest"
            else:
                head = store.head(key)
                if head is not None and head.metadata.get(SHA256_METADATA) != entry.sha256:
                    check.status = "mismatch"
                    check.detail = "sha256 metadata differs from the manifest"
        result.objects.append(check)
    return result
