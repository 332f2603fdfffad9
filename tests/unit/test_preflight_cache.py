"""Preflight at scale: headers read in parallel and cached by (path, size, mtime)."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kubecall.errors import KubecallError
from kubecall.pipeline.preflight import preflight, run_preflight
from kubecall.pipeline.regions import read_fai
from kubecall.pipeline.samplesheet import read_sample_sheet
from tests.conftest import SCHEMAS, write_sheet


@pytest.fixture
def cohort(na12878: dict[str, Path], tmp_path: Path) -> dict:
    """Six real alignments: the BAM, the CRAM and four BAM copies with their own SM."""
    subprocess.run(["samtools", "index", str(na12878["cram"])], check=True)
    rows = [("1", str(na12878["cram"]))]
    for n in range(5):
        bam = tmp_path / f"s{n}.bam"
        subprocess.run(["samtools", "addreplacerg", "-r", f"ID:s{n}\tSM:s{n}", "-o", str(bam),
                        str(na12878["bam"])], check=True)
        subprocess.run(["samtools", "index", str(bam)], check=True)
        rows.append((f"s{n}", str(bam)))
    sheet = write_sheet(tmp_path / "samples.tsv", rows)
    return {"sheet": sheet, "ref": na12878["ref"], "cache": tmp_path / "cache" / "headers.json"}


def check(cohort: dict, **options):
    samples = read_sample_sheet(cohort["sheet"], SCHEMAS / "samples.schema.yaml")
    contigs = read_fai(Path(f"{cohort['ref']}.fai"))
    return run_preflight(samples, cohort["ref"], contigs, cache=cohort["cache"], **options)


def test_second_run_reads_no_header(cohort: dict) -> None:
    first = check(cohort, threads=2)
    assert (first.stats.checked, first.stats.read, first.stats.cached) == (6, 6, 0)
    second = check(cohort, threads=2)
    assert (second.stats.read, second.stats.cached) == (0, 6)
    assert second.infos == first.infos


def test_cached_file_is_not_opened(cohort: dict, tmp_path: Path) -> None:
    """Garbage with the same size and mtime passes: proof the file was not read again."""
    check(cohort)
    bam = tmp_path / "s2.bam"
    stat = bam.stat()
    bam.write_bytes(b"\0" * stat.st_size)
    os.utime(bam, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = check(cohort)
    assert (again.stats.read, again.stats.cached) == (0, 6)


def test_changed_file_is_read_again(cohort: dict, tmp_path: Path) -> None:
    check(cohort)
    bam = tmp_path / "s3.bam"
    # another mtime alone (same size) invalidates the entry (earlier: the index stays newer)
    os.utime(bam, ns=(bam.stat().st_atime_ns, bam.stat().st_mtime_ns - 2 * 10**9))
    assert check(cohort).stats.read == 1
    # a different size with the same mtime is damage that must be seen, not cached
    mtime = bam.stat().st_mtime_ns
    with open(bam, "ab") as handle:
        handle.write(b"junk")
    os.utime(bam, ns=(mtime, mtime))
    with pytest.raises(KubecallError, match="s3.bam: EOF marker is absent"):
        check(cohort)


def test_cache_does_not_hide_a_sheet_change(cohort: dict, tmp_path: Path) -> None:
    """Facts are about files; the sheet's expectations are checked on every run."""
    check(cohort)
    sheet = cohort["sheet"]
    sheet.write_text(sheet.read_text().replace("s4\t", "renamed\t"))
    with pytest.raises(KubecallError, match="read-group sample is 's4' but the sheet says"):
        check(cohort)


def test_unreadable_cache_is_rebuilt(cohort: dict) -> None:
    cohort["cache"].parent.mkdir(parents=True)
    cohort["cache"].write_text("{not json")
    assert check(cohort).stats.read == 6
    assert check(cohort).stats.cached == 6


def test_progress_is_logged(cohort: dict, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="kubecall.pipeline.preflight"):
        check(cohort, progress_every=2)
    progress = [r.getMessage() for r in caplog.records if "alignments checked" in r.message]
    assert progress == [f"preflight: {n}/6 alignments checked" for n in (2, 4, 6)]


def test_preflight_keeps_its_signature_and_order(cohort: dict, tmp_path: Path) -> None:
    shutil.rmtree(cohort["cache"].parent, ignore_errors=True)
    samples = read_sample_sheet(cohort["sheet"], SCHEMAS / "samples.schema.yaml")
    infos = preflight(samples, cohort["ref"], read_fai(Path(f"{cohort['ref']}.fai")),
                      threads=3)
    assert [i.sample for i in infos] == ["1", "s0", "s1", "s2", "s3", "s4"]
    assert not cohort["cache"].exists()  # no cache unless asked for
