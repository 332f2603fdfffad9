"""``kubecall publish`` and ``kubecall verify``: the CLI of :mod:`kubecall.publish.publishing`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from kubecall.errors import KubecallError
from kubecall.publish.publishing import (
    PublishSettings,
    deliverables,
    parse_run_url,
    publish_run,
    verify_run,
)
from kubecall.publish.s3 import quiet_library_loggers

PUBLISH_EPILOG = """credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)
from the environment, or --credentials-dir with files AWS_ACCESS_KEY_ID+AWS_SECRET_ACCESS_KEY,
accesskey+secretkey or rootUser+rootPassword (a mounted MinIO Secret). Never on the command line.

examples:
  kubecall publish . --run-id 2026-11-28_demo --endpoint http://minio:9000 --bucket kubecall \\
      --prefix runs --create-bucket
  kubecall publish /workspace/runs/demo --run-id demo --endpoint http://127.0.0.1:9000 \\
      --bucket results --credentials-dir /var/run/secrets/minio --receipt receipt.json
  kubecall publish . --run-id demo --endpoint http://minio:9000 --bucket kubecall --dry-run
"""

VERIFY_EPILOG = """examples:
  kubecall verify s3://kubecall/runs/2026-11-28_demo --endpoint http://minio:9000
  kubecall verify s3://results/demo --endpoint http://127.0.0.1:9000 --json
"""


def _add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", required=True, help="S3 endpoint URL, e.g. http://minio:9000")
    parser.add_argument("--region", default="us-east-1", help="signing region (default us-east-1)")
    parser.add_argument("--addressing-style", choices=("path", "virtual", "auto"), default="path",
                        help="bucket addressing (default path, what MinIO expects)")
    parser.add_argument("--checksum-mode", choices=("when_supported", "when_required"),
                        default="when_supported",
                        help="botocore request/response checksum setting (default when_supported)")
    parser.add_argument("--credentials-dir", type=Path, default=None,
                        help="directory of credential files mounted from a Secret")
    parser.add_argument("--max-attempts", type=int, default=5,
                        help="attempts per request, with backoff, before giving up (default 5)")


# The publishing concern's commands (see kubecall.cluster.cli for the shape).
VERB_MODULES: tuple[str, ...] = ("kubecall.publish.cli",)
EXAMPLES = """\
  kubecall publish . --run-id demo-1 --endpoint http://minio:9000 --bucket kubecall
  kubecall verify s3://kubecall/runs/ID --endpoint http://127.0.0.1:9000
"""


def register(subparsers: Any) -> None:
    """Add the ``publish`` and ``verify`` sub-commands."""
    publish = subparsers.add_parser(
        "publish",
        help="upload a finished run's deliverables to S3, verified, with manifest and _SUCCESS",
        description="Upload results/ deliverables of RUN_DIR to s3://BUCKET/PREFIX/RUN_ID/, "
        "verify every object by SHA-256, then write manifest.json and _SUCCESS (never "
        "overwriting a finished run). Rerunning uploads only what is missing or wrong.",
        epilog=PUBLISH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    publish.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                         help="workflow directory holding results/")
    publish.add_argument("--run-id", required=True, help="run name under the prefix")
    publish.add_argument("--bucket", required=True, help="bucket name")
    publish.add_argument("--prefix", default="", help="key prefix above the run id")
    _add_connection_arguments(publish)
    publish.add_argument("--create-bucket", action="store_true",
                         help="create the bucket if it does not exist (never deleted)")
    publish.add_argument("--replace-foreign", action="store_true",
                         help="replace objects under the run's prefix that this run did not "
                         "write (by default they are refused)")
    publish.add_argument("--multipart-threshold-mb", type=float, default=64,
                         help="files this large or larger use multipart upload (default 64)")
    publish.add_argument("--part-size-mb", type=float, default=16,
                         help="multipart part size, at least 5 (default 16)")
    publish.add_argument("--receipt", type=Path, default=None,
                         help="write the publication receipt (JSON) here")
    publish.add_argument("--dry-run", action="store_true",
                         help="hash the files and show the plan; contact no server")
    publish.set_defaults(func=run_publish)

    verify = subparsers.add_parser(
        "verify",
        help="re-read a published run and check it against its manifest",
        description="Download every object of a published run, hash it and compare it with "
        "manifest.json; checks that _SUCCESS vouches for that manifest. Exits non-zero on "
        "any missing or mismatching object.",
        epilog=VERIFY_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("url", metavar="s3://BUCKET/PREFIX/RUN_ID", help="the run to verify")
    _add_connection_arguments(verify)
    verify.add_argument("--json", action="store_true", help="print the result as JSON")
    verify.set_defaults(func=run_verify)


def _configure_logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    quiet_library_loggers()


def run_publish(args: argparse.Namespace) -> int:
    """``kubecall publish``."""
    _configure_logging()
    settings = PublishSettings(
        endpoint=args.endpoint, bucket=args.bucket, prefix=args.prefix, region=args.region,
        addressing_style=args.addressing_style, create_bucket=args.create_bucket,
        multipart_threshold_mb=args.multipart_threshold_mb, part_size_mb=args.part_size_mb,
        checksum_mode=args.checksum_mode, credentials_dir=args.credentials_dir,
        max_attempts=args.max_attempts, replace_foreign=args.replace_foreign,
    )
    result = publish_run(deliverables(args.run_dir), settings, args.run_id, dry_run=args.dry_run)
    if args.receipt:
        result.write_json(args.receipt)
    for obj in result.objects:
        print(f"{obj.action:9} {obj.size:>12}  {obj.sha256}  {obj.name}")
    state = "dry run for" if result.dry_run else "published"
    print(f"{state} {result.url}: uploaded {result.uploaded_objects} objects "
          f"({result.uploaded_bytes} bytes), skipped {result.skipped_objects} "
          f"({result.skipped_bytes} bytes)")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """``kubecall verify``."""
    _configure_logging()
    bucket, _, _ = parse_run_url(args.url)
    settings = PublishSettings(
        endpoint=args.endpoint, bucket=bucket, region=args.region,
        addressing_style=args.addressing_style, checksum_mode=args.checksum_mode,
        credentials_dir=args.credentials_dir, max_attempts=args.max_attempts,
    )
    result = verify_run(args.url, settings)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, sort_keys=True))
    else:
        for check in result.objects:
            note = f"  ({check.detail})" if check.detail else ""
            print(f"{check.status:8} {check.name}{note}")
    if not result.ok:
        bad = [f"{c.name} {c.status}" for c in result.objects if c.status != "ok"]
        raise KubecallError(f"{args.url} failed verification: " + "; ".join(result.problems + bad))
    print(f"verified {args.url}: {len(result.objects)} objects match the manifest")
    return 0
