"""Safety and error reporting: finished runs, foreign objects, buckets, throttling, endpoints."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from kubecall.errors import KubecallError
from kubecall.publish.publishing import PublishSettings, deliverables, publish_run, verify_run
from tests.publish.conftest import SENTINEL_SECRET, SENTINELS, S3Env, write_run_dir
from tests.support.s3server import free_port


def test_finished_run_is_never_overwritten(s3: S3Env, tmp_path: Path) -> None:
    files = deliverables(write_run_dir(tmp_path))
    settings = s3.settings()
    publish_run(files, settings, "run-1")
    success_before = s3.admin.get_object(Bucket=s3.bucket, Key="runs/demo/run-1/_SUCCESS")[
        "Body"].read()
    files["stats/cohort.stats.txt"].write_bytes(b"different statistics\n")
    s3.proxy.reset()

    changed = (r"already published.*stats/cohort\.stats\.txt.*new run id \(publish\.run_id in "
               r"the workflow's config, --run-id for kubecall publish\)")
    with pytest.raises(KubecallError, match=changed):
        publish_run(files, settings, "run-1")

    assert [s for s in s3.proxy.requests() if s.method in ("PUT", "POST", "DELETE")] == []
    success_after = s3.admin.get_object(Bucket=s3.bucket, Key="runs/demo/run-1/_SUCCESS")[
        "Body"].read()
    assert success_after == success_before


def test_objects_this_run_did_not_write_are_refused_or_replaced(s3: S3Env,
                                                                 tmp_path: Path) -> None:
    s3.admin.create_bucket(Bucket=s3.bucket)
    inside = ["runs/demo/run-1/notes.txt", "runs/demo/run-1/report.html"]  # a key of ours too
    outside = ["runs/demo/other-run/_SUCCESS", "unrelated.txt", "runs/demo/run-10/x"]
    for key in inside + outside:
        s3.admin.put_object(Bucket=s3.bucket, Key=key, Body=b"not kubecall's")
    files = deliverables(write_run_dir(tmp_path))
    s3.proxy.reset()

    refused = (r"runs/demo/run-1 holds 2 object\(s\) this run did not write \(notes\.txt, "
               r"report\.html\); nothing was uploaded.*publish\.run_id.*"
               r"publish\.replace_foreign: true \(--replace-foreign\)")
    with pytest.raises(KubecallError, match=refused):
        publish_run(files, s3.settings(), "run-1")
    assert [r for r in s3.proxy.requests() if r.method in ("PUT", "POST", "DELETE")] == []

    result = publish_run(files, s3.settings(replace_foreign=True), "run-1")
    assert "runs/demo/run-1/notes.txt" not in s3.keys()
    report = s3.admin.get_object(Bucket=s3.bucket, Key="runs/demo/run-1/report.html")
    assert report["Body"].read() == files["report.html"].read_bytes()
    assert set(outside) <= set(s3.keys())
    assert verify_run(result.url, s3.settings()).ok
    # A rerun finds only its own objects and uploads nothing.
    again = publish_run(files, s3.settings(), "run-1")
    assert again.already_complete and again.uploaded_objects == 0


def test_verify_reports_objects_added_under_a_published_run(s3: S3Env, tmp_path: Path) -> None:
    files = deliverables(write_run_dir(tmp_path))
    result = publish_run(files, s3.settings(), "run-1")
    s3.admin.put_object(Bucket=s3.bucket, Key="runs/demo/run-1/calls/extra.vcf.gz", Body=b"x")
    check = verify_run(result.url, s3.settings())
    assert not check.ok
    assert check.problems == ["1 object(s) under the run are not in its manifest: "
                              "calls/extra.vcf.gz"]


def test_missing_bucket_is_an_error_unless_create_bucket(s3: S3Env, tmp_path: Path) -> None:
    files = deliverables(write_run_dir(tmp_path))

    with pytest.raises(KubecallError) as failure:
        publish_run(files, s3.settings(create_bucket=False), "run-1")

    message = str(failure.value)
    assert f"bucket {s3.bucket} does not exist" in message
    assert s3.endpoint in message and "create_bucket" in message
    assert s3.bucket not in [b["Name"] for b in s3.admin.list_buckets()["Buckets"]]

    publish_run(files, s3.settings(create_bucket=True), "run-1")
    assert "runs/demo/run-1/_SUCCESS" in s3.keys()


def test_throttling_gives_up_after_bounded_retries(s3: S3Env, tmp_path: Path) -> None:
    files = deliverables(write_run_dir(tmp_path))
    s3.admin.create_bucket(Bucket=s3.bucket)
    s3.proxy.throttle_methods = {"PUT"}

    with pytest.raises(KubecallError) as failure:
        publish_run(files, s3.settings(max_attempts=3), "run-1")

    message = str(failure.value)
    key = "runs/demo/run-1/calls/cohort.vcf.gz"
    assert "throttling" in message and "SlowDown" in message and "3 attempts" in message
    assert s3.endpoint in message and f"s3://{s3.bucket}/{key}" in message
    assert len(s3.proxy.requests("PUT")) == 3  # bounded: exactly max_attempts tries
    assert s3.keys() == []


def test_unreachable_endpoint_names_endpoint_bucket_and_fix(tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    settings = PublishSettings(endpoint=endpoint, bucket="results", max_attempts=2)

    with pytest.raises(KubecallError) as failure:
        publish_run(deliverables(write_run_dir(tmp_path)), settings, "run-1")

    message = str(failure.value)
    assert message.startswith(f"cannot reach S3 endpoint {endpoint}")
    assert "bucket results" in message and "publish.endpoint" in message
    assert not any(s in message for s in SENTINELS)


@dataclass(frozen=True)
class AuthServer:
    endpoint: str
    access_key: str  # a real IAM user's key, with no policy attached
    secret_key: str


@pytest.fixture(scope="module")
def authenticating_server() -> Iterator[AuthServer]:
    """moto in a subprocess with request authentication on, and one IAM user without policy."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        # The first two requests (creating the user and its key) are let through unchecked.
        env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "2"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.05)
    endpoint = f"http://127.0.0.1:{port}"
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
    iam.create_user(UserName="publisher")
    key = iam.create_access_key(UserName="publisher")["AccessKey"]
    yield AuthServer(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    server.terminate()
    server.wait(timeout=10)


@pytest.mark.parametrize(
    ("credentials", "expected"),
    [
        ("sentinel", "rejected the credentials (InvalidAccessKeyId)"),
        ("wrong-secret", "rejected the credentials (SignatureDoesNotMatch)"),
        ("no-policy", "access denied on ListObjectsV2 bucket results"),
    ],
)
def test_bad_credentials_are_reported_without_the_secret(
    authenticating_server: AuthServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    credentials: str, expected: str,
) -> None:
    secrets = list(SENTINELS)
    if credentials != "sentinel":
        secret = SENTINEL_SECRET if credentials == "wrong-secret" else (
            authenticating_server.secret_key)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", authenticating_server.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
        monkeypatch.delenv("AWS_SESSION_TOKEN")
        secrets += [authenticating_server.access_key, authenticating_server.secret_key]
    settings = PublishSettings(endpoint=authenticating_server.endpoint, bucket="results",
                               max_attempts=1)

    with pytest.raises(KubecallError) as failure:
        publish_run(deliverables(write_run_dir(tmp_path)), settings, "run-1")

    message = str(failure.value)
    assert expected in message and authenticating_server.endpoint in message
    assert not any(s in message for s in secrets)
