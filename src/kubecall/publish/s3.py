"""The one place boto3 is wrapped: client construction, credentials and error translation.

Everything else in kubecall talks to S3 through :class:`S3Bucket`. Its rules:

* Credentials come only from the environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
  optional ``AWS_SESSION_TOKEN``) or, when a credentials directory is configured, from files
  mounted from a Kubernetes Secret (see :func:`load_credentials`). Shared config files, profiles
  and instance metadata are never consulted, so a laptop's ``~/.aws`` cannot leak into a run.
* botocore's ``request_checksum_calculation`` and ``response_checksum_validation`` are always set
  explicitly (``when_supported`` or ``when_required``); kubecall sends its own SHA-256 checksum on
  every write, so both modes carry a server-checkable digest.
* Retries use botocore's ``standard`` mode (exponential backoff with jitter) with a bounded number
  of attempts; when they run out the error names the endpoint, bucket and key.
* botocore, boto3, s3transfer and urllib3 log at WARNING at most (their DEBUG output contains
  signed headers), and every message built here has the access key, secret and session token
  replaced by ``***``.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    FlexibleChecksumError,
    ReadTimeoutError,
)

from kubecall.errors import KubecallError

AddressingStyle = Literal["path", "virtual", "auto"]
ChecksumMode = Literal["when_supported", "when_required"]

# Library loggers whose DEBUG output includes signed request headers.
QUIET_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3")

# File names accepted in a mounted credentials directory, in order of preference:
# plain AWS names, the MinIO client's names, and the MinIO Helm chart's root-user Secret keys.
CREDENTIAL_FILE_PAIRS: tuple[tuple[str, str], ...] = (
    ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
    ("accesskey", "secretkey"),
    ("rootUser", "rootPassword"),
)
SESSION_TOKEN_FILE = "AWS_SESSION_TOKEN"

THROTTLING_CODES = frozenset(
    {"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequests",
     "RequestThrottled", "ServiceUnavailable", "503"}
)
CREDENTIAL_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
     "InvalidSecurity", "AuthorizationHeaderMalformed"}
)
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})

CHUNK_SIZE = 1024 * 1024


def quiet_library_loggers() -> None:
    """Keep botocore and friends at WARNING so signed headers never reach a log."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


@dataclass(frozen=True)
class Credentials:
    """An access key pair; ``repr`` never shows the values."""

    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    source: str = "environment"

    def secrets(self) -> tuple[str, ...]:
        """Every value that must never appear in a message, longest first.

        Values shorter than MinIO's minimum key length (3) are not redacted: hiding "k"
        would garble every message without protecting anything.
        """
        values = (self.access_key, self.secret_key, self.session_token)
        return tuple(sorted((v for v in values if v and len(v) >= 3), key=len, reverse=True))


def load_credentials(
    credentials_dir: Path | None = None, environ: Mapping[str, str] | None = None
) -> Credentials:
    """Credentials from ``credentials_dir`` when given, else from the environment.

    A credentials directory is a mounted Secret holding one value per file, named either
    ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (optionally ``AWS_SESSION_TOKEN``),
    ``accesskey``/``secretkey`` or ``rootUser``/``rootPassword``. Surrounding whitespace
    (the trailing newline of ``kubectl create secret --from-file``) is stripped.
    """
    env = os.environ if environ is None else environ
    if credentials_dir is not None:
        return _credentials_from_dir(Path(credentials_dir))
    access, secret = env.get("AWS_ACCESS_KEY_ID", ""), env.get("AWS_SECRET_ACCESS_KEY", "")
    if not access or not secret:
        raise KubecallError(
            "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the "
            "environment, or point publish.credentials_dir (--credentials-dir) at the mounted "
            "MinIO Secret"
        )
    return Credentials(access, secret, env.get("AWS_SESSION_TOKEN") or None, "environment")


def _credentials_from_dir(directory: Path) -> Credentials:
    if not directory.is_dir():
        raise KubecallError(
            f"publish.credentials_dir {directory} is not a directory; mount the MinIO Secret "
            "there or unset it to use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    for key_name, secret_name in CREDENTIAL_FILE_PAIRS:
        key_file, secret_file = directory / key_name, directory / secret_name
        if key_file.is_file() and secret_file.is_file():
            access = key_file.read_text().strip()
            secret = secret_file.read_text().strip()
            if not access or not secret:
                raise KubecallError(f"{key_file} or {secret_file} is empty")
            token_file = directory / SESSION_TOKEN_FILE
            token = token_file.read_text().strip() if token_file.is_file() else None
            return Credentials(access, secret, token or None, f"files in {directory}")
    names = ", ".join(f"{a}+{b}" for a, b in CREDENTIAL_FILE_PAIRS)
    raise KubecallError(f"no credential files in {directory}: expected one of the pairs {names}")


@dataclass(frozen=True)
class ClientSettings:
    """How to reach an S3 endpoint (everything except the bucket)."""

    endpoint: str
    region: str = "us-east-1"
    addressing_style: AddressingStyle = "path"
    checksum_mode: ChecksumMode = "when_supported"
    max_attempts: int = 5
    connect_timeout: float = 10.0
    read_timeout: float = 60.0


def make_client(settings: ClientSettings, credentials: Credentials) -> Any:
    """A boto3 S3 client with explicit checksum, retry and addressing settings."""
    quiet_library_loggers()
    config = Config(
        region_name=settings.region,
        signature_version="s3v4",
        s3={"addressing_style": settings.addressing_style},
        # total_max_attempts counts the first try; botocore's "max_attempts" would not.
        retries={"mode": "standard", "total_max_attempts": settings.max_attempts},
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        request_checksum_calculation=settings.checksum_mode,
        response_checksum_validation=settings.checksum_mode,
    )
    # A bare botocore session: no profile, no shared config/credentials files, no IMDS lookups.
    session = boto3.session.Session(
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.session_token,
        region_name=settings.region,
    )
    return session.client("s3", endpoint_url=settings.endpoint or None, config=config)


def b64_sha256(digest: bytes) -> str:
    """The base64 form S3 uses for ``x-amz-checksum-sha256``."""
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True)
class ObjectHead:
    """What HEAD says about an object."""

    size: int
    etag: str
    metadata: dict[str, str]
    checksum_sha256: str | None
    checksum_type: str | None

    @property
    def multipart(self) -> bool:
        """Multipart ETags end in ``-<parts>``."""
        return "-" in self.etag.strip('"')

    def vouches_for(self, sha256_hex: str) -> bool:
        """True when the server holds a full-object SHA-256 equal to ``sha256_hex``.

        Such a checksum was sent with a single PUT and checked by the server against the bytes
        it received; multipart objects carry a composite checksum (a hash of part hashes)
        that says nothing directly about the whole file, so they are re-read instead.
        """
        if self.multipart or self.checksum_type not in (None, "FULL_OBJECT"):
            return False
        return self.checksum_sha256 == b64_sha256(bytes.fromhex(sha256_hex))


@dataclass(frozen=True)
class PartInfo:
    """One uploaded part of an unfinished multipart upload."""

    number: int
    size: int
    etag: str
    checksum_sha256: str | None


class NotFound(KubecallError):
    """The object (or, for HeadBucket, the bucket) does not exist."""


class ChecksumMismatch(KubecallError):
    """The bytes read back disagree with the checksum the server stored for them."""


class BucketMissing(KubecallError):
    """The bucket does not exist."""


class PreconditionFailed(KubecallError):
    """A conditional request found its condition false (e.g. If-None-Match on an existing key)."""


class S3Bucket:
    """S3 operations on one bucket, with every failure turned into a KubecallError."""

    def __init__(self, settings: ClientSettings, bucket: str, credentials: Credentials) -> None:
        self.settings = settings
        self.bucket = bucket
        self._secrets = credentials.secrets()
        self.client = make_client(settings, credentials)

    # -- error translation -------------------------------------------------------------

    def redact(self, text: str) -> str:
        """``text`` with every credential value replaced by ``***``."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def target(self, key: str | None) -> str:
        """``s3://bucket/key``, or ``bucket NAME`` for bucket-level requests."""
        return f"s3://{self.bucket}/{key}" if key else f"bucket {self.bucket}"

    def where(self, key: str | None) -> str:
        """The target and the endpoint, for messages."""
        return f"{self.target(key)} at endpoint {self.settings.endpoint}"

    @contextmanager
    def translate(self, operation: str, key: str | None = None) -> Iterator[None]:
        """Turn botocore failures into KubecallErrors naming endpoint, bucket and key."""
        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            message = self.redact(self._client_error_message(exc, operation, key))
            if code == "NoSuchBucket":
                raise BucketMissing(message) from None
            if code in NOT_FOUND_CODES or status == 404:
                raise NotFound(message) from None
            if code in ("PreconditionFailed", "ConditionalRequestConflict") or status == 412:
                raise PreconditionFailed(message) from None
            raise KubecallError(message) from None
        except (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError) as exc:
            raise KubecallError(self.redact(
                f"cannot reach S3 endpoint {self.settings.endpoint} ({operation} "
                f"{self.target(key)}) after {self.settings.max_attempts} attempts: {exc}; check "
                "publish.endpoint and that the server is running, then rerun (finished objects "
                "are kept and skipped)"
            )) from None
        except ReadTimeoutError as exc:
            raise KubecallError(self.redact(
                f"S3 endpoint {self.settings.endpoint} stopped answering during {operation} "
                f"{self.where(key)}: {exc}; rerun to resume"
            )) from None
        except BotoCoreError as exc:
            raise KubecallError(self.redact(
                f"S3 {operation} {self.where(key)} failed: {exc}"
            )) from None

    def _client_error_message(self, exc: ClientError, operation: str, key: str | None) -> str:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        attempts = exc.response.get("ResponseMetadata", {}).get("RetryAttempts", 0) + 1
        detail = error.get("Message") or code
        where = f"{operation} {self.where(key)}"
        if code in CREDENTIAL_CODES:
            return (
                f"S3 rejected the credentials ({code}) on {where}: check AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or the files in publish.credentials_dir)"
            )
        if code == "AccessDenied":
            return (
                f"access denied on {where}: the user's policy must allow s3:ListBucket, "
                "s3:ListBucketMultipartUploads, s3:GetObject, s3:PutObject and "
                "s3:AbortMultipartUpload on this bucket (s3:CreateBucket for create_bucket)"
            )
        if status == 403:
            return (
                f"S3 refused {where} (HTTP 403 {code}): the credentials are wrong or lack "
                "permission; check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or "
                "publish.credentials_dir)"
            )
        if code == "NoSuchBucket":
            return (
                f"bucket {self.bucket} does not exist at endpoint {self.settings.endpoint}: "
                "create it, or set publish.create_bucket: true (--create-bucket)"
            )
        if code in THROTTLING_CODES or status in (429, 503):
            return (
                f"S3 kept throttling {where} ({code}) after "
                f"{attempts} attempts with backoff; retry later or raise publish.max_attempts"
            )
        return f"S3 error {code} (HTTP {status}) on {where}: {detail}"

    # -- bucket ----------------------------------------------------------------------

    def bucket_exists(self) -> bool:
        """True if the bucket exists and these credentials can see it."""
        # ListObjectsV2 rather than HeadBucket: HEAD answers carry no error code, and a bare
        # 403 cannot tell wrong credentials from a missing permission.
        try:
            with self.translate("ListObjectsV2"):
                self.client.list_objects_v2(Bucket=self.bucket, MaxKeys=1)
        except BucketMissing:
            return False
        return True

    def create(self) -> None:
        """Create the bucket (an existing bucket we own is fine)."""
        params: dict[str, Any] = {"Bucket": self.bucket}
        if self.settings.region and self.settings.region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.region}
        try:
            with self.translate("CreateBucket"):
                self.client.create_bucket(**params)
        except KubecallError as exc:
            if "BucketAlreadyOwnedByYou" not in str(exc):
                raise

    # -- objects ---------------------------------------------------------------------

    def head(self, key: str) -> ObjectHead | None:
        """HEAD ``key`` with checksums requested; None if it does not exist."""
        try:
            with self.translate("HeadObject", key):
                response = self.client.head_object(
                    Bucket=self.bucket, Key=key, ChecksumMode="ENABLED"
                )
        except NotFound:
            return None
        return ObjectHead(
            size=int(response["ContentLength"]),
            etag=str(response.get("ETag", "")),
            metadata={k.lower(): v for k, v in response.get("Metadata", {}).items()},
            checksum_sha256=response.get("ChecksumSHA256"),
            checksum_type=response.get("ChecksumType"),
        )

    def list_keys(self, prefix: str) -> list[str]:
        """Every object key under ``prefix`` (``prefix/...``), in key order."""
        keys: list[str] = []
        with self.translate("ListObjectsV2", f"{prefix}/"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=f"{prefix}/")
            for page in pages:
                keys += [str(item["Key"]) for item in page.get("Contents", [])]
        return sorted(keys)

    def delete(self, key: str) -> None:
        """Delete ``key`` (gone already is fine)."""
        with self.translate("DeleteObject", key):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def get_bytes(self, key: str) -> bytes | None:
        """The whole (small) object, or None if it does not exist."""
        try:
            with self.translate("GetObject", key):
                return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except NotFound:
            return None

    def read_sha256(self, key: str) -> tuple[int, str] | None:
        """Stream ``key`` and return (size, SHA-256 hex), or None if it does not exist.

        With ``response_checksum_validation=when_supported`` botocore also checks the bytes
        against the server's stored checksum; a disagreement raises :class:`ChecksumMismatch`.
        """
        digest, size = hashlib.sha256(), 0
        try:
            with self.translate("GetObject", key):
                response = self.client.get_object(Bucket=self.bucket, Key=key)
                try:
                    for chunk in response["Body"].iter_chunks(CHUNK_SIZE):
                        digest.update(chunk)
                        size += len(chunk)
                except FlexibleChecksumError as exc:
                    raise ChecksumMismatch(self.redact(
                        f"s3://{self.bucket}/{key} at endpoint {self.settings.endpoint}: the "
                        f"bytes read back do not match the server's stored checksum ({exc})"
                    )) from None
        except NotFound:
            return None
        return size, digest.hexdigest()

    def put(
        self,
        key: str,
        body: bytes,
        sha256: bytes,
        metadata: Mapping[str, str],
        content_type: str,
        if_none_match: bool = False,
    ) -> bool:
        """PUT ``body`` with its SHA-256 checksum; False if ``if_none_match`` and ``key`` exists."""
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": body,
            "ChecksumAlgorithm": "SHA256",
            "ChecksumSHA256": b64_sha256(sha256),
            "Metadata": dict(metadata),
            "ContentType": content_type,
        }
        if if_none_match:
            params["IfNoneMatch"] = "*"
        try:
            with self.translate("PutObject", key):
                self.client.put_object(**params)
        except PreconditionFailed:
            if if_none_match:
                return False
            raise
        return True

    def start_multipart(self, key: str, metadata: Mapping[str, str], content_type: str) -> str:
        """Start a multipart upload with SHA-256 part checksums; returns its upload id."""
        with self.translate("CreateMultipartUpload", key):
            response = self.client.create_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                ChecksumAlgorithm="SHA256",
                Metadata=dict(metadata),
                ContentType=content_type,
            )
        return str(response["UploadId"])

    def upload_part(self, key: str, upload_id: str, number: int, body: bytes, sha256: bytes) -> str:
        """Upload one part with its SHA-256 checksum; returns the part's ETag."""
        with self.translate(f"UploadPart {number}", key):
            response = self.client.upload_part(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=body,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=b64_sha256(sha256),
            )
        return str(response["ETag"])

    def complete_multipart(
        self, key: str, upload_id: str, parts: list[tuple[int, str, bytes]]
    ) -> None:
        """Complete an upload from (number, etag, sha256) of every part."""
        listed = [
            {"PartNumber": number, "ETag": etag, "ChecksumSHA256": b64_sha256(sha256)}
            for number, etag, sha256 in parts
        ]
        with self.translate("CompleteMultipartUpload", key):
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": listed}
            )

    def unfinished_uploads(self, key: str) -> list[str]:
        """Upload ids of unfinished multipart uploads of exactly ``key``, newest first."""
        with self.translate("ListMultipartUploads", key):
            response = self.client.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
        uploads = [u for u in response.get("Uploads", []) if u.get("Key") == key]
        uploads.sort(key=lambda u: u.get("Initiated", 0), reverse=True)
        return [str(u["UploadId"]) for u in uploads]

    def uploaded_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        """The parts an unfinished upload already holds."""
        parts: list[PartInfo] = []
        marker = 0
        while True:
            with self.translate("ListParts", key):
                response = self.client.list_parts(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
                )
            for part in response.get("Parts", []):
                parts.append(PartInfo(
                    number=int(part["PartNumber"]),
                    size=int(part["Size"]),
                    etag=str(part["ETag"]),
                    checksum_sha256=part.get("ChecksumSHA256"),
                ))
            if not response.get("IsTruncated"):
                return parts
            marker = int(response["NextPartNumberMarker"])

    def abort_multipart(self, key: str, upload_id: str) -> None:
        """Abort an unfinished upload of ``key`` that this run will not reuse."""
        with self.translate("AbortMultipartUpload", key):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
