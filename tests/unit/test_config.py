"""Config and sample-sheet validation: every violation named with its key or line."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubecall.errors import KubecallError
from kubecall.pipeline.config import load_schema, validate_config
from kubecall.pipeline.samplesheet import read_sample_sheet
from tests.conftest import REPO, SCHEMAS, write_sheet

CONFIG_SCHEMA = SCHEMAS / "config.schema.yaml"
SAMPLES_SCHEMA = SCHEMAS / "samples.schema.yaml"


def minimal() -> dict:
    return {"reference": "ref.fa", "samples": "samples.tsv"}


def test_defaults_are_filled() -> None:
    config = minimal()
    validate_config(config, CONFIG_SCHEMA, "c.yaml")
    assert config["regions"] == {"strategy": "balanced", "count": 32, "targets": "",
                                 "padding": 50, "batches": 0, "weight_samples": 32}
    assert config["calling"]["extra"] == ""
    assert config["calling"]["region_time_budget"] == 0
    assert config["publish"]["enabled"] is False


def test_bundled_config_is_valid() -> None:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    validate_config(config, CONFIG_SCHEMA, "config/config.yaml")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"regionz": {}}, r"c.yaml: \(top level\): Additional properties are not allowed "
                          r"\('regionz' was unexpected\); remove it or check its spelling"),
        ({"regions": {"count": "8"}}, r"c.yaml: regions.count: '8' is not of type 'integer'"),
        ({"regions": {"count": 0}}, r"regions.count: 0 is less than the minimum of 1"),
        ({"regions": {"strategy": "random"}}, r"regions.strategy: 'random' is not one of"),
        ({"reference": "ref.fa.gz"}, r"reference: 'ref.fa.gz' does not match"),
        ({"samples": None}, r"samples: None is not of type 'string'"),
    ],
)
def test_schema_violations_name_the_key(change: dict, expected: str) -> None:
    config = minimal() | change
    with pytest.raises(KubecallError, match=expected):
        validate_config(config, CONFIG_SCHEMA, "c.yaml")


def test_all_violations_are_reported_together() -> None:
    config = minimal() | {"regions": {"count": 0, "strategy": "x"}, "bogus": 1}
    with pytest.raises(KubecallError) as caught:
        validate_config(config, CONFIG_SCHEMA, "c.yaml")
    assert str(caught.value).count("c.yaml:") == 3


@pytest.mark.parametrize("schema", [CONFIG_SCHEMA, SAMPLES_SCHEMA])
def test_every_schema_property_is_described(schema: Path) -> None:
    def walk(node: dict, where: str) -> list[str]:
        missing = []
        for key, sub in node.get("properties", {}).items():
            if "description" not in sub:
                missing.append(f"{where}.{key}")
            missing += walk(sub, f"{where}.{key}")
        return missing

    assert walk(load_schema(schema), "") == []


def test_sheet_paths_resolve_against_the_sheet_directory(tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "s.tsv",
                        [("A", "bams/a.bam"), ("B", "/abs/b.cram")])
    samples = read_sample_sheet(sheet, SAMPLES_SCHEMA)
    assert [s.alignment for s in samples] == [tmp_path / "bams" / "a.bam", Path("/abs/b.cram")]
    assert samples[1].is_cram and not samples[0].is_cram


def test_sheet_comments_extra_columns_and_index(tmp_path: Path) -> None:
    sheet = tmp_path / "s.tsv"
    sheet.write_text("# a cohort\nsample\talignment\tindex\tpopulation\n"
                     "# a comment\nA\ta.bam\tidx/a.bai\tGBR\n")
    (sample,) = read_sample_sheet(sheet, SAMPLES_SCHEMA)
    assert sample.index == tmp_path / "idx" / "a.bai"
    assert sample.extra == {"population": "GBR"}
    assert sample.line == 4


def test_duplicate_sample_names_name_both_lines(tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "s.tsv", [("A", "a.bam"), ("B", "b.bam"), ("A", "c.bam")])
    with pytest.raises(KubecallError, match=r"s.tsv:4: sample 'A' is listed again \(first on "
                                            r"line 2\); sample names must be unique"):
        read_sample_sheet(sheet, SAMPLES_SCHEMA)


@pytest.mark.parametrize(
    ("rows", "header", "expected"),
    [
        ([("A", "a.sam")], (), r"s.tsv:2: column alignment: 'a.sam' does not match"),
        ([("A B", "a.bam")], (), r"s.tsv:2: column sample: 'A B' does not match"),
        ([("A", "a.bam", "a.idx")], (), r"s.tsv:2: column index: 'a.idx' does not match"),
        ([("A", "a.bam")], ("sample", "bam"), r"header lacks column\(s\) alignment"),
        ([("A",)], ("sample", "alignment"), r"s.tsv:2: 1 columns, header has 2"),
    ],
)
def test_bad_sheet_rows_are_named(rows: list, header: tuple, expected: str,
                                  tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "s.tsv", rows, header)
    with pytest.raises(KubecallError, match=expected):
        read_sample_sheet(sheet, SAMPLES_SCHEMA)


def test_missing_sheet_says_which_key_points_at_it(tmp_path: Path) -> None:
    with pytest.raises(KubecallError, match=r"sample sheet .*nope.tsv \(config key 'samples'\) "
                                            r"not found"):
        read_sample_sheet(tmp_path / "nope.tsv", SAMPLES_SCHEMA)
