"""Cohort selection: by population, super-population, group or name, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubecall.errors import KubecallError
from kubecall.pipeline.cohort import groups, load_cohort, select_samples, selection_from_config
from kubecall.pipeline.samplesheet import read_sample_sheet
from tests.conftest import SCHEMAS, write_sheet

SCHEMA = SCHEMAS / "samples.schema.yaml"
HEADER = ("sample", "alignment", "population", "super_population", "group")
ROWS = [
    ("HG00096", "HG00096.bam", "GBR", "EUR", "batch1"),
    ("HG00171", "HG00171.cram", "FIN", "EUR", "batch2"),
    ("NA18486", "NA18486.bam", "YRI", "AFR", "batch1"),
    ("NA18939", "NA18939.bam", "JPT", "EAS", ""),
    ("HG00097", "HG00097.bam", "GBR", "EUR", "batch2"),
]


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    return write_sheet(tmp_path / "samples.tsv", ROWS, HEADER)


def names(samples) -> list[str]:
    return [sample.name for sample in samples]


@pytest.mark.parametrize(("cohort", "expected"), [
    ({}, ["HG00096", "HG00171", "NA18486", "NA18939", "HG00097"]),
    ({"select": "all"}, ["HG00096", "HG00171", "NA18486", "NA18939", "HG00097"]),
    ({"select": "populations", "populations": ["GBR", "YRI"]},
     ["HG00096", "NA18486", "HG00097"]),
    ({"select": "super_populations", "super_populations": ["EUR"]},
     ["HG00096", "HG00171", "HG00097"]),
    ({"select": "groups", "groups": ["batch2"]}, ["HG00171", "HG00097"]),
    # sheet order wins over the order of the list
    ({"select": "samples", "samples": ["HG00097", "NA18939"]}, ["NA18939", "HG00097"]),
])
def test_selection_keeps_matching_samples_in_sheet_order(sheet: Path, cohort: dict,
                                                        expected: list[str]) -> None:
    assert names(load_cohort(sheet, SCHEMA, cohort)) == expected


@pytest.mark.parametrize(("cohort", "expected"), [
    ({"select": "populations", "populations": ["GBR", "XYZ"]},
     r"'XYZ'.*match\(es\) no sample .* by 'population'; the sheet has: FIN, GBR, JPT, YRI"),
    ({"select": "samples", "samples": ["HG00096", "HG99999"]}, r"'HG99999'.* by 'sample'"),
    ({"select": "groups", "groups": []}, "cohort.groups is empty"),
    ({"select": "all", "populations": ["GBR"]},
     "cohort.populations is set but cohort.select is 'all'"),
    ({"select": "families"}, "use one of all, populations"),
])
def test_selection_errors_name_the_key_and_the_fix(sheet: Path, cohort: dict,
                                                   expected: str) -> None:
    with pytest.raises(KubecallError, match=expected):
        load_cohort(sheet, SCHEMA, cohort)


def test_selecting_by_a_column_the_sheet_lacks(tmp_path: Path) -> None:
    plain = write_sheet(tmp_path / "plain.tsv", [("S1", "S1.bam")])
    with pytest.raises(KubecallError, match="the sheet has no 'group' values; add a 'group'"):
        load_cohort(plain, SCHEMA, {"select": "groups", "groups": ["g"]})


def test_optional_columns_are_typed_properties(sheet: Path) -> None:
    first, *_, jpt, _last = read_sample_sheet(sheet, SCHEMA)
    assert (first.population, first.super_population, first.group) == ("GBR", "EUR", "batch1")
    assert jpt.group is None  # an empty cell is no value


def test_groups_in_first_seen_order_and_missing_groups_refused(sheet: Path) -> None:
    samples = load_cohort(sheet, SCHEMA, {"select": "groups", "groups": ["batch1", "batch2"]})
    assert {g: names(s) for g, s in groups(samples).items()} == {
        "batch1": ["HG00096", "NA18486"], "batch2": ["HG00171", "HG00097"]}
    assert list(groups(samples, "population")) == ["GBR", "FIN", "YRI"]
    with pytest.raises(KubecallError, match=r"NA18939 \(line 5\) have no 'group' value"):
        groups(read_sample_sheet(sheet, SCHEMA))


def test_select_samples_is_pure(sheet: Path) -> None:
    samples = read_sample_sheet(sheet, SCHEMA)
    selection = selection_from_config({"select": "populations", "populations": ["FIN"]})
    assert names(select_samples(samples, selection)) == ["HG00171"]
    assert len(samples) == 5
    assert selection.describe() == "populations: FIN"
