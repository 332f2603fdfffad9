"""The compiled schema check says exactly what jsonschema says: sheet rows and configs."""

from __future__ import annotations

import copy
import itertools
import subprocess
import sys

import jsonschema
import pytest
import yaml

from kubecall.pipeline.config import load_schema
from kubecall.pipeline.schema_check import compile_check
from tests.conftest import REPO, SCHEMAS

SAMPLES = load_schema(SCHEMAS / "samples.schema.yaml")
CONFIG = load_schema(SCHEMAS / "config.schema.yaml")


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


def configs() -> list[dict]:
    """The bundled config, then one change at a time: values of each kind for each key
    (1.0 and True for integers, duplicates in lists, publish on with a short bucket...)."""
    base = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    values = [None, True, False, 0, 1, -1, 1.0, 1.5, 10**7, "", "x", "8", [], ["a"], ["a", "a"],
              [1, 1.0], [True, 1], {}, {"x": 1}]
    keys: list[tuple[str, ...]] = [(key,) for key in CONFIG["properties"]]
    for section, schema in CONFIG["properties"].items():
        keys += [(section, key) for key in schema.get("properties", {})]
    found = [base, {}, {"reference": "r.fa"}, {"reference": "r.fa", "samples": "s", "x": 1}]
    for path, value in itertools.product(keys, values):
        config = copy.deepcopy(base)
        node = config
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
        found.append(config)
    for bucket in ("", "ab", "abc", "a.b-c", "ABC"):
        found.append(base | {"publish": {"enabled": True, "bucket": bucket}})
    return found


@pytest.mark.parametrize("schema", [SAMPLES, CONFIG], ids=["samples", "config"])
def test_the_shipped_schemas_compile(schema: dict) -> None:
    # None would leave every check to jsonschema: correct, but slow to import and to run.
    assert compile_check(schema) is not None


@pytest.mark.parametrize(("schema", "instances"), [(SAMPLES, rows()), (CONFIG, configs())],
                         ids=["samples", "config"])
def test_the_check_agrees_with_jsonschema(schema: dict, instances: list) -> None:
    check = compile_check(schema)
    assert check is not None
    validator = jsonschema.Draft202012Validator(schema)
    assert {check(instance) for instance in instances} == {True, False}
    disagree = [i for i in instances if check(i) != validator.is_valid(i)]
    assert disagree == []


@pytest.mark.parametrize(("schema", "instances"), [
    (True, [{}, "x"]),
    (False, [{}, "x"]),
    ({"type": ["string", "object"]}, ["x", {}, 1, None]),
    ({"type": "integer"}, [1, 1.0, 1.5, True, "1", None]),
    ({"type": "number"}, [1, 1.5, True, "1"]),
    ({"type": ["null", "boolean", "array"]}, [None, False, [], 0, ""]),
    ({"enum": ["a", "b"]}, ["a", "c", 1, None, ["a"]]),
    ({"const": True}, [True, 1, 1.0, "true", False]),
    ({"const": "a"}, ["a", "b", 1]),
    ({"minimum": 1, "maximum": 2.5}, [0, 1, 2.5, 3, 1.0, True, "5"]),
    ({"minLength": 2, "maxLength": 3}, ["a", "ab", "abcd", 12345]),
    ({"maxLength": 0}, ["", "a", {}]),
    ({"pattern": "b"}, ["abc", "a", 1]),
    ({"required": ["a"], "description": "d", "default": {}}, [{"a": 1}, {}, "a"]),
    ({"additionalProperties": False, "properties": {"a": {}}}, [{"a": 1}, {"b": 1}, "x"]),
    ({"items": {"type": "string"}}, [[], ["a"], ["a", 1], "a"]),
    ({"items": False}, [[], [1]]),
    ({"uniqueItems": True}, [["a", "b"], ["a", "a"], [1, 1.0], [1, True], [[1], [1]], "aa"]),
    ({"uniqueItems": False}, [["a", "a"]]),
    ({"then": {"type": "object"}}, ["x"]),
    ({"if": {"properties": {"a": {"pattern": "^x"}}}, "else": False},
     [{"a": "xy"}, {"a": "yx"}, {}]),
])
def test_each_keyword_as_jsonschema(schema: object, instances: list) -> None:
    check = compile_check(schema)
    assert check is not None
    validator = jsonschema.Draft202012Validator(schema)
    assert [check(i) for i in instances] == [validator.is_valid(i) for i in instances]


@pytest.mark.parametrize("schema", [
    {"type": "any"}, {"$ref": "#/$defs/x"}, {"enum": ["a", 1]}, {"const": 1},
    {"properties": {"a": {"format": "email"}}}, {"patternProperties": {"^a": {}}},
    {"additionalProperties": {"type": "string"}, "patternProperties": {"^a": {}}},
    {"items": {}, "prefixItems": [{}]}, {"minLength": -1}, {"minimum": "1"},
    {"if": {"multipleOf": 2}}, "not a schema",
])
def test_any_other_keyword_leaves_it_to_jsonschema(schema: object) -> None:
    assert compile_check(schema) is None


def test_a_valid_config_and_sheet_do_not_import_jsonschema(tmp_path) -> None:
    sheet = tmp_path / "samples.tsv"
    sheet.write_text("sample\talignment\tindex\nA\ta.bam\ta.bam.bai\nB\tb.cram\tb.cram.crai\n")
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from kubecall.pipeline.cohort import load_cohort\n"
        "from kubecall.pipeline.config import validate_config\n"
        f"config = {{'reference': 'r.fa', 'samples': {str(sheet)!r}}}\n"
        f"validate_config(config, Path({str(SCHEMAS / 'config.schema.yaml')!r}), 'c')\n"
        f"load_cohort(Path(config['samples']), Path({str(SCHEMAS / 'samples.schema.yaml')!r}),"
        " config['cohort'])\n"
        "print('jsonschema' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "False"
