"""``python -m kubecall.publish.bucket``: create the S3 bucket, waiting for the endpoint to answer.

Run by the bootstrap's bucket Job; credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
(the MinIO Secret). Idempotent: an existing bucket of ours is fine.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from kubecall.errors import KubecallError
from kubecall.publish.s3 import ClientSettings, S3Bucket, load_credentials


def create_bucket(endpoint: str, bucket: str, wait_seconds: float) -> bool:
    """Create ``bucket``; True when it was created, False when it already existed."""
    target = S3Bucket(ClientSettings(endpoint=endpoint, max_attempts=2, connect_timeout=3),
                      bucket, load_credentials())
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            if target.bucket_exists():
                return False
            target.create()
            return True
        except KubecallError:
            # MinIO may still be starting; the Job's backoffLimit covers longer outages.
            if time.monotonic() >= deadline:
                raise
            time.sleep(1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubecall.publish.bucket", description=__doc__)
    parser.add_argument("--endpoint", required=True, help="S3 endpoint, e.g. http://minio:9000")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--wait", type=float, default=60,
                        help="seconds to keep retrying while the endpoint does not answer")
    args = parser.parse_args(argv)
    try:
        created = create_bucket(args.endpoint, args.bucket, args.wait)
    except KubecallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"bucket {args.bucket} {'created' if created else 'already exists'} at {args.endpoint}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
