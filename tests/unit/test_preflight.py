"""Preflight on real NA12878 files: good inputs pass, each kind of damage is named."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubecall.errors import KubecallError
from kubecall.pipeline.preflight import preflight, write_manifest
from kubecall.pipeline.regions import read_fai
from kubecall.pipeline.samplesheet import read_sample_sheet
from tests.conftest import SCHEMAS, write_sheet
from tests.support.damage import PREFLIGHT_CASES


def run_preflight(config: dict):
    samples = read_sample_sheet(Path(config["samples"]), SCHEMAS / "samples.schema.yaml")
    contigs = read_fai(Path(f"{config['reference']}.fai"))
    return preflight(samples, Path(config["reference"]), contigs)


@pytest.mark.parametrize("case", sorted(PREFLIGHT_CASES))
def test_damage_is_named_with_its_fix(case: str, na12878: dict[str, Path],
                                      tmp_path: Path) -> None:
    config, expected = PREFLIGHT_CASES[case](na12878, tmp_path)
    with pytest.raises(KubecallError, match=expected):
        run_preflight(config)


def test_bam_and_cram_pass_and_make_the_manifest(na12878: dict[str, Path],
                                                 tmp_path: Path) -> None:
    subprocess.run(["samtools", "index", str(na12878["cram"])], check=True)
    other = tmp_path / "other.bam"  # a second sample: same reads, SM renamed
    subprocess.run(["samtools", "addreplacerg", "-r", "ID:x\tSM:other", "-o", str(other),
                    str(na12878["bam"])], check=True)
    subprocess.run(["samtools", "index", "-c", str(other), str(tmp_path / "idx.csi")], check=True)
    sheet = write_sheet(tmp_path / "s.tsv", [("1", str(na12878["cram"]), ""),
                                             ("other", other.name, "idx.csi")])
    infos = run_preflight({"reference": str(na12878["ref"]), "samples": str(sheet)})
    assert [(i.sample, i.file_format) for i in infos] == [("1", "CRAM"), ("other", "BAM")]
    write_manifest(infos, tmp_path / "alignments.txt")
    assert (tmp_path / "alignments.txt").read_text().splitlines() == [
        str(na12878["cram"]), f"{other}##idx##{tmp_path / 'idx.csi'}"]


def test_every_problem_is_reported_at_once(na12878: dict[str, Path], tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "s.tsv", [("1", "gone.bam"), ("NA12878", str(na12878["bam"]))])
    with pytest.raises(KubecallError, match="preflight found 2 problem") as caught:
        run_preflight({"reference": str(na12878["ref"]), "samples": str(sheet)})
    assert "gone.bam: file not found" in str(caught.value)
    assert "sheet says 'NA12878'" in str(caught.value)


def test_unreadable_alignment(na12878: dict[str, Path]) -> None:
    """Checked without the capabilities that let root read any file whatever its mode."""
    bam = na12878["bam"]
    bam.chmod(0o000)
    sheet = write_sheet(na12878["dir"] / "s.tsv", [("1", bam.name)])
    code = (
        "from tests.unit.test_preflight import run_preflight\n"
        f"run_preflight({{'reference': '{na12878['ref']}', 'samples': '{sheet}'}})"
    )
    drop = (["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
            if os.geteuid() == 0 else [])
    done = subprocess.run([*drop, sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], check=False)
    assert done.returncode != 0
    assert "NA12878.chr22.tiny.bam: not readable by this user" in done.stderr


def test_sample_name_rule_is_the_sheet_schemas() -> None:
    from kubecall.pipeline.config import load_schema
    from kubecall.pipeline.samplesheet import SAMPLE_NAME

    schema = load_schema(SCHEMAS / "samples.schema.yaml")
    assert SAMPLE_NAME.pattern == schema["properties"]["sample"]["pattern"]


def test_iupac_codes_kept_when_told(na12878: dict[str, Path], tmp_path: Path,
                                    caplog: pytest.LogCaptureFixture) -> None:
    from tests.support.damage import iupac_in_reference

    config, _ = iupac_in_reference(na12878, tmp_path)
    samples = read_sample_sheet(Path(config["samples"]), SCHEMAS / "samples.schema.yaml")
    contigs = read_fai(Path(f"{config['reference']}.fai"))
    infos = preflight(samples, Path(config["reference"]), contigs, iupac="keep")
    assert [i.sample for i in infos] == ["1"]
    assert "reference_iupac is keep: " in caplog.text and "(q:251 R)" in caplog.text
