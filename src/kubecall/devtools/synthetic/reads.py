"""Paired-end Illumina-like reads from haplotypes, as SAM text, then sorted BAM/CRAM."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pysam

from kubecall.devtools.synthetic.reference import Contig, acgt_runs
from kubecall.devtools.synthetic.variants import Haplotype

MAPQ = 60
# Phred+33 characters for base qualities 30..40, and 5..20 where an error was put.
GOOD_QUALITIES = "".join(chr(33 + quality) for quality in range(30, 41))
ERROR_QUALITIES = "".join(chr(33 + quality) for quality in range(5, 21))
QUALITY_POOL_SIZE = 1024
_OTHER_BASES = {"A": "CGT", "C": "AGT", "G": "ACT", "T": "ACG"}
# Uneven coverage: one half of a contig is three stretches at these multiples of the mean depth
# (fractions of the half-length); 0.45 x 1 + 0.15 x 3 + 0.4 x 0.25 = 1, so the mean is kept.
UNEVEN_PATTERN = ((0.45, 1.0), (0.15, 3.0), (0.40, 0.25))
# Flags: paired + proper pair, plus first/second in pair and strand of the read and its mate.
FLAG_FORWARD_FIRST = 0x1 | 0x2 | 0x20 | 0x40  # 99
FLAG_REVERSE_SECOND = 0x1 | 0x2 | 0x10 | 0x80  # 147
FLAG_FORWARD_SECOND = 0x1 | 0x2 | 0x20 | 0x80  # 163
FLAG_REVERSE_FIRST = 0x1 | 0x2 | 0x10 | 0x40  # 83


@dataclass(frozen=True)
class ReadSettings:
    """How reads are drawn: sizes, depth and error model."""

    read_length: int
    insert_size: int
    depth: float
    error_rate: float
    uneven: bool

    @property
    def insert_sd(self) -> float:
        return self.insert_size / 7

    @property
    def max_fragment(self) -> int:
        """Fragments are cut at three standard deviations above the mean."""
        return int(self.insert_size + 3 * self.insert_sd)


def coverage_profile(length: int, uneven: bool) -> list[tuple[int, int, float]]:
    """Stretches ``(start, end, multiple of mean depth)`` covering ``[0, length)``.

    Even: one stretch at 1x. Uneven: each half of the contig has stretches at 1x, 3x and
    0.25x (see UNEVEN_PATTERN), so equal-length regions carry very different amounts of data.
    """
    if not uneven:
        return [(0, length, 1.0)]
    stretches: list[tuple[int, int, float]] = []
    half = length / 2
    offset = 0.0
    for _ in range(2):
        for fraction, multiple in UNEVEN_PATTERN:
            start, offset = round(offset), offset + fraction * half
            stretches.append((start, round(offset), multiple))
    stretches[-1] = (stretches[-1][0], length, stretches[-1][2])
    return stretches


class ErrorModel:
    """Substitution errors at a fixed rate, drawn as gaps between errors (no per-base loop)."""

    def __init__(self, rate: float, rng: random.Random, read_length: int) -> None:
        self.rate = rate
        self.rng = rng
        self.log_keep = math.log1p(-rate) if 0 < rate < 1 else 0.0
        self.until_next = self._gap()
        self.qualities = [
            "".join(rng.choices(GOOD_QUALITIES, k=read_length)) for _ in range(QUALITY_POOL_SIZE)
        ]

    def _gap(self) -> int:
        if self.rate <= 0:
            return 1 << 62
        if self.rate >= 1:
            return 0
        return int(math.log(1.0 - self.rng.random()) / self.log_keep)

    def apply(self, sequence: str) -> tuple[str, str]:
        """(sequence with errors, base qualities) of one read."""
        quality = self.qualities[self.rng.randrange(QUALITY_POOL_SIZE)]
        length = len(sequence)
        if self.until_next >= length:
            self.until_next -= length
            return sequence, quality
        bases = list(sequence)
        qualities = list(quality)
        position = self.until_next
        while position < length:
            bases[position] = self.rng.choice(_OTHER_BASES.get(bases[position], "ACGT"))
            qualities[position] = self.rng.choice(ERROR_QUALITIES)
            position += 1 + self._gap()
        self.until_next = position - length
        return "".join(bases), "".join(qualities)


def contig_read_lines(
    contig: Contig,
    contig_index: int,
    haplotypes: tuple[Haplotype, Haplotype],
    sample: str,
    settings: ReadSettings,
    seed: int,
) -> Iterator[str]:
    """SAM lines (unsorted) of one sample's read pairs from both haplotypes of one contig."""
    rng = random.Random(seed)
    errors = ErrorModel(settings.error_rate, rng, settings.read_length)
    read_length = settings.read_length
    name = contig.name
    tag = f"RG:Z:{sample}"
    pair = 0
    for hap_index, haplotype in enumerate(haplotypes):
        sequence = haplotype.sequence
        for start, length in _fragments(sequence, settings, rng):
            fragment_end = start + length
            left_start, left_end, left_cigar = haplotype.align(start, start + read_length)
            right_start, right_end, right_cigar = haplotype.align(
                fragment_end - read_length, fragment_end
            )
            right_start_hap = fragment_end - read_length
            left_seq, left_qual = errors.apply(sequence[start : start + read_length])
            right_seq, right_qual = errors.apply(sequence[right_start_hap:fragment_end])
            template = max(left_end, right_end) - min(left_start, right_start)
            left_flag, right_flag = (
                (FLAG_FORWARD_FIRST, FLAG_REVERSE_SECOND)
                if rng.random() < 0.5
                else (FLAG_FORWARD_SECOND, FLAG_REVERSE_FIRST)
            )
            qname = f"{sample}_{contig_index}_{hap_index}_{pair}"
            pair += 1
            yield (
                f"{qname}\t{left_flag}\t{name}\t{left_start + 1}\t{MAPQ}\t{left_cigar}\t=\t"
                f"{right_start + 1}\t{template}\t{left_seq}\t{left_qual}\t{tag}\n"
                f"{qname}\t{right_flag}\t{name}\t{right_start + 1}\t{MAPQ}\t{right_cigar}\t=\t"
                f"{left_start + 1}\t{-template}\t{right_seq}\t{right_qual}\t{tag}\n"
            )


def _fragments(
    sequence: str, settings: ReadSettings, rng: random.Random
) -> Iterator[tuple[int, int]]:
    """(start, length) of fragments on one haplotype, never touching an N."""
    read_length = settings.read_length
    mean, sd, longest = settings.insert_size, settings.insert_sd, settings.max_fragment
    # Each haplotype carries half of the depth; each fragment gives two reads.
    fragments_per_base = settings.depth / (4 * read_length)
    profile = coverage_profile(len(sequence), settings.uneven)
    for run_start, run_end in acgt_runs(sequence):
        if run_end - run_start < longest:
            continue
        for stretch_start, stretch_end, multiple in profile:
            low, high = max(run_start, stretch_start), min(run_end, stretch_end)
            if high <= low:
                continue
            expected = fragments_per_base * multiple * (high - low)
            count = int(expected) + (rng.random() < expected - int(expected))
            for _ in range(count):
                length = min(longest, max(read_length, round(rng.gauss(mean, sd))))
                last_start = min(high, run_end - length + 1)
                if last_start <= low:
                    continue
                yield rng.randrange(low, last_start), length


def sam_header(contigs: list[Contig], sample: str) -> str:
    """Header text: @HD, one @SQ per contig, the sample's read group; no @PG (determinism)."""
    lines = ["@HD\tVN:1.6\tSO:unsorted"]
    lines += [f"@SQ\tSN:{contig.name}\tLN:{contig.length}" for contig in contigs]
    lines.append(f"@RG\tID:{sample}\tSM:{sample}\tLB:{sample}\tPL:ILLUMINA")
    return "\n".join(lines) + "\n"


def sort_and_index(unsorted_sam: Path, output: Path, reference: Path, cram: bool) -> None:
    """Coordinate-sort SAM text into BAM or CRAM (no @PG line) and index it."""
    output_format = ["-O", "cram", "--reference", str(reference)] if cram else ["-O", "bam"]
    pysam.sort("--no-PG", *output_format, "-o", str(output), str(unsorted_sam))
    pysam.index(str(output))
