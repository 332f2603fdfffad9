"""``kubecall accuracy``: recall, precision and genotype concordance of calls against a truth VCF.

Both VCFs are normalised the same way (``bcftools norm -f REF -m -any``: left-aligned, trimmed,
one ALT per record) so representation differences do not count as errors. A *variant genotype*
is (sample, CHROM, POS, REF, ALT) where the sample's GT carries that ALT; truth and calls are
compared as sets of those, over the samples of the truth. With a minimum QUAL, calls below it
(or without one) are not calls, the way ``bcftools view -i 'QUAL>=N'`` would drop them.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pysam

from kubecall.errors import KubecallError

GenotypeKey = tuple[str, str, int, str, str]  # sample, CHROM, POS (1-based), REF, ALT
Genotype = tuple[int, ...]  # sorted allele codes: 0 ref, 1 this ALT, -1 missing


@dataclass(frozen=True)
class AccuracyCounts:
    """Variant-genotype counts of one variant class."""

    true_positives: int
    false_positives: int
    false_negatives: int
    genotype_matches: int

    @property
    def recall(self) -> float | None:
        return _ratio(self.true_positives, self.true_positives + self.false_negatives)

    @property
    def precision(self) -> float | None:
        return _ratio(self.true_positives, self.true_positives + self.false_positives)

    @property
    def concordance(self) -> float | None:
        """Exact (unphased) GT matches among true variant genotypes that were called."""
        return _ratio(self.genotype_matches, self.true_positives)


@dataclass(frozen=True)
class AccuracyReport:
    """Accuracy of a call set for SNPs, indels and all variant genotypes."""

    samples: tuple[str, ...]
    snp: AccuracyCounts
    indel: AccuracyCounts
    overall: AccuracyCounts

    def classes(self) -> list[tuple[str, AccuracyCounts]]:
        return [("snp", self.snp), ("indel", self.indel), ("all", self.overall)]

    def summary_line(self) -> str:
        """``key=value`` pairs for scripts, e.g. ``snp_recall=0.9876``."""
        pairs = [f"samples={len(self.samples)}"]
        for name, counts in self.classes():
            pairs += [
                f"{name}_tp={counts.true_positives}",
                f"{name}_fp={counts.false_positives}",
                f"{name}_fn={counts.false_negatives}",
                f"{name}_recall={_format(counts.recall)}",
                f"{name}_precision={_format(counts.precision)}",
                f"{name}_concordance={_format(counts.concordance)}",
            ]
        return " ".join(pairs)

    def table(self) -> str:
        """A small aligned text table, one row per variant class."""
        header = ("class", "TP", "FP", "FN", "GT_match", "recall", "precision", "concordance")
        rows = [header] + [
            (
                name,
                str(counts.true_positives),
                str(counts.false_positives),
                str(counts.false_negatives),
                str(counts.genotype_matches),
                _format(counts.recall),
                _format(counts.precision),
                _format(counts.concordance),
            )
            for name, counts in self.classes()
        ]
        widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
        return "\n".join(
            "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True))
            for row in rows
        )


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _format(value: float | None) -> str:
    return "NA" if value is None else f"{value:.4f}"


def variant_class(ref: str, alt: str) -> str:
    """``snp``, ``indel`` or ``other`` (MNPs and complex substitutions)."""
    if len(ref) == 1 and len(alt) == 1:
        return "snp"
    if len(ref) != len(alt):
        return "indel"
    return "other"


def normalise_vcf(source: Path, reference: Path, destination: Path) -> None:
    """``bcftools norm -f reference -m -any`` of ``source`` into ``destination`` (plain VCF)."""
    if shutil.which("bcftools") is None:
        raise KubecallError("bcftools not found on PATH; install bcftools (>= 1.10)")
    command = [
        "bcftools", "norm", "--no-version", "-f", str(reference), "-m", "-any",
        "-O", "v", "-o", str(destination), str(source),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        message = result.stderr.strip().splitlines()[-1:] or ["(no message)"]
        raise KubecallError(
            f"bcftools norm failed on {source} with reference {reference}: {message[0]}; "
            "check that the VCF was made against this reference"
        )


def variant_genotypes(
    path: Path, samples: tuple[str, ...], min_qual: float = 0.0
) -> dict[GenotypeKey, Genotype]:
    """Every variant genotype of ``samples`` in a normalised VCF, with its genotype, in its
    records of QUAL ``min_qual`` or more (every record when 0)."""
    genotypes: dict[GenotypeKey, Genotype] = {}
    # htslib warns about harmless header quirks (freebayes declares GQ as Float); keep quiet.
    previous_verbosity = pysam.set_verbosity(0)
    try:
        with pysam.VariantFile(str(path)) as vcf:
            _collect(vcf, path, samples, genotypes, min_qual)
    finally:
        pysam.set_verbosity(previous_verbosity)
    return genotypes


def _collect(
    vcf: pysam.VariantFile,
    path: Path,
    samples: tuple[str, ...],
    genotypes: dict[GenotypeKey, Genotype],
    min_qual: float,
) -> None:
    """Add the variant genotypes of ``samples`` in ``vcf``'s records of QUAL ``min_qual`` or
    more to ``genotypes``."""
    missing = [sample for sample in samples if sample not in vcf.header.samples]
    if missing:
        raise KubecallError(
            f"{path}: sample(s) {', '.join(missing)} of the truth are not in the calls; "
            "call all truth samples (sample names must match the read groups' SM)"
        )
    for record in vcf:
        if min_qual and (record.qual is None or record.qual < min_qual):
            continue
        for alt_index, alt in enumerate(record.alts or (), start=1):
            if alt == "*" or alt.startswith("<"):
                continue
            for sample in samples:
                alleles = record.samples[sample].get("GT") or ()
                # Other ALTs count as "not this allele", as bcftools norm -m- would set them.
                codes = tuple(sorted(-1 if a is None else int(a == alt_index) for a in alleles))
                if 1 in codes:
                    key = (sample, record.chrom, record.pos, record.ref or "", alt)
                    genotypes[key] = codes


def count(
    truth: dict[GenotypeKey, Genotype], calls: dict[GenotypeKey, Genotype], kind: str | None
) -> AccuracyCounts:
    """Counts over variant genotypes of class ``kind`` (all classes when None)."""

    def keep(key: GenotypeKey) -> bool:
        return kind is None or variant_class(key[3], key[4]) == kind

    true_keys = {key for key in truth if keep(key)}
    called_keys = {key for key in calls if keep(key)}
    found = true_keys & called_keys
    return AccuracyCounts(
        true_positives=len(found),
        false_positives=len(called_keys - true_keys),
        false_negatives=len(true_keys - called_keys),
        genotype_matches=sum(truth[key] == calls[key] for key in found),
    )


def compare_calls(
    truth: Path, calls: Path, reference: Path, min_qual: float = 0.0
) -> AccuracyReport:
    """Accuracy of ``calls`` (those of QUAL ``min_qual`` or more) against ``truth`` over the
    truth's samples."""
    for label, path in (("--truth", truth), ("--calls", calls), ("--reference", reference)):
        if not path.is_file():
            raise KubecallError(f"{label} {path}: no such file")
    with pysam.VariantFile(str(truth)) as vcf:
        samples = tuple(vcf.header.samples)
    if not samples:
        raise KubecallError(f"--truth {truth}: has no samples; a truth VCF needs genotypes")
    with tempfile.TemporaryDirectory(prefix="kubecall-accuracy-") as temp:
        truth_norm = Path(temp) / "truth.norm.vcf"
        calls_norm = Path(temp) / "calls.norm.vcf"
        normalise_vcf(truth, reference, truth_norm)
        normalise_vcf(calls, reference, calls_norm)
        true_genotypes = variant_genotypes(truth_norm, samples)
        called_genotypes = variant_genotypes(calls_norm, samples, min_qual)
    return AccuracyReport(
        samples=samples,
        snp=count(true_genotypes, called_genotypes, "snp"),
        indel=count(true_genotypes, called_genotypes, "indel"),
        overall=count(true_genotypes, called_genotypes, None),
    )


def run(args: argparse.Namespace) -> int:
    """The ``kubecall accuracy`` command."""
    if args.min_qual < 0:
        raise KubecallError(f"--min-qual {args.min_qual}: must be 0 or more")
    report = compare_calls(args.truth, args.calls, args.reference, args.min_qual)
    print(report.table())
    print(report.summary_line())
    return 0


EXAMPLES = """examples:
  freebayes -f cohort/ref.fa cohort/S01.bam cohort/S02.bam > calls.vcf
  kubecall accuracy --truth cohort/truth.vcf.gz --calls calls.vcf --reference cohort/ref.fa
  kubecall accuracy --truth cohort/truth.vcf.gz --calls calls.vcf --reference cohort/ref.fa \\
      --min-qual 20
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``accuracy`` sub-command."""
    parser = subparsers.add_parser(
        "accuracy",
        help="recall, precision and genotype concordance of calls against a truth VCF",
        description=(
            "Normalise both VCFs with bcftools norm -m -any, then compare variant genotypes "
            "(sample, CHROM, POS, REF, ALT with a non-reference GT) over the truth's samples."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--truth", type=Path, required=True, help="truth VCF (e.g. truth.vcf.gz)")
    parser.add_argument("--calls", type=Path, required=True, help="VCF to evaluate")
    parser.add_argument("--reference", type=Path, required=True, help="FASTA both refer to")
    parser.add_argument(
        "--min-qual",
        type=float,
        default=0.0,
        help="count only calls of this QUAL or more (default 0: every record)",
    )
    parser.set_defaults(func=run)
