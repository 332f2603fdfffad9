"""Call sets per calling mode: names, membership, refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubecall.errors import KubecallError
from kubecall.pipeline.cohort import callsets
from kubecall.pipeline.samplesheet import Sample


def sample(name: str, line: int, **extra: str) -> Sample:
    return Sample(name, Path(f"{name}.bam"), None, line, dict(extra))


COHORT = [sample("A1", 2, group="GBR"), sample("B1", 3, group="FIN"),
          sample("A2", 4, group="GBR")]


def test_joint_is_one_call_set_named_cohort() -> None:
    assert callsets(COHORT, "joint") == {"cohort": ["A1", "B1", "A2"]}


def test_per_group_keeps_sheet_order_within_groups() -> None:
    assert callsets(COHORT, "per_group") == {"group-GBR": ["A1", "A2"], "group-FIN": ["B1"]}


def test_per_sample_is_one_call_set_each() -> None:
    assert list(callsets(COHORT, "per_sample")) == ["sample-A1", "sample-B1", "sample-A2"]


def test_group_values_that_cannot_name_files_are_refused() -> None:
    odd = [sample("A1", 2, population="GBR/x")]
    with pytest.raises(KubecallError, match=r"population value 'GBR/x' \(sample A1, sheet "
                                            r"line 2\) cannot name a call set"):
        callsets(odd, "per_group", "population")


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(KubecallError, match="calling.mode is 'pooled'"):
        callsets(COHORT, "pooled")
