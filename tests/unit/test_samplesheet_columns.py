"""Sample sheet: BAM and CRAM with their index kinds, optional cohort columns, comments."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubecall.errors import KubecallError
from kubecall.pipeline.samplesheet import read_sample_sheet
from tests.conftest import SCHEMAS

SCHEMA = SCHEMAS / "samples.schema.yaml"


def sheet_of(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "samples.tsv"
    path.write_text(text)
    return path


def test_bam_cram_index_kinds_and_comments(tmp_path: Path) -> None:
    sheet = sheet_of(tmp_path, (
        "# cohort of three\n"
        "sample\talignment\tindex\tpopulation\tsuper_population\tgroup\n"
        "# a comment between rows\n"
        "A\ta.bam\ta.bam.bai\tGBR\tEUR\tg1\n"
        "B\tb.bam\tidx/b.csi\t\t\t\n"
        "\n"
        "C\tc.cram\tc.cram.crai\tYRI\tAFR\tg2\n"
    ))
    a, b, c = read_sample_sheet(sheet, SCHEMA)
    assert (a.index, b.index, c.index) == (tmp_path / "a.bam.bai", tmp_path / "idx/b.csi",
                                           tmp_path / "c.cram.crai")
    assert [s.is_cram for s in (a, b, c)] == [False, False, True]
    assert (c.population, c.super_population, c.group) == ("YRI", "AFR", "g2")
    assert (b.population, b.group) == (None, None)
    assert [s.line for s in (a, b, c)] == [4, 5, 7]


@pytest.mark.parametrize(("row", "expected"), [
    ("A\ta.bam\ta.crai\tGBR", r":2: column index: 'a.crai' does not match"),
    ("A\ta.cram\ta.bai\tGBR", r":2: column index: 'a.bai' does not match '\\\\.crai\$'"),
    ("A\ta.sam\t\tGBR", r":2: column alignment: 'a.sam' does not match"),
    ("A\ta.bam\t\tGB R", r":2: column population: 'GB R' does not match"),
])
def test_mismatched_index_and_bad_labels_are_refused(tmp_path: Path, row: str,
                                                     expected: str) -> None:
    sheet = sheet_of(tmp_path, f"sample\talignment\tindex\tpopulation\n{row}\n")
    with pytest.raises(KubecallError, match=expected):
        read_sample_sheet(sheet, SCHEMA)
