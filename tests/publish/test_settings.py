"""Settings, credentials and client construction (no server needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubecall.errors import KubecallError
from kubecall.publish.manifest import (
    validate_object_name,
    validate_run_id,
)
from kubecall.publish.publishing import (
    PublishSettings,
    deliverables,
    parse_run_url,
)
from kubecall.publish.s3 import (
    ClientSettings,
    load_credentials,
    make_client,
)
from tests.conftest import REPO
from tests.publish.conftest import SENTINEL_SECRET, SENTINELS, write_run_dir

CONFIG = {
    "enabled": True, "endpoint": "http://minio:9000", "bucket": "kubecall", "prefix": "/runs/",
    "region": "eu-central-1", "addressing_style": "virtual", "create_bucket": True,
    "multipart_threshold_mb": 32, "part_size_mb": 8, "checksum_mode": "when_required",
    "credentials_dir": "/var/run/secrets/minio",
}


def test_from_config_reads_every_key() -> None:
    settings = PublishSettings.from_config(CONFIG)

    assert settings.prefix == "runs"
    assert settings.run_url("r1") == "s3://kubecall/runs/r1"
    assert settings.credentials_dir == Path("/var/run/secrets/minio")
    assert (settings.multipart_threshold, settings.part_size) == (32 * 2**20, 8 * 2**20)
    assert (settings.region, settings.addressing_style, settings.checksum_mode) == (
        "eu-central-1", "virtual", "when_required")


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"bucket": ""}, "publish.bucket is empty"),
        ({"bucket": "Bad_Bucket"}, "not a valid bucket name"),
        ({"endpoint": "minio:9000"}, "publish.endpoint"),
        ({"addressing_style": "dns"}, "publish.addressing_style"),
        ({"checksum_mode": "always"}, "publish.checksum_mode"),
        ({"part_size_mb": 1}, "part_size_mb 1 is outside"),
        ({"multipart_threshold_mb": 4}, "multipart_threshold_mb 4 is smaller"),
        ({"create_bucket": "yes"}, "create_bucket must be true or false"),
        ({"bukcet": "x"}, "unknown publish config key(s) bukcet"),
        ({"prefix": "runs/../x"}, "publish.prefix"),
    ],
)
def test_from_config_rejects_bad_values(override: dict[str, object], message: str) -> None:
    with pytest.raises(KubecallError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PublishSettings.from_config({**CONFIG, **override})


@pytest.mark.parametrize("run_id", ["2026-11-28_demo", "a", "run.1", "A" * 128])
def test_valid_run_ids(run_id: str) -> None:
    assert validate_run_id(run_id) == run_id


@pytest.mark.parametrize("run_id", ["", "..", "-lead", "a/b", "a b", "A" * 129, "rün"])
def test_invalid_run_ids(run_id: str) -> None:
    with pytest.raises(KubecallError, match="invalid run id"):
        validate_run_id(run_id)


@pytest.mark.parametrize("name", ["/abs", "a//b", "../x", "_SUCCESS", "manifest.json", "a/./b"])
def test_invalid_object_names(name: str) -> None:
    with pytest.raises(KubecallError, match="invalid object name"):
        validate_object_name(name)


def test_parse_run_url() -> None:
    assert parse_run_url("s3://b/p/q/run-1") == ("b", "p/q", "run-1")
    assert parse_run_url("s3://b/run-1/") == ("b", "", "run-1")
    with pytest.raises(KubecallError, match="not a run URL"):
        parse_run_url("https://b/run")


def test_deliverables_maps_results_and_names_what_is_missing(tmp_path: Path) -> None:
    run_dir = write_run_dir(tmp_path)
    assert set(deliverables(run_dir)) == {
        "calls/cohort.vcf.gz", "calls/cohort.vcf.gz.tbi", "stats/cohort.stats.txt",
        "regions/regions.bed", "regions/batches.tsv", "qc/region_runtimes.tsv",
        "qc/runaway_regions.tsv", "run.json", "report.html"}
    # a run stopped before its report did not finish: it is not published
    (run_dir / "results" / "report.html").unlink()
    with pytest.raises(KubecallError, match=r"did not finish: missing deliverable\(s\) "
                                            r".*results/report\.html; finish the workflow"):
        deliverables(run_dir)


def test_workflow_and_publish_share_one_deliverables_list() -> None:
    """rule all, the publish rule's inputs and kubecall publish all read kubecall.layout."""
    from kubecall.layout import DELIVERABLES

    common = (REPO / "workflow" / "rules" / "common.smk").read_text()
    assert "DELIVERABLES.items()" in common
    assert not any(f'"results/{path}"' in common for path in DELIVERABLES.values())


@pytest.mark.parametrize(
    ("key_file", "secret_file"),
    [("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), ("accesskey", "secretkey"),
     ("rootUser", "rootPassword")],
)
def test_credentials_from_a_mounted_secret(tmp_path: Path, key_file: str, secret_file: str) -> None:
    (tmp_path / key_file).write_text("minio-user\n")
    (tmp_path / secret_file).write_text(SENTINEL_SECRET + "\n")

    credentials = load_credentials(tmp_path, environ={})

    assert (credentials.access_key, credentials.secret_key) == ("minio-user", SENTINEL_SECRET)
    assert SENTINEL_SECRET not in repr(credentials)


def test_missing_credentials_say_where_to_put_them(tmp_path: Path) -> None:
    with pytest.raises(KubecallError, match="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"):
        load_credentials(None, environ={"AWS_ACCESS_KEY_ID": "only-the-key"})
    with pytest.raises(KubecallError, match="no credential files in"):
        load_credentials(tmp_path, environ={})


@pytest.mark.parametrize("mode", ["when_supported", "when_required"])
def test_client_has_explicit_checksum_retry_and_addressing_settings(mode: str) -> None:
    settings = ClientSettings(endpoint="http://127.0.0.1:9", addressing_style="virtual",
                              checksum_mode=mode, max_attempts=3)
    client = make_client(settings, load_credentials(None))
    config = client.meta.config

    assert config.request_checksum_calculation == mode
    assert config.response_checksum_validation == mode
    assert config.s3["addressing_style"] == "virtual"
    assert config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert all(s not in repr(config) for s in SENTINELS)
