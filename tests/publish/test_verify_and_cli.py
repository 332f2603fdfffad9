"""``kubecall verify`` and ``kubecall publish`` from the command line, and secret hygiene."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest

from kubecall import cli
from kubecall.publish.publishing import (
    PublishSettings,
    deliverables,
    publish_run,
    publish_workflow_results,
    verify_run,
)
from kubecall.publish.s3 import b64_sha256
from kubecall.publish.upload import RUN_ID_METADATA, SHA256_METADATA
from tests.publish.conftest import SENTINELS, S3Env, write_run_dir


@pytest.fixture
def kubecall(capsys: pytest.CaptureFixture[str]):  # noqa: ANN201
    """Run ``kubecall`` through cli.main; returns (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_rerun_uploads_only_missing_or_wrong_objects(s3: S3Env, tmp_path: Path) -> None:
    files = deliverables(write_run_dir(tmp_path))
    base = "runs/demo/run-1"
    s3.admin.create_bucket(Bucket=s3.bucket)
    # An earlier, interrupted publication of this run left some objects (with the metadata it
    # writes): two right, one with wrong bytes.
    for name in ("calls/cohort.vcf.gz.tbi", "run.json", "stats/cohort.stats.txt"):
        data = files[name].read_bytes()
        body = b"truncated" if name == "stats/cohort.stats.txt" else data
        s3.admin.put_object(Bucket=s3.bucket, Key=f"{base}/{name}", Body=body,
                            Metadata={SHA256_METADATA: hashlib.sha256(data).hexdigest(),
                                      RUN_ID_METADATA: "run-1"})

    result = publish_run(files, s3.settings(), "run-1")

    actions = {o.name: o.action for o in result.objects}
    assert actions == {
        "calls/cohort.vcf.gz": "uploaded", "calls/cohort.vcf.gz.tbi": "skipped",
        "regions/regions.bed": "uploaded", "report.html": "uploaded", "run.json": "skipped",
        "regions/batches.tsv": "uploaded", "qc/region_runtimes.tsv": "uploaded",
        "qc/runaway_regions.tsv": "uploaded",
        "stats/cohort.stats.txt": "uploaded", "manifest.json": "uploaded", "_SUCCESS": "uploaded",
    }
    kept = ("calls/cohort.vcf.gz.tbi", "run.json")
    assert result.skipped_bytes == sum(files[name].stat().st_size for name in kept)
    assert s3.proxy.put_bytes() == result.uploaded_bytes
    assert verify_run(result.url, s3.settings()).ok


def test_verify_catches_a_corrupted_and_a_missing_object(
    s3: S3Env, tmp_path: Path, checksum_mode: str, kubecall
) -> None:
    files = deliverables(write_run_dir(tmp_path))
    result = publish_run(files, s3.settings(checksum_mode=checksum_mode), "run-1")
    url = result.url
    connection = ["--endpoint", s3.endpoint, "--checksum-mode", checksum_mode,
                  "--max-attempts", "2"]

    code, out, err = kubecall("verify", url, *connection)
    assert (code, err) == (0, "")
    assert f"verified {url}: 9 objects match the manifest" in out

    # Silent corruption: same size, same metadata, different bytes.
    key = "runs/demo/run-1/stats/cohort.stats.txt"
    original = files["stats/cohort.stats.txt"].read_bytes()
    flipped = bytes([original[0] ^ 0x01]) + original[1:]
    s3.admin.put_object(Bucket=s3.bucket, Key=key, Body=flipped,
                        Metadata={"sha256": hashlib.sha256(original).hexdigest()})
    s3.admin.delete_object(Bucket=s3.bucket, Key="runs/demo/run-1/run.json")
    # Corruption the server's own checksum does not match (moto stores checksums unchecked).
    index = files["calls/cohort.vcf.gz.tbi"].read_bytes()
    s3.admin.put_object(Bucket=s3.bucket, Key="runs/demo/run-1/calls/cohort.vcf.gz.tbi",
                        Body=index[:-1] + b"\0", ChecksumSHA256=b64_sha256(
                            hashlib.sha256(index).digest()),
                        Metadata={"sha256": hashlib.sha256(index).hexdigest()})

    code, out, err = kubecall("verify", url, *connection, "--json")
    assert code == 2
    assert err.startswith(f"error: {url} failed verification")
    assert "stats/cohort.stats.txt mismatch" in err and "run.json missing" in err
    statuses = {o["name"]: o["status"] for o in json.loads(out)["objects"]}
    assert statuses["stats/cohort.stats.txt"] == "mismatch"
    assert statuses["run.json"] == "missing"
    assert statuses["calls/cohort.vcf.gz.tbi"] == "mismatch"
    assert statuses["calls/cohort.vcf.gz"] == "ok"


def test_verify_reports_an_unfinished_run(s3: S3Env, tmp_path: Path, kubecall) -> None:
    files = deliverables(write_run_dir(tmp_path))
    result = publish_run(files, s3.settings(), "run-1")
    s3.admin.delete_object(Bucket=s3.bucket, Key="runs/demo/run-1/_SUCCESS")

    code, _, err = kubecall("verify", result.url, "--endpoint", s3.endpoint)

    assert code == 2 and "no _SUCCESS" in err


def test_cli_publish_writes_a_receipt_and_keeps_secrets_out(
    s3: S3Env, tmp_path: Path, kubecall, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # everything kubecall logs; botocore must stay at WARNING
    for name in ("botocore", "boto3", "urllib3"):  # as an unconfigured application leaves them
        logging.getLogger(name).setLevel(logging.NOTSET)
    run_dir = write_run_dir(tmp_path / "run")
    receipt = tmp_path / "results" / "publish" / "receipt.json"
    args = ["publish", str(run_dir), "--run-id", "2026-11-28_demo", "--endpoint", s3.endpoint,
            "--bucket", s3.bucket, "--prefix", "runs", "--create-bucket", "--receipt",
            str(receipt), "--max-attempts", "2"]

    code, out, err = kubecall(*args)
    rerun_code, rerun_out, rerun_err = kubecall(*args)
    bad_code, _, bad_err = kubecall("verify", f"s3://{s3.bucket}/runs/nope",
                                    "--endpoint", "http://127.0.0.1:9", "--max-attempts", "1")

    assert (code, rerun_code, bad_code) == (0, 0, 2)
    assert f"published s3://{s3.bucket}/runs/2026-11-28_demo: uploaded 11 objects" in out
    assert "uploaded 0 objects (0 bytes), skipped 10" in rerun_out
    assert bad_err.startswith("error: cannot reach S3 endpoint http://127.0.0.1:9")
    document = json.loads(receipt.read_text())
    assert document["url"] == f"s3://{s3.bucket}/runs/2026-11-28_demo"
    assert document["uploaded_bytes"] == 0 and document["already_complete"] is True
    assert logging.getLogger("botocore").getEffectiveLevel() == logging.WARNING
    stored = b"".join(
        s3.admin.get_object(Bucket=s3.bucket, Key=key)["Body"].read()
        + json.dumps(s3.admin.head_object(Bucket=s3.bucket, Key=key)["Metadata"]).encode()
        for key in s3.keys()
    )
    seen = "\n".join([out, err, rerun_out, rerun_err, bad_err, caplog.text, receipt.read_text(),
                      stored.decode("latin-1")])
    assert caplog.text  # the logs were captured, so their cleanliness means something
    for sentinel in SENTINELS:
        assert sentinel not in seen


def test_cli_publish_dry_run_contacts_no_server(s3: S3Env, tmp_path: Path, kubecall) -> None:
    run_dir = write_run_dir(tmp_path)

    code, out, _ = kubecall("publish", str(run_dir), "--run-id", "r1", "--endpoint", s3.endpoint,
                            "--bucket", s3.bucket, "--dry-run")

    assert code == 0
    assert out.count("planned") == 9 and "dry run for" in out
    assert s3.proxy.requests() == []


def test_cli_publish_rejects_a_bad_run_id_and_a_missing_deliverable(
    s3: S3Env, tmp_path: Path, kubecall
) -> None:
    run_dir = write_run_dir(tmp_path)
    common = ["--endpoint", s3.endpoint, "--bucket", s3.bucket]

    code, _, err = kubecall("publish", str(run_dir), "--run-id", "../escape", *common)
    assert code == 2 and "invalid run id '../escape'" in err

    (run_dir / "results" / "calls" / "cohort.vcf.gz.tbi").unlink()
    code, _, err = kubecall("publish", str(run_dir), "--run-id", "r1", *common)
    assert code == 2 and "missing deliverable(s)" in err and "cohort.vcf.gz.tbi" in err
    assert s3.proxy.requests() == []




def test_publish_help_has_examples(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("publish", "verify"):
        with pytest.raises(SystemExit) as exit_info:
            cli.main([command, "--help"])
        assert exit_info.value.code == 0
        out = capsys.readouterr().out
        assert "examples:" in out and f"kubecall {command} " in out


def test_workflow_entry_point_publishes_from_the_config_section(s3: S3Env, tmp_path: Path) -> None:
    run_dir = write_run_dir(tmp_path)
    receipt = run_dir / "results" / "publish" / "receipt.json"
    section = {"enabled": True, "endpoint": s3.endpoint, "bucket": s3.bucket, "prefix": "kc",
               "create_bucket": True, "checksum_mode": "when_required", "max_attempts": 2}

    result = publish_workflow_results(run_dir, section, "demo-1", receipt)

    assert json.loads(receipt.read_text())["url"] == result.url == f"s3://{s3.bucket}/kc/demo-1"
    assert verify_run(result.url, PublishSettings.from_config(section)).ok
