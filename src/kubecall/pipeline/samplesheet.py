"""Read and validate the sample sheet.

TSV with a header: sample, alignment[, index], optional population, super_population, group,
and more columns allowed; lines starting with ``#`` are comments.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kubecall.errors import KubecallError
from kubecall.pipeline.config import load_schema
from kubecall.pipeline.schema_check import compile_check

if TYPE_CHECKING:
    import jsonschema

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
    # jsonschema would take 0.3 s for 2,504 rows, at every snakemake start (the driver's and
    # each cluster job's): the compiled check says "valid" in microseconds, and jsonschema
    # is imported only to explain an invalid row (kubecall.pipeline.schema_check).
    valid = compile_check(schema)
    validator: jsonschema.Draft202012Validator | None = None
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
        errors = []
        if valid is None or not valid(row):
            validator = validator or _validator(schema)
            errors = sorted(validator.iter_errors(row), key=lambda e: list(map(str, e.path)))
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


def _validator(schema: dict) -> jsonschema.Draft202012Validator:
    import jsonschema

    return jsonschema.Draft202012Validator(schema)


def _describe(error: jsonschema.ValidationError) -> str:
    where = ".".join(str(part) for part in error.path) or "row"
    return f"column {where}: {error.message}"


def _sample_from_row(row: dict[str, str], base: Path, lineno: int) -> Sample:
    alignment = base / row["alignment"]
    index = base / row["index"] if "index" in row else None
    extra = {k: v for k, v in row.items() if k not in ("sample", "alignment", "index")}
    return Sample(row["sample"], alignment, index, lineno, extra)
