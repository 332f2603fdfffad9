"""`kubecall samplesheet`: sheets from a 1000 Genomes tree or alignment index, skips reported."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kubecall.cli import main
from kubecall.pipeline.cohort import load_cohort
from kubecall.pipeline.preflight import preflight
from kubecall.pipeline.regions import read_fai
from tests.conftest import SCHEMAS

PANEL = ("sample\tpop\tsuper_pop\tgender\t\n"
         "HG00096\tGBR\tEUR\tmale\t\n"
         "HG00171\tFIN\tEUR\tfemale\t\n"
         "NA18486\tYRI\tAFR\tmale\t\n")


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def g1k_file(root: Path, sample: str, pop: str, kind: str = "low_coverage",
             suffix: str = "bam") -> Path:
    return root / "phase3" / "data" / sample / "alignment" / (
        f"{sample}.mapped.ILLUMINA.bwa.{pop}.{kind}.20120522.{suffix}")


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A fake 1000 Genomes layout: every kind of file the builder must handle."""
    root = tmp_path / "1000g"
    for sample, pop in (("HG00096", "GBR"), ("HG00171", "FIN")):
        bam = touch(g1k_file(root, sample, pop))
        touch(Path(f"{bam}.bai"))
        touch(Path(f"{bam}.bas"))
    # a second (exome) alignment of HG00096: duplicate sample
    exome = touch(g1k_file(root, "HG00096", "GBR", "exome"))
    touch(Path(f"{exome}.bai"))
    # CRAM with .crai, a sample missing from the panel
    cram = touch(g1k_file(root, "HG01500", "IBS", suffix="cram"))
    touch(Path(f"{cram}.crai"))
    # no index at all
    touch(g1k_file(root, "NA18486", "YRI"))
    # unmapped reads only
    unmapped = g1k_file(root, "HG00171", "FIN").with_name(
        "HG00171.unmapped.ILLUMINA.bwa.FIN.low_coverage.20120522.bam")
    touch(Path(f"{touch(unmapped)}.bai"))
    # not an alignment
    touch(root / "phase3/data/HG00171/alignment/README.pdf")
    (tmp_path / "panel").write_text(PANEL)
    return root


def build(tmp_path: Path, *args: str, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = main(["samplesheet", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def sheet_rows(path: Path) -> list[list[str]]:
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return [line.split("\t") for line in lines]


def test_tree_with_panel_reports_every_skip(tree: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "samples.tsv"
    code, _, err = build(tmp_path, "--tree", str(tree), "--panel", str(tmp_path / "panel"),
                         "-o", str(out), capsys=capsys)
    assert code == 0
    rows = sheet_rows(out)
    assert rows[0] == ["sample", "alignment", "index", "population", "super_population"]
    assert [(r[0], Path(r[1]).name.split(".")[5], r[3], r[4]) for r in rows[1:]] == [
        ("HG00096", "exome", "GBR", "EUR"),  # sorted by path: exome before low_coverage
        ("HG00171", "low_coverage", "FIN", "EUR"),
        ("HG01500", "low_coverage", "", ""),
    ]
    assert rows[3][2].endswith(".cram.crai")
    assert "3 sample(s) in the sheet, 4 file(s) skipped" in err
    assert "skipped 1: not an alignment (.bam or .cram)\n  " in err and "README.pdf" in err
    assert "skipped 1: no index (.bai/.csi/.crai) next to it" in err
    assert "skipped 1: unmapped reads only" in err
    assert "duplicate sample HG00096 (kept" in err
    assert "1 sample(s) not in the panel (population left empty): HG01500" in err


def test_match_chooses_among_a_samples_alignments(tree: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "samples.tsv"
    code, _, err = build(tmp_path, "--tree", str(tree / "phase3"), "--match", "low_coverage",
                         "-o", str(out), capsys=capsys)
    assert code == 0
    rows = sheet_rows(out)
    assert rows[0] == ["sample", "alignment", "index"]
    assert [Path(r[1]).name.split(".")[5] for r in rows[1:]] == ["low_coverage"] * 3
    assert "name does not match --match 'low_coverage'" in err
    assert "duplicate sample" not in err


@pytest.mark.parametrize("variant", ["plain", "named", "hashed"])
def test_alignment_index_header_variants(tree: Path, tmp_path: Path, variant: str,
                                         capsys: pytest.CaptureFixture) -> None:
    """The three shapes of .alignment.index: no header, BAM_FILE header, ##meta + #CRAM."""
    lines = []
    for sample, pop in (("HG00096", "GBR"), ("HG00171", "FIN"), ("HG09999", "GBR")):
        bam = f"phase3/data/{sample}/alignment/{g1k_file(Path(), sample, pop).name}"
        lines.append(f"{bam}\tmd5a\t{bam}.bai\tmd5b\t{bam}.bas\tmd5c")
    lines.append("ftp://ftp.1000genomes.ebi.ac.uk/vol1/ftp/phase3/data/HG01500/alignment/"
                 f"{g1k_file(Path(), 'HG01500', 'IBS', suffix='cram').name}\tm\t\tm")
    header = {"plain": [],
              "named": ["BAM_FILE\tBAM_MD5\tBAI_FILE\tBAI_MD5\tBAS_FILE\tBAS_MD5"],
              "hashed": ["##FileDate=20160607", "#CRAM\tCRAM_MD5\tCRAI\tCRAI_MD5\tBAS\tBAS_MD5"]}
    index = tmp_path / "x.alignment.index"
    index.write_text("\n".join(header[variant] + lines) + "\n")
    out = tmp_path / "samples.tsv"
    code, _, err = build(tmp_path, "--index-file", str(index), "--base", str(tree),
                         "-o", str(out), capsys=capsys)
    assert code == 0
    rows = sheet_rows(out)
    assert [r[0] for r in rows[1:]] == ["HG00096", "HG00171", "HG01500"]
    # the CRAM's index column was empty: found next to it
    assert rows[3][2] == f"{g1k_file(tree, 'HG01500', 'IBS', suffix='cram')}.crai"
    assert "listed in the index but not under" in err and "HG09999" in err


def test_nothing_usable_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    touch(tmp_path / "empty" / "a.txt")
    code, _, err = build(tmp_path, "--tree", str(tmp_path / "empty"), capsys=capsys)
    assert code == 2
    assert "error: no usable alignment found" in err


def test_built_sheet_passes_the_schema_and_preflight(na12878: dict[str, Path], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    """Real BAMs in the 1000 Genomes layout: the sheet loads, selects and preflights."""
    root = tmp_path / "1000g"
    for sample, pop in (("HG00096", "GBR"), ("HG00171", "FIN")):
        bam = g1k_file(root, sample, pop)
        bam.parent.mkdir(parents=True)
        subprocess.run(["samtools", "addreplacerg", "-r", f"ID:{sample}\tSM:{sample}", "-o",
                        str(bam), str(na12878["bam"])], check=True)
        subprocess.run(["samtools", "index", str(bam)], check=True)
    (tmp_path / "panel").write_text(PANEL)
    out = tmp_path / "sheet" / "samples.tsv"
    code, _, _ = build(tmp_path, "--tree", str(root), "--panel", str(tmp_path / "panel"),
                       "-o", str(out), capsys=capsys)
    assert code == 0
    samples = load_cohort(out, SCHEMAS / "samples.schema.yaml",
                          {"select": "populations", "populations": ["FIN"]})
    assert [s.name for s in samples] == ["HG00171"]
    infos = preflight(samples, na12878["ref"], read_fai(Path(f"{na12878['ref']}.fai")))
    assert [(i.sample, i.index.name) for i in infos] == [
        ("HG00171", f"{g1k_file(root, 'HG00171', 'FIN').name}.bai")]
