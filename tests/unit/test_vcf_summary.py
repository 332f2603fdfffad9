"""The call-set pass reads the site columns only: its cost is per record, not per genotype."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pysam
import pytest

from kubecall.report.vcf_summary import summarize_calls

HEADER = """##fileformat=VCFv4.2
##contig=<ID=1,length=1000>
##contig=<ID=2,length=1000>
##INFO=<ID=DP,Number=1,Type=Integer,Description="depth">
##INFO=<ID=AB,Number=A,Type=Float,Description="allele balance">
##FORMAT=<ID=GT,Number=1,Type=String,Description="genotype">
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="depth">
#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB
"""


def write_vcf(path: Path, records: list[str]) -> Path:
    path.write_text(HEADER + "".join(f"{record}\n" for record in records))
    subprocess.run(["bgzip", "-f", str(path)], check=True)
    return Path(f"{path}.gz")


def test_summary_holds_counts_qual_depth_and_balance(tmp_path: Path) -> None:
    vcf = write_vcf(tmp_path / "calls.vcf", [
        "1\t5\t.\tA\tC\t50\t.\tDP=10;AB=0.5\tGT:DP\t0/1:5\t0/0:5",
        "1\t9\t.\tA\tC,G\t7.5\t.\tDP=12;AB=0,0.25\tGT:DP\t1/2:6\t0/0:6",
        "2\t3\t.\tT\tG\t.\t.\tDP=4;AB=0.375\tGT:DP\t0/1:2\t./.:2",
    ])
    summary = summarize_calls(vcf)
    assert summary.contig_records == {"1": 2, "2": 1}
    assert summary.qual.values == [50.0, 7.5]
    assert summary.depth.values == [10.0, 12.0, 4.0]
    assert summary.allele_balance.values == [0.5, 0.375]  # first ALT's; 0 (no het) left out


def test_sample_columns_are_never_parsed(tmp_path: Path) -> None:
    """At cohort scale the genotypes are nearly all of the file; summarize_calls has no use
    for them, so htslib must skip them. A genotype htslib rejects when it parses one (an
    Integer FORMAT/DP of ``abc``) shows whether it did: the summary is made all the same."""
    vcf = write_vcf(tmp_path / "calls.vcf", [
        "1\t5\t.\tA\tC\t50\t.\tDP=10;AB=0.5\tGT:DP\t0/1:abc\t0/0:5",
        "1\t9\t.\tA\tC\t20\t.\tDP=12;AB=0.3\tGT:DP\t0/1:6\t0/0:6",
    ])
    pysam.set_verbosity(0)
    with pysam.VariantFile(str(vcf)) as parsed, pytest.raises(OSError):
        list(parsed)  # the file is one whose sample columns cannot be parsed
    summary = summarize_calls(vcf)
    assert summary.records == 2 and summary.qual.values == [50.0, 20.0]
