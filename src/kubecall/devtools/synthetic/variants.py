"""Population variant sites, phased genotypes, haplotype sequences and the truth VCF."""

from __future__ import annotations

import random
from bisect import bisect_right
from dataclasses import dataclass, field
from pathlib import Path

import pysam

from kubecall.devtools.synthetic.reference import Contig, acgt_runs, derive_seed

# Sites are kept at least this far apart (end of one REF to the next POS) so they never overlap
# and freebayes does not merge neighbours into one complex allele.
MIN_SITE_SPACING = 15
MAX_INDEL_LENGTH = 10
_OTHER_BASES = {"A": "CGT", "C": "AGT", "G": "ACT", "T": "ACG"}


@dataclass(frozen=True)
class Site:
    """A biallelic variant site; ``pos`` is the 0-based position of REF's first base."""

    contig: str
    pos: int
    ref: str
    alt: str
    allele_frequency: float

    @property
    def is_snp(self) -> bool:
        return len(self.ref) == 1 and len(self.alt) == 1


def _skip(rng: random.Random, rate: float) -> int:
    """Bases to the next site: exponential gaps give the requested rate."""
    return int(rng.expovariate(rate))


def place_sites(contig: Contig, snp_rate: float, indel_rate: float, seed: int) -> list[Site]:
    """Sites along one contig: SNPs and left-aligned 1-10 bp indels, never touching an N."""
    total_rate = snp_rate + indel_rate
    if total_rate <= 0:
        return []
    rng = random.Random(derive_seed(seed, "sites", contig.name))
    sequence = contig.sequence
    sites: list[Site] = []
    for run_start, run_end in acgt_runs(sequence):
        # The margin keeps the deleted bases of the last site inside this run.
        last_anchor = run_end - MAX_INDEL_LENGTH - 2
        pos = run_start + MIN_SITE_SPACING + _skip(rng, total_rate)
        while pos < last_anchor:
            site = _draw_site(contig.name, sequence, pos, run_end, rng, indel_rate / total_rate)
            if site is None:
                pos += 1 + _skip(rng, total_rate)
                continue
            sites.append(site)
            pos = site.pos
            pos += len(site.ref) + MIN_SITE_SPACING + _skip(rng, total_rate)
    return sites


def _draw_site(
    name: str, sequence: str, pos: int, run_end: int, rng: random.Random, indel_share: float
) -> Site | None:
    """One site at or just after ``pos`` (a deletion moves to where it is left-aligned)."""
    allele_frequency = round(rng.uniform(0.05, 0.95), 3)
    anchor = sequence[pos]
    if rng.random() >= indel_share:
        return Site(name, pos, anchor, rng.choice(_OTHER_BASES[anchor]), allele_frequency)
    length = rng.randint(1, MAX_INDEL_LENGTH)
    if rng.random() < 0.5:
        # Deleting sequence[p+1 : p+1+length] can shift left iff the anchor equals the last
        # deleted base; bcftools norm would move it there, so look for a position where not.
        for anchor_pos in range(pos, min(pos + MAX_INDEL_LENGTH, run_end - length - 2)):
            if sequence[anchor_pos] != sequence[anchor_pos + length]:
                deleted = sequence[anchor_pos : anchor_pos + length + 1]
                return Site(name, anchor_pos, deleted, deleted[0], allele_frequency)
        return None
    # An insertion after the anchor can shift left iff its last base equals the anchor.
    inserted = "".join(rng.choices("ACGT", k=length - 1)) + rng.choice(_OTHER_BASES[anchor])
    return Site(name, pos, anchor, anchor + inserted, allele_frequency)


def draw_genotypes(sites: list[Site], sample: str, contig: str, seed: int) -> list[tuple[int, int]]:
    """Phased genotypes of one sample at a contig's sites: two independent draws (HWE)."""
    rng = random.Random(derive_seed(seed, "genotypes", sample, contig))
    genotypes = []
    for site in sites:
        first = int(rng.random() < site.allele_frequency)
        second = int(rng.random() < site.allele_frequency)
        genotypes.append((first, second))
    return genotypes


@dataclass
class Haplotype:
    """A haplotype sequence and its alignment to the reference, as blocks.

    Block ``i`` covers haplotype bases ``[hap_starts[i], hap_starts[i] + lengths[i])``; an
    aligned block maps them to the reference from ``ref_starts[i]``, an inserted block has
    no reference bases (``ref_starts[i]`` is the reference base that follows it).
    """

    sequence: str
    hap_starts: list[int] = field(default_factory=list)
    ref_starts: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    inserted: list[bool] = field(default_factory=list)

    def add_block(self, hap_start: int, ref_start: int, length: int, inserted: bool) -> None:
        if length > 0:
            self.hap_starts.append(hap_start)
            self.ref_starts.append(ref_start)
            self.lengths.append(length)
            self.inserted.append(inserted)

    def align(self, start: int, end: int) -> tuple[int, int, str]:
        """(reference start, reference end, CIGAR) of haplotype bases ``[start, end)``.

        Inserted bases at either end of the read are soft-clipped, so no read starts or
        ends with an insertion.
        """
        block = bisect_right(self.hap_starts, start) - 1
        block_end = self.hap_starts[block] + self.lengths[block]
        if end <= block_end and not self.inserted[block]:
            ref_start = self.ref_starts[block] + start - self.hap_starts[block]
            return ref_start, ref_start + end - start, f"{end - start}M"
        ops: list[tuple[int, str]] = []
        ref_start = -1
        ref_end = -1
        position = start
        while position < end:
            block_start = self.hap_starts[block]
            taken = min(end, block_start + self.lengths[block]) - position
            if self.inserted[block]:
                ops.append((taken, "I"))
            else:
                ref_position = self.ref_starts[block] + position - block_start
                if ref_start < 0:
                    ref_start = ref_position
                elif ref_position > ref_end:
                    ops.append((ref_position - ref_end, "D"))
                ops.append((taken, "M"))
                ref_end = ref_position + taken
            position += taken
            block += 1
        if ops[0][1] == "I":
            ops[0] = (ops[0][0], "S")
        if ops[-1][1] == "I":
            ops[-1] = (ops[-1][0], "S")
        return ref_start, ref_end, "".join(f"{length}{op}" for length, op in ops)


def build_haplotype(reference: str, sites: list[Site], alleles: list[int]) -> Haplotype:
    """The haplotype carrying the ALT allele of every site whose allele is 1."""
    pieces: list[str] = []
    haplotype = Haplotype("")
    ref_cursor = 0
    hap_length = 0
    block_hap_start = 0
    block_ref_start = 0
    for site, allele in zip(sites, alleles, strict=True):
        if not allele:
            continue
        if site.is_snp:
            pieces.append(reference[ref_cursor : site.pos])
            pieces.append(site.alt)
            hap_length += site.pos + 1 - ref_cursor
            ref_cursor = site.pos + 1
            continue
        # Indel: keep the anchor base, then close the aligned block.
        pieces.append(reference[ref_cursor : site.pos + 1])
        hap_length += site.pos + 1 - ref_cursor
        haplotype.add_block(block_hap_start, block_ref_start, hap_length - block_hap_start, False)
        if len(site.alt) > len(site.ref):
            inserted = site.alt[1:]
            pieces.append(inserted)
            haplotype.add_block(hap_length, site.pos + 1, len(inserted), True)
            hap_length += len(inserted)
            ref_cursor = site.pos + 1
        else:
            ref_cursor = site.pos + len(site.ref)
        block_hap_start, block_ref_start = hap_length, ref_cursor
    pieces.append(reference[ref_cursor:])
    hap_length += len(reference) - ref_cursor
    haplotype.add_block(block_hap_start, block_ref_start, hap_length - block_hap_start, False)
    haplotype.sequence = "".join(pieces)
    return haplotype


def write_truth_vcf(
    path: Path,
    contigs: list[Contig],
    sites: dict[str, list[Site]],
    genotypes: dict[str, dict[str, list[tuple[int, int]]]],
    samples: list[str],
) -> int:
    """Write the bgzipped, tabix-indexed truth VCF; return the number of records.

    ``genotypes[sample][contig][i]`` is the phased genotype at ``sites[contig][i]``; sites
    where every sample is homozygous reference are left out.
    """
    plain = path.with_suffix("")  # truth.vcf.gz -> truth.vcf
    header = [
        "##fileformat=VCFv4.2",
        "##source=kubecall-simulate",
        "##reference=ref.fa",
        *(f"##contig=<ID={contig.name},length={contig.length}>" for contig in contigs),
        '##INFO=<ID=AF,Number=A,Type=Float,Description="Population allele frequency the '
        'genotypes were drawn from">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Phased genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "\t"
        + "\t".join(samples),
    ]
    records = 0
    with plain.open("w") as handle:
        handle.write("\n".join(header) + "\n")
        for contig in contigs:
            per_sample = [genotypes[sample][contig.name] for sample in samples]
            for index, site in enumerate(sites[contig.name]):
                calls = [sample_genotypes[index] for sample_genotypes in per_sample]
                if not any(first or second for first, second in calls):
                    continue
                fields = [
                    contig.name,
                    str(site.pos + 1),
                    ".",
                    site.ref,
                    site.alt,
                    ".",
                    "PASS",
                    f"AF={site.allele_frequency:g}",
                    "GT",
                    *(f"{first}|{second}" for first, second in calls),
                ]
                handle.write("\t".join(fields) + "\n")
                records += 1
    pysam.tabix_index(str(plain), preset="vcf", force=True)
    return records
