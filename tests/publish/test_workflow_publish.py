"""The workflow on the demo cohort with publishing on ends with a verified run in the bucket."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kubecall.layout import DELIVERABLES
from kubecall.publish.publishing import PublishSettings, verify_run
from tests.conftest import REPO
from tests.publish.conftest import SENTINELS, S3Env

pytestmark = pytest.mark.workflow


def run(workdir: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
         "--profile", str(REPO / "profiles/local"), "--directory", str(workdir),
         "--cores", "2", *extra],
        capture_output=True, text=True, check=False,
    )


def test_demo_run_is_published_verified_and_idempotent(s3: S3Env, tmp_path: Path) -> None:
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "resources/demo", tmp_path / "resources/demo")
    config = yaml.safe_load((tmp_path / "config/config.yaml").read_text())
    config["publish"] = {"enabled": True, "endpoint": s3.endpoint, "bucket": s3.bucket,
                         "prefix": "cohorts/demo", "create_bucket": True}
    (tmp_path / "config/config.yaml").write_text(yaml.safe_dump(config))

    first = run(tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    receipt = json.loads((tmp_path / "results/publish/receipt.json").read_text())
    run_id = json.loads((tmp_path / "results/run.json").read_text())["run_id"]
    url = f"s3://{s3.bucket}/cohorts/demo/{run_id}"
    assert receipt["url"] == url
    prefix = f"cohorts/demo/{run_id}/"
    assert s3.keys() == sorted(prefix + name for name in (
        "_SUCCESS", "manifest.json", *DELIVERABLES.values()))
    settings = PublishSettings.from_config(config["publish"])
    assert verify_run(url, settings).ok
    # the published page names where it goes; the one rendered after publishing, the receipt
    published = s3.admin.get_object(Bucket=s3.bucket, Key=prefix + "report.html")
    assert published["Body"].read() == (tmp_path / "results/report.html").read_bytes()
    assert url in (tmp_path / "results/report.html").read_text()
    after = (tmp_path / "results/publish/report.html").read_text()
    assert url in after and "Published and verified" in after
    assert receipt["manifest_sha256"] in after

    # _SUCCESS is the last object written
    puts = [r.path for r in s3.proxy.requests("PUT")]
    assert puts[-1].endswith("/_SUCCESS") and puts[-2].endswith("/manifest.json")

    # publishing again (forced) finds the finished run and uploads nothing
    before = s3.proxy.put_bytes()
    again = run(tmp_path, "--forcerun", "publish_results")
    assert again.returncode == 0, again.stderr[-3000:]
    assert s3.proxy.put_bytes() == before
    # nor does a re-rendered report: the page leaves out the timings of its own rules (which
    # exist only after a page), so the same run renders the same bytes
    page = (tmp_path / "results/report.html").read_bytes()
    rendered = run(tmp_path, "--forcerun", "render_report")
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    assert (tmp_path / "results/report.html").read_bytes() == page
    assert s3.proxy.put_bytes() == before

    # credentials never reach logs, outputs or the published objects
    texts = [first.stdout, first.stderr, again.stdout, again.stderr, rendered.stderr]
    texts += [p.read_text(errors="replace") for p in (tmp_path / "logs").rglob("*.log")]
    texts += [p.read_text(errors="replace") for p in (tmp_path / "results").rglob("*.json")]
    texts += [p.read_text(errors="replace") for p in (tmp_path / "results").rglob("*.html")]
    for secret in SENTINELS:
        assert not any(secret in text for text in texts)
