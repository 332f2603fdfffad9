"""Compare two call sets record by record: CHROM, POS, REF, ALT and every sample's genotype.

Headers, QUAL and INFO are ignored on purpose: dates, command lines and likelihood details
differ between runs that call the same variants.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pysam

from kubecall.errors import KubecallError

SiteKey = tuple[str, int, str, tuple[str, ...]]
# Each record's site key and its per-sample genotypes (samples in name order).
Calls = dict[SiteKey, tuple[tuple[str, ...], ...]]


@dataclass
class Concordance:
    """How two call sets differ; ``a`` is usually the reference run (serial freebayes)."""

    records_a: int
    records_b: int
    only_in_a: list[SiteKey] = field(default_factory=list)
    only_in_b: list[SiteKey] = field(default_factory=list)
    genotype_differs: list[SiteKey] = field(default_factory=list)

    @property
    def discordant_sites(self) -> int:
        """Distinct (CHROM, POS) at which the two sets disagree in any way."""
        keys = self.only_in_a + self.only_in_b + self.genotype_differs
        return len({(chrom, pos) for chrom, pos, _, _ in keys})

    @property
    def concordance(self) -> float:
        """Share of the union of records that agree exactly (1.0 for two empty sets)."""
        union = self.records_a + len(self.only_in_b)
        agreeing = union - len(self.only_in_a) - len(self.only_in_b) - len(self.genotype_differs)
        return agreeing / union if union else 1.0

    def summary_line(self) -> str:
        """``key=value`` pairs for scripts."""
        return (
            f"records_a={self.records_a} records_b={self.records_b} "
            f"only_a={len(self.only_in_a)} only_b={len(self.only_in_b)} "
            f"gt_differs={len(self.genotype_differs)} discordant_sites={self.discordant_sites} "
            f"concordance={self.concordance:.5f}"
        )


def read_calls(path: Path) -> Calls:
    """Map each record's site key to its per-sample genotypes (alleles as strings, sorted).

    Raises on a record seen twice, which would itself be a merge bug.
    """
    calls: Calls = {}
    for key, genotypes in _iterate(path):
        if key in calls:
            raise KubecallError(f"{path}: record {key[0]}:{key[1]} {key[2]}>{key[3]} appears twice")
        calls[key] = genotypes
    return calls


def _iterate(path: Path) -> Iterator[tuple[SiteKey, tuple[tuple[str, ...], ...]]]:
    # freebayes declares GQ as Float; htslib warns about it on every open, to no purpose.
    pysam.set_verbosity(0)
    with pysam.VariantFile(str(path)) as vcf:
        samples = sorted(vcf.header.samples)  # compare by name, whatever the column order
        for record in vcf:
            key = (record.chrom, record.pos, record.ref, tuple(record.alts or ()))
            genotypes = tuple(
                tuple(sorted("." if a is None else str(a) for a in record.samples[s]["GT"] or ()))
                for s in samples
            )
            yield key, genotypes


def compare_records(a: Path, b: Path) -> Concordance:
    """Compare call sets ``a`` and ``b`` made over the same samples (in any column order)."""
    with pysam.VariantFile(str(a)) as va, pysam.VariantFile(str(b)) as vb:
        if sorted(va.header.samples) != sorted(vb.header.samples):
            raise KubecallError(f"{a} and {b} have different samples; compare like with like")
    return compare_calls(read_calls(a), read_calls(b))


def compare_calls(calls_a: Calls, calls_b: Calls) -> Concordance:
    """Compare two call sets already read (:func:`read_calls`) over the same samples."""
    result = Concordance(len(calls_a), len(calls_b))
    for key, genotypes in calls_a.items():
        if key not in calls_b:
            result.only_in_a.append(key)
        elif calls_b[key] != genotypes:
            result.genotype_differs.append(key)
    result.only_in_b = [key for key in calls_b if key not in calls_a]
    return result
