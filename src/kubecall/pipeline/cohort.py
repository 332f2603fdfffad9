"""Cohort selection: which of the sheet's samples a run calls, applied wherever the sheet is read.

The workflow reads the sheet twice, at load time (to build the DAG) and in the preflight job
(to write the cohort manifest). Both go through :func:`load_cohort`, so the two can never
disagree about who is in the cohort.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kubecall.errors import KubecallError
from kubecall.pipeline.samplesheet import Sample, read_sample_sheet

# How a selection picks samples: the config value of cohort.select, and the sheet column
# (None: the sample name itself) that its list is matched against.
SELECT_COLUMNS: dict[str, str | None] = {
    "all": None,
    "populations": "population",
    "super_populations": "super_population",
    "groups": "group",
    "samples": None,
}


@dataclass(frozen=True)
class CohortSelection:
    """The config's ``cohort`` section: a mode and the names it keeps."""

    select: str = "all"
    names: tuple[str, ...] = ()

    @property
    def column(self) -> str | None:
        """The sheet column the names are matched against (None for all/samples)."""
        return SELECT_COLUMNS[self.select]

    def describe(self) -> str:
        """Human-readable form for logs and messages."""
        if self.select == "all":
            return "all samples"
        return f"{self.select}: {', '.join(self.names)}"


def selection_from_config(cohort: Mapping[str, object] | None) -> CohortSelection:
    """Build the selection from the (schema-validated) ``cohort`` config section.

    The schema fills defaults and requires a non-empty list for the chosen mode; this checks
    what it cannot: that the lists of the modes not chosen are empty, so a forgotten
    ``select:`` does not silently call every sample.
    """
    cohort = dict(cohort or {})
    select = str(cohort.get("select", "all"))
    if select not in SELECT_COLUMNS:
        raise KubecallError(
            f"cohort.select is {select!r}; use one of {', '.join(SELECT_COLUMNS)}"
        )
    lists = {mode: _names(cohort.get(mode)) for mode in SELECT_COLUMNS if mode != "all"}
    stray = [mode for mode, names in lists.items() if names and mode != select]
    if stray:
        raise KubecallError(
            f"cohort.{stray[0]} is set but cohort.select is {select!r}, so it would be "
            f"ignored; set 'select: {stray[0]}' or remove the list"
        )
    names = lists.get(select, ())
    if select != "all" and not names:
        raise KubecallError(
            f"cohort.select is {select!r} but cohort.{select} is empty; list the "
            f"{select.replace('_', '-')} to call"
        )
    return CohortSelection(select, names)


def _names(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(name) for name in value)  # type: ignore[union-attr]


def select_samples(
    samples: Sequence[Sample], selection: CohortSelection, sheet: Path | str = "sample sheet"
) -> list[Sample]:
    """The samples the selection keeps, in sheet order; every unmatched name is an error."""
    if selection.select == "all":
        return list(samples)
    if selection.select == "samples":
        present = {sample.name for sample in samples}
        wanted = set(selection.names)
        _refuse_unmatched(selection, [n for n in selection.names if n not in present],
                          sorted(present), sheet)
        return [sample for sample in samples if sample.name in wanted]
    column = selection.column
    assert column is not None
    values = {sample.name: sample.extra.get(column, "") for sample in samples}
    if not any(values.values()):
        raise KubecallError(
            f"{sheet}: cohort.select is {selection.select!r} but the sheet has no "
            f"'{column}' values; add a '{column}' column (see config/README.md) or "
            f"change cohort.select"
        )
    present = sorted(set(values.values()) - {""})
    _refuse_unmatched(selection, [n for n in selection.names if n not in present], present, sheet)
    wanted = set(selection.names)
    return [sample for sample in samples if values[sample.name] in wanted]


def _refuse_unmatched(
    selection: CohortSelection, unmatched: list[str], present: list[str], sheet: Path | str
) -> None:
    if not unmatched:
        return
    what = selection.column or "sample"
    shown = ", ".join(present[:30]) + (" …" if len(present) > 30 else "")
    raise KubecallError(
        f"cohort.{selection.select} names {', '.join(map(repr, unmatched))}, which match(es) "
        f"no sample in {sheet} by '{what}'; the sheet has: {shown}. Fix the spelling in the "
        f"config or add the samples to the sheet"
    )


def load_cohort(
    sheet: Path, schema: Path, cohort: Mapping[str, object] | None, config_key: str = "samples"
) -> list[Sample]:
    """Read and validate the sheet, then apply the config's cohort selection.

    The single entry point for both the workflow's load time and the preflight job.
    """
    selection = selection_from_config(cohort)
    return select_samples(read_sample_sheet(sheet, schema, config_key), selection, sheet)


def groups(samples: Sequence[Sample], column: str = "group") -> dict[str, list[Sample]]:
    """Samples by the value of ``column`` (default ``group``), groups in first-seen order.

    For calling modes that call each group jointly; every sample must have a value.
    """
    missing = [f"{s.name} (line {s.line})" for s in samples if not s.extra.get(column)]
    if missing:
        raise KubecallError(
            f"sample(s) {', '.join(missing[:10])}{' …' if len(missing) > 10 else ''} have "
            f"no '{column}' value; fill the '{column}' column for every selected sample"
        )
    by_group: dict[str, list[Sample]] = {}
    for sample in samples:
        by_group.setdefault(sample.extra[column], []).append(sample)
    return by_group


# Call-set names become file names and wildcard values: keep them to safe characters.
CALLSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def callsets(samples: Sequence[Sample], mode: str, group_by: str = "group") -> dict[str, list[str]]:
    """Call-set name -> sample names (sheet order) for a calling mode.

    ``joint`` has one call set, ``cohort``; ``per_group`` one per value of ``group_by``
    (``group-<value>``); ``per_sample`` one per sample (``sample-<name>``).
    """
    if mode == "joint":
        return {"cohort": [s.name for s in samples]}
    if mode == "per_sample":
        return {f"sample-{s.name}": [s.name] for s in samples}
    if mode != "per_group":
        raise KubecallError(f"calling.mode is {mode!r}; use joint, per_group or per_sample")
    sets: dict[str, list[str]] = {}
    for value, members in groups(samples, group_by).items():
        if not CALLSET_NAME.match(value):
            raise KubecallError(
                f"{group_by} value {value!r} (sample {members[0].name}, sheet line "
                f"{members[0].line}) cannot name a call set; use letters, digits, '.', '_', '-'"
            )
        sets[f"group-{value}"] = [s.name for s in members]
    return sets
