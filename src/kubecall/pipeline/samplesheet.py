"""Read and validate the sample sheet.

TSV with a header: sample, alignment[, index], optional population, super_population, group,
and more columns allowed; lines starting with ``#`` are comments.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from kubecall.errors import KubecallError
from kubecall.pipeline.config import load_schema

# The sheet schema's sample-name rule (workflow/schemas/samples.schema.yaml, tested equal).
SAMPLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Sample:
    """One row of the sheet; paths are resolved against the sheet's own directory."""

    name: str
    alignment: Path
    index: Path | None
    line: int
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_cram(self) -> bool:
        """Whether the alignment is CRAM (decoded with the reference)."""
        return self.alignment.suffix == ".cram"

    @property
    def population(self) -> str | None:
        """The ``population`` column (e.g. GBR), when the sheet has one."""
        return self.extra.get("population") or None

    @property
    def super_population(self) -> str | None:
        """The ``super_population`` column (e.g. EUR), when the sheet has one."""
        return self.extra.get("super_population") or None

    @property
    def group(self) -> str | None:
        """The ``group`` column (any label for calling or selecting samples together)."""
        return self.extra.get("group") or None


def read_sample_sheet(path: Path, schema_path: Path, config_key: str = "samples") -> list[Sample]:
    """Parse and validate the sheet; every problem is reported with its line number.

    Relative alignment and index paths are taken relative to the sheet's directory, so a
    sheet and its data can move together. Lines starting with ``#`` are comments.
    """
    if not path.is_file():
        raise KubecallError(
            f"sample sheet {path} (config key '{config_key}') not found; create it as a TSV "
            f"with columns 'sample' and 'alignment' (optional 'index'), or point "
            f"'{config_key}' at an existing sheet"
        )
    schema = load_schema(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    # jsonschema takes ~0.1 ms a row: 0.3 s for 2,504 samples, paid at every snakemake start,
    # i.e. by the driver and again by each of thousands of cluster jobs. The compiled check
    # says the same "valid" in microseconds; jsonschema still explains every invalid row.
    valid = compile_check(schema) or validator.is_valid
    with open(path, newline="") as handle:
        rows = [(n, line) for n, line in enumerate(handle, 1) if line.strip()]
    data = [(n, line) for n, line in rows if not line.startswith("#")]
    if not data:
        raise KubecallError(f"{path}: the sample sheet is empty; add a header and one row a sample")
    header_line, *body = data
    header = next(csv.reader([header_line[1]], delimiter="\t"))
    missing = [column for column in ("sample", "alignment") if column not in header]
    if missing:
        raise KubecallError(
            f"{path}:{header_line[0]}: header lacks column(s) {', '.join(missing)}; "
            f"the first non-comment line must name the columns, tab-separated"
        )
    problems: list[str] = []
    samples: list[Sample] = []
    first_line: dict[str, int] = {}
    for lineno, line in body:
        values = next(csv.reader([line.rstrip("\r\n")], delimiter="\t"))
        if len(values) != len(header):
            problems.append(f"{path}:{lineno}: {len(values)} columns, header has {len(header)}")
            continue
        row = {key: value for key, value in zip(header, values, strict=True) if value != ""}
        errors = [] if valid(row) else sorted(validator.iter_errors(row),
                                              key=lambda e: list(map(str, e.path)))
        if errors:
            problems += [f"{path}:{lineno}: {_describe(error)}" for error in errors]
            continue
        name = row["sample"]
        if name in first_line:
            problems.append(
                f"{path}:{lineno}: sample {name!r} is listed again (first on line "
                f"{first_line[name]}); sample names must be unique"
            )
            continue
        first_line[name] = lineno
        samples.append(_sample_from_row(row, path.parent, lineno))
    if problems:
        raise KubecallError("invalid sample sheet:\n  " + "\n  ".join(problems))
    if not samples:
        raise KubecallError(f"{path}: the sample sheet has a header but no samples")
    return samples


# Keywords that never make an instance invalid.
_ANNOTATIONS = frozenset({"$schema", "$comment", "title", "description", "default", "examples"})
_TYPES: Mapping[str, type] = {"string": str, "object": dict}


def compile_check(schema: Any) -> Callable[[Any], bool] | None:
    """``instance -> valid?`` equal to Draft 2020-12 validation (jsonschema's keyword
    semantics) for the keywords the sheet's schema uses: type (string, object), pattern,
    maxLength, required, properties, additionalProperties, if/then/else, annotations.
    None when the schema uses any other keyword: then jsonschema alone must decide.
    """
    if isinstance(schema, bool):
        return lambda instance: schema
    if not isinstance(schema, dict):
        return None
    checks = []
    for keyword, value in schema.items():
        if keyword in _ANNOTATIONS or keyword in ("then", "else"):  # then/else: under "if"
            continue
        check = _compile_keyword(keyword, value, schema)
        if check is None:
            return None
        checks.append(check)
    if len(checks) == 1:
        return checks[0]

    def every(instance: Any) -> bool:
        for check in checks:
            if not check(instance):
                return False
        return True
    return every


def _compile_keyword(keyword: str, value: Any, schema: dict) -> Callable[[Any], bool] | None:
    if keyword == "type":
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not all(name in _TYPES for name in names):
            return None
        types = tuple(_TYPES[name] for name in names)
        return lambda instance: isinstance(instance, types)
    if keyword == "pattern" and isinstance(value, str):
        search = re.compile(value).search  # jsonschema: re.search, anywhere in the string
        return lambda instance: not isinstance(instance, str) or search(instance) is not None
    if keyword == "maxLength" and isinstance(value, int) and not isinstance(value, bool):
        return lambda instance: not isinstance(instance, str) or len(instance) <= value
    if keyword == "required" and isinstance(value, list):
        return lambda instance: not isinstance(instance, dict) or all(
            key in instance for key in value)
    if keyword == "properties" and isinstance(value, dict):
        compiled = {key: compile_check(subschema) for key, subschema in value.items()}
        if any(check is None for check in compiled.values()):
            return None
        items = list(compiled.items())

        def each_property(instance: Any) -> bool:
            if isinstance(instance, dict):
                for key, check in items:
                    if key in instance and not check(instance[key]):
                        return False
            return True
        return each_property
    if keyword == "additionalProperties":
        extra = compile_check(value)
        known = set(schema.get("properties", {}))
        if extra is None or "patternProperties" in schema:
            return None
        return lambda instance: not isinstance(instance, dict) or all(
            extra(item) for key, item in instance.items() if key not in known)
    if keyword == "if":
        condition, then, otherwise = (compile_check(schema.get(key, True))
                                      for key in ("if", "then", "else"))
        if condition is None or then is None or otherwise is None:
            return None
        return lambda instance: then(instance) if condition(instance) else otherwise(instance)
    return None


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(part) for part in error.path) or "row"
    return f"column {where}: {error.message}"


def _sample_from_row(row: dict[str, str], base: Path, lineno: int) -> Sample:
    alignment = base / row["alignment"]
    index = base / row["index"] if "index" in row else None
    extra = {k: v for k, v in row.items() if k not in ("sample", "alignment", "index")}
    return Sample(row["sample"], alignment, index, lineno, extra)
