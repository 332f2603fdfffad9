"""Publication against moto's S3 server: order, integrity metadata, multipart, reruns."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from kubecall.errors import KubecallError
from kubecall.publish.publishing import deliverables, publish_run, verify_run
from tests.publish.conftest import S3Env, write_run_dir

MIB = 1024 * 1024


def sha256_hex(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def object_puts(env: S3Env) -> list[str]:
    """Keys of completed object writes (PutObject, CompleteMultipartUpload), in server order."""
    keys = []
    for seen in env.proxy.requests():
        single_put = seen.method == "PUT" and "partNumber" not in seen.query
        complete = seen.method == "POST" and "uploadId" in seen.query
        if (single_put or complete) and seen.status == 200 and seen.path != f"/{env.bucket}":
            keys.append(seen.path.split(f"/{env.bucket}/", 1)[1])
    return keys


def test_publish_writes_objects_then_manifest_then_success(
    s3: S3Env, tmp_path: Path, checksum_mode: str
) -> None:
    files = deliverables(write_run_dir(tmp_path))
    settings = s3.settings(checksum_mode=checksum_mode)

    result = publish_run(files, settings, "run-1")

    base = "runs/demo/run-1"
    order = object_puts(s3)
    assert order[-2:] == [f"{base}/manifest.json", f"{base}/_SUCCESS"]
    assert sorted(order[:-2]) == sorted(f"{base}/{name}" for name in files)
    for name, path in files.items():
        head = s3.admin.head_object(Bucket=s3.bucket, Key=f"{base}/{name}")
        assert head["Metadata"]["sha256"] == sha256_hex(path)
        assert head["ContentLength"] == path.stat().st_size
    manifest_bytes = s3.admin.get_object(Bucket=s3.bucket, Key=f"{base}/manifest.json")[
        "Body"].read()
    manifest = json.loads(manifest_bytes)
    assert {o["name"]: o["sha256"] for o in manifest["objects"]} == {
        name: sha256_hex(path) for name, path in files.items()}
    success = json.loads(
        s3.admin.get_object(Bucket=s3.bucket, Key=f"{base}/_SUCCESS")["Body"].read())
    assert success["manifest_sha256"] == hashlib.sha256(manifest_bytes).hexdigest()
    assert result.url == f"s3://{s3.bucket}/{base}"
    assert result.uploaded_objects == len(files) + 2
    # Bytes the server received in PUT bodies are exactly what the receipt claims.
    assert s3.proxy.put_bytes() == result.uploaded_bytes
    assert result.uploaded_bytes == (sum(p.stat().st_size for p in files.values())
                                     + len(manifest_bytes) + success_size(s3, base))
    assert verify_run(result.url, settings).ok


def success_size(env: S3Env, base: str) -> int:
    return int(env.admin.head_object(Bucket=env.bucket, Key=f"{base}/_SUCCESS")["ContentLength"])


def test_multipart_upload_and_rerun_uploads_nothing(
    s3: S3Env, tmp_path: Path, checksum_mode: str
) -> None:
    vcf_size = 11 * MIB + 12_345
    files = deliverables(write_run_dir(tmp_path, vcf_bytes=vcf_size))
    settings = s3.settings(checksum_mode=checksum_mode, multipart_threshold_mb=5, part_size_mb=5)
    key = "runs/demo/run-mp/calls/cohort.vcf.gz"

    first = publish_run(files, settings, "run-mp")

    parts = [s for s in s3.proxy.requests("PUT") if s.is_part]
    assert [int(s.query["partNumber"][0]) for s in parts] == [1, 2, 3]
    assert sum(s.body_bytes for s in parts) == vcf_size
    etag = s3.admin.head_object(Bucket=s3.bucket, Key=key)["ETag"]
    assert etag.strip('"').endswith("-3")
    # A multipart object's checksum is composite, so it was read back to verify it.
    assert any(s.path.endswith(key) for s in s3.proxy.requests("GET"))
    vcf_action = next(o for o in first.objects if o.name == "calls/cohort.vcf.gz")
    assert (vcf_action.action, vcf_action.reread) == ("uploaded", True)
    print(f"\nmultipart[{checksum_mode}]: first run PUTs={len(s3.proxy.requests('PUT'))} "
          f"put_bytes={s3.proxy.put_bytes()} parts={len(parts)}")

    s3.proxy.reset()
    second = publish_run(files, settings, "run-mp")

    writes = [s for s in s3.proxy.requests() if s.method in ("PUT", "POST", "DELETE")]
    assert writes == []
    assert second.uploaded_bytes == 0
    assert second.already_complete
    assert second.skipped_objects == len(files) + 1  # deliverables + manifest
    print(f"multipart[{checksum_mode}]: rerun PUTs={len(s3.proxy.requests('PUT'))} "
          f"put_bytes={s3.proxy.put_bytes()} requests={len(s3.proxy.requests())}")


def test_interrupted_multipart_upload_resumes_after_server_returns(
    s3: S3Env, tmp_path: Path, checksum_mode: str
) -> None:
    vcf_size = 11 * MIB + 999
    files = deliverables(write_run_dir(tmp_path, vcf_bytes=vcf_size))
    settings = s3.settings(checksum_mode=checksum_mode, multipart_threshold_mb=5, part_size_mb=5)
    base = "runs/demo/run-int"
    s3.proxy.stop_after_parts = 2  # the server goes away during part 3

    with pytest.raises(KubecallError) as failure:
        publish_run(files, settings, "run-int")

    message = str(failure.value)
    assert "cannot reach S3 endpoint" in message and s3.endpoint in message
    assert f"s3://{s3.bucket}/{base}/calls/cohort.vcf.gz" in message
    assert s3.admin.list_objects_v2(Bucket=s3.bucket, Prefix=f"{base}/_SUCCESS")["KeyCount"] == 0

    s3.proxy.stop_after_parts = None
    s3.proxy.reset()
    s3.proxy.start()  # same port: the server is back
    result = publish_run(files, settings, "run-int")

    vcf = next(o for o in result.objects if o.name == "calls/cohort.vcf.gz")
    assert vcf.action == "resumed"
    assert vcf.uploaded_bytes == vcf_size - 10 * MIB  # parts 1 and 2 were kept
    parts = [int(s.query["partNumber"][0]) for s in s3.proxy.requests("PUT") if s.is_part]
    assert parts == [3]
    assert s3.proxy.put_bytes() == result.uploaded_bytes
    assert verify_run(result.url, settings).ok
    print(f"\ninterrupt[{checksum_mode}]: rerun PUTs={len(s3.proxy.requests('PUT'))} "
          f"put_bytes={s3.proxy.put_bytes()} vcf_bytes_sent={vcf.uploaded_bytes}/{vcf_size}")


def test_resume_after_the_file_changed_still_publishes_the_new_file(
    s3: S3Env, tmp_path: Path
) -> None:
    vcf_size = 11 * MIB
    run_dir = write_run_dir(tmp_path, vcf_bytes=vcf_size)
    files = deliverables(run_dir)
    settings = s3.settings(multipart_threshold_mb=5, part_size_mb=5)
    s3.proxy.stop_after_parts = 1
    with pytest.raises(KubecallError, match="cannot reach S3 endpoint"):
        publish_run(files, settings, "run-chg")
    s3.proxy.stop_after_parts = None
    s3.proxy.start()
    # The workflow rewrote the call set: same first part, different tail.
    vcf = files["calls/cohort.vcf.gz"]
    data = vcf.read_bytes()
    vcf.write_bytes(data[: 6 * MIB] + bytes(b ^ 0xFF for b in data[6 * MIB :]))
    s3.proxy.reset()

    result = publish_run(files, settings, "run-chg")

    action = next(o for o in result.objects if o.name == "calls/cohort.vcf.gz")
    # The resumed upload carried the old file's SHA-256 metadata, so it was redone afresh.
    assert action.action == "uploaded"
    assert action.uploaded_bytes == (vcf_size - 5 * MIB) + vcf_size
    head = s3.admin.head_object(Bucket=s3.bucket, Key="runs/demo/run-chg/calls/cohort.vcf.gz")
    assert head["Metadata"]["sha256"] == sha256_hex(vcf)
    assert verify_run(result.url, settings).ok
    uploads = s3.admin.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", [])
    assert uploads == []  # nothing left half-done


def test_every_object_and_part_logs_a_progress_line(
    s3: S3Env, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    files = deliverables(write_run_dir(tmp_path, vcf_bytes=11 * MIB))
    settings = s3.settings(multipart_threshold_mb=5, part_size_mb=5)

    with caplog.at_level("INFO", logger="kubecall"):
        publish_run(files, settings, "run-progress")

    lines = [r.getMessage() for r in caplog.records]
    objects = [line for line in lines if line.startswith("object ")]
    assert [line.split(":", 1)[0] for line in objects] == [
        f"object {n}/{len(files)}" for n in range(1, len(files) + 1)]
    assert {line.split(": ", 1)[1].split(" (")[0] for line in objects} == set(files)
    parts = [line for line in lines if "calls/cohort.vcf.gz: part" in line]
    assert [line.split("part ")[1].split(" ")[0] for line in parts] == ["1/3", "2/3", "3/3"]
