"""The sheet's compiled validity check says exactly what jsonschema says, row by row."""

from __future__ import annotations

import itertools

import jsonschema
import pytest

from kubecall.pipeline.config import load_schema
from kubecall.pipeline.samplesheet import compile_check
from tests.conftest import SCHEMAS

SCHEMA = load_schema(SCHEMAS / "samples.schema.yaml")


def rows() -> list[dict[str, str]]:
    """Valid and invalid rows: every column's edge cases, the index kind against the
    alignment kind, missing required columns, extra columns."""
    names = ["HG00096", "a.b-c_1", "-lead", "", "x" * 128, "x" * 129, "é", "a b"]
    alignments = ["a.bam", "d/a.cram", "a.sam", "a.bam.txt", "a.CRAM", None]
    indexes = [None, "a.bai", "a.csi", "a.crai", "a.bam.bai", "a.txt"]
    labels = [None, "GBR", "G B", "x" * 64, "x" * 65, "_x"]
    found = []
    for name, alignment, index, label in itertools.product(names, alignments, indexes, labels):
        row = {"sample": name}
        for key, value in (("alignment", alignment), ("index", index), ("population", label),
                           ("super_population", label), ("group", label)):
            if value is not None:
                row[key] = value
        found.append(row)
    found += [{"alignment": "a.bam"}, {}, {"sample": "A", "alignment": "a.bam", "sex": "F"}]
    return found


def test_the_shipped_schema_compiles() -> None:
    # None would make every sheet row go through jsonschema: correct, ~50x slower.
    assert compile_check(SCHEMA) is not None


def test_the_check_agrees_with_jsonschema_on_every_row() -> None:
    check = compile_check(SCHEMA)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    cases = rows()
    assert {check(row) for row in cases} == {True, False}
    disagree = [row for row in cases if check(row) != validator.is_valid(row)]
    assert disagree == []


@pytest.mark.parametrize("schema, instances", [
    (True, [{}, "x"]),
    (False, [{}, "x"]),
    ({"type": ["string", "object"]}, ["x", {}, 1, None]),
    ({"additionalProperties": False, "properties": {"a": {}}}, [{"a": 1}, {"b": 1}, "x"]),
    ({"then": {"type": "object"}}, ["x"]),
    ({"if": {"properties": {"a": {"pattern": "^x"}}}, "else": False},
     [{"a": "xy"}, {"a": "yx"}, {}]),
    ({"maxLength": 0}, ["", "a", {}]),
    ({"required": ["a"], "description": "d", "default": {}}, [{"a": 1}, {}, "a"]),
])
def test_each_keyword_as_jsonschema(schema: object, instances: list) -> None:
    check = compile_check(schema)
    assert check is not None
    validator = jsonschema.Draft202012Validator(schema)
    assert [check(i) for i in instances] == [validator.is_valid(i) for i in instances]


@pytest.mark.parametrize("schema", [
    {"minLength": 1}, {"type": "integer"}, {"$ref": "#/$defs/x"}, {"enum": ["a"]},
    {"properties": {"a": {"format": "email"}}}, {"patternProperties": {"^a": {}}},
    {"additionalProperties": {"type": "string"}, "patternProperties": {"^a": {}}},
    {"if": {"const": 1}}, "not a schema",
])
def test_any_other_keyword_leaves_it_to_jsonschema(schema: object) -> None:
    assert compile_check(schema) is None
