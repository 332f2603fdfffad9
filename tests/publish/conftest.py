"""Fixtures: moto's S3 server on loopback behind a recording proxy, sentinel credentials."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from kubecall.publish.publishing import PublishSettings
from tests.support.s3server import RecordingProxy

# Credentials the code under test uses; they must never show up in any output.
SENTINEL_ACCESS_KEY = "AKIASENTINEL7Q2X9ACCESS"
SENTINEL_SECRET = "sentinel-SECRET-9f3b2c1d-do-not-log"
SENTINEL_TOKEN = "sentinel-TOKEN-77aa11bb-do-not-log"
SENTINELS = (SENTINEL_ACCESS_KEY, SENTINEL_SECRET, SENTINEL_TOKEN)

CHECKSUM_MODES = ("when_supported", "when_required")
_bucket_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[tuple[str, int]]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield host, port
    server.stop()


@pytest.fixture(autouse=True)
def sentinel_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only these credentials are in the environment; no profile or config file can interfere."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE",
                 "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SENTINEL_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SENTINEL_SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SENTINEL_TOKEN)


@pytest.fixture(params=CHECKSUM_MODES)
def checksum_mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@dataclass
class S3Env:
    """A fresh bucket name, the proxy in front of moto, and a direct client for inspection."""

    proxy: RecordingProxy
    admin: Any  # boto3 S3 client straight to moto (bypasses the proxy: not counted)
    bucket: str

    @property
    def endpoint(self) -> str:
        return self.proxy.endpoint

    def settings(self, **overrides: Any) -> PublishSettings:
        values: dict[str, Any] = {
            "endpoint": self.endpoint, "bucket": self.bucket, "prefix": "runs/demo",
            "create_bucket": True, "max_attempts": 2,
        }
        values.update(overrides)
        return PublishSettings(**values)

    def keys(self) -> list[str]:
        response = self.admin.list_objects_v2(Bucket=self.bucket)
        return sorted(o["Key"] for o in response.get("Contents", []))


@pytest.fixture
def s3(moto_server: tuple[str, int]) -> Iterator[S3Env]:
    proxy = RecordingProxy(moto_server)
    proxy.start()
    admin = boto3.client(
        "s3", endpoint_url=f"http://{moto_server[0]}:{moto_server[1]}", region_name="us-east-1",
        aws_access_key_id="admin", aws_secret_access_key="admin",
        config=Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                      response_checksum_validation="when_required"),
    )
    yield S3Env(proxy, admin, f"kubecall-test-{next(_bucket_numbers)}")
    proxy.stop()


def write_run_dir(root: Path, vcf_bytes: int = 40_000, seed: int = 7) -> Path:
    """A finished run directory with every deliverable, deterministic content."""
    rng = random.Random(seed)
    results = root / "results"
    files = {
        "calls/cohort.vcf.gz": rng.randbytes(vcf_bytes),
        "calls/cohort.vcf.gz.tbi": rng.randbytes(2_000),
        "stats/cohort.stats.txt": b"SN\t0\tnumber of records:\t1234\n" * 50,
        "regions/regions.bed": b"chr22\t0\t1000000\nchr22\t1000000\t2000000\n",
        "regions/batches.tsv": b"region\tbatch\nr0001\tb001\nr0002\tb001\n",
        "qc/region_runtimes.tsv": b"region\tseconds\nr0001\t1.0\nr0002\t2.0\n",
        "qc/runaway_regions.tsv": b"region\thow\n",
        "run.json": b'{"run": "demo", "samples": 4}\n',
        "report.html": b"<html><body>report</body></html>\n",
    }
    for name, data in files.items():
        path = results / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root
