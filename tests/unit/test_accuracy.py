"""Accuracy counts on tiny hand-made VCFs (normalised with real bcftools)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pysam
import pytest

from kubecall.cli import main
from kubecall.devtools.accuracy import AccuracyCounts, compare_calls, variant_class
from kubecall.errors import KubecallError

pytestmark = pytest.mark.skipif(shutil.which("bcftools") is None, reason="needs bcftools")

# 1-based positions 41-50 are TTGACCCCCA: a C-homopolymer at 45-49 after the A at 44.
REFERENCE = "GATTACAGCTTGCATGCACTCGTAGCTAGCATCGGCTAACTTGACCCCCAGTCATGCAGT"
HEADER = """##fileformat=VCFv4.2
##contig=<ID=c1,length=60>
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2
"""


def base(pos: int) -> str:
    return REFERENCE[pos - 1]


def other(pos: int) -> str:
    return next(b for b in "ACGT" if b != base(pos))


def write_vcf(path: Path, records: list[tuple[int, str, str, str, str]]) -> Path:
    lines = [
        f"c1\t{pos}\t.\t{ref}\t{alt}\t50\tPASS\t.\tGT\t{s1}\t{s2}"
        for pos, ref, alt, s1, s2 in records
    ]
    path.write_text(HEADER + "".join(f"{line}\n" for line in lines))
    return path


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    path = tmp_path / "ref.fa"
    path.write_text(f">c1\n{REFERENCE}\n")
    pysam.faidx(str(path))
    return path


@pytest.fixture
def truth(tmp_path: Path) -> Path:
    return write_vcf(
        tmp_path / "truth.vcf",
        [
            (10, base(10), other(10), "0|1", "1|1"),
            (20, base(20), other(20), "1|0", "0|0"),
            (40, base(40), "G" if base(40) != "G" else "T", "0|1", "0|0"),
            (44, "AC", "A", "0|1", "0|0"),  # deletes one C of the homopolymer, left-aligned
        ],
    )


def test_counts_fn_fp_genotype_mismatch_and_normalised_indel(
    tmp_path: Path, reference: Path, truth: Path
) -> None:
    alt40 = "G" if base(40) != "G" else "T"
    third40 = next(b for b in "ACGT" if b not in (base(40), alt40))
    calls = write_vcf(
        tmp_path / "calls.vcf",
        [
            (10, base(10), other(10), "0/1", "0/1"),  # S1 right; S2 called het, truly hom-alt
            # 20 not called: FN for S1
            (30, base(30), other(30), "0/1", "./."),  # FP for S1; missing GT is no call
            (40, base(40), f"{alt40},{third40}", "1/2", "0/0"),  # true ALT found, extra ALT FP
            (48, "CC", "C", "0/1", "0/0"),  # the same deletion, not left-aligned
        ],
    )
    report = compare_calls(truth, calls, reference)
    assert report.samples == ("S1", "S2")
    assert report.snp == AccuracyCounts(
        true_positives=3, false_positives=2, false_negatives=1, genotype_matches=2
    )
    assert report.indel == AccuracyCounts(
        true_positives=1, false_positives=0, false_negatives=0, genotype_matches=1
    )
    assert report.overall == AccuracyCounts(
        true_positives=4, false_positives=2, false_negatives=1, genotype_matches=3
    )
    assert report.snp.recall == pytest.approx(0.75)
    assert report.snp.precision == pytest.approx(0.6)
    assert report.snp.concordance == pytest.approx(2 / 3)
    pairs = dict(pair.split("=") for pair in report.summary_line().split())
    assert pairs["samples"] == "2"
    assert pairs["snp_recall"] == "0.7500" and pairs["snp_fp"] == "2"
    assert pairs["indel_recall"] == "1.0000" and pairs["all_tp"] == "4"


def test_identical_calls_are_perfect_and_empty_calls_recall_nothing(
    tmp_path: Path, reference: Path, truth: Path
) -> None:
    perfect = compare_calls(truth, truth, reference)
    assert perfect.overall == AccuracyCounts(5, 0, 0, 5)
    empty = compare_calls(truth, write_vcf(tmp_path / "none.vcf", []), reference)
    assert empty.overall == AccuracyCounts(0, 0, 5, 0)
    assert empty.overall.recall == 0.0
    assert empty.overall.precision is None
    assert "all_precision=NA" in empty.summary_line()


def test_calls_below_the_minimum_qual_are_not_calls(
    tmp_path: Path, reference: Path, truth: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The truth's own QUAL is never looked at; a call below the minimum, or without QUAL,
    counts as not called."""
    lines = truth.read_text().splitlines(keepends=True)
    low = [line.replace("\t50\t", "\t19.5\t") if line.startswith("c1\t10\t") else
           line.replace("\t50\t", "\t.\t") if line.startswith("c1\t44\t") else line
           for line in lines]  # fmt: skip
    calls = tmp_path / "calls.vcf"
    calls.write_text("".join(low))
    assert compare_calls(truth, calls, reference).overall == AccuracyCounts(5, 0, 0, 5)
    assert compare_calls(truth, calls, reference, min_qual=19.5).indel == AccuracyCounts(0, 0, 1, 0)
    # the SNP at 10 carried by both samples and the deletion at 44 are dropped
    assert compare_calls(truth, calls, reference, min_qual=20).overall == AccuracyCounts(2, 0, 3, 2)
    args = ["accuracy", "--truth", str(truth), "--calls", str(calls), "--reference"]
    assert main([*args, str(reference), "--min-qual", "20"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("samples=2 snp_tp=2 ")
    assert main([*args, str(reference), "--min-qual", "-1"]) == 2
    assert "--min-qual -1.0: must be 0 or more" in capsys.readouterr().err


def test_missing_truth_sample_in_calls_is_a_user_error(
    tmp_path: Path, reference: Path, truth: Path
) -> None:
    calls = tmp_path / "one_sample.vcf"
    calls.write_text(
        HEADER.replace("\tS1\tS2", "\tS1") + f"c1\t10\t.\t{base(10)}\tA\t50\t.\t.\tGT\t0/1\n"
    )
    with pytest.raises(KubecallError, match="S2"):
        compare_calls(truth, calls, reference)


def test_calls_against_another_reference_are_a_user_error(
    tmp_path: Path, reference: Path, truth: Path
) -> None:
    wrong_base = other(10) if other(10) != base(10) else "A"
    calls = write_vcf(tmp_path / "wrong.vcf", [(10, wrong_base, base(10), "0/1", "0/0")])
    with pytest.raises(KubecallError, match="bcftools norm"):
        compare_calls(truth, calls, reference)


def test_variant_classes() -> None:
    assert variant_class("A", "G") == "snp"
    assert variant_class("AC", "A") == "indel"
    assert variant_class("A", "AT") == "indel"
    assert variant_class("AC", "GT") == "other"


def test_cli_prints_table_and_summary(
    tmp_path: Path, reference: Path, truth: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["accuracy", "--truth", str(truth), "--calls", str(truth), "--reference"]
    assert main([*args, str(reference)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["class", "TP", "FP", "FN"]
    assert out[-1].startswith("samples=2 snp_tp=4 ")
    assert main([*args, str(tmp_path / "missing.fa")]) == 2
    assert "error: --reference" in capsys.readouterr().err
