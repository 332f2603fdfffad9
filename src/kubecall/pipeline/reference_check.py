"""What the reference FASTA must be before freebayes reads it: plain, indexed by its own .fai.

freebayes reads the FASTA through its .fai with its own reader: a compressed file, or a .fai
made from another FASTA, gives aborted or wrong calling jobs hours later. One pass over the
sequence also yields each contig's MD5 (what a CRAM's ``@SQ M5`` must equal) and the IUPAC
ambiguity codes, which freebayes reports as ``N>base`` records, hom-alt in every sample.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from kubecall.errors import KubecallError

GZIP_MAGIC = b"\x1f\x8b"
# Everything a sequence line may hold besides A, C, G, T and N (either case).
_NOT_ACGTN = re.compile(rb"[^ACGTNacgtn]")


@dataclass(frozen=True)
class ReferenceFacts:
    """Per contig: the MD5 of its upper-case sequence, and where it has IUPAC codes."""

    md5: dict[str, str]
    iupac: dict[str, list[tuple[int, str]]]  # contig -> [(1-based position, code), ...]

    def iupac_count(self) -> int:
        """How many non-ACGTN bases the reference has."""
        return sum(len(found) for found in self.iupac.values())


def check_not_compressed(reference: Path, key: str = "reference") -> None:
    """Refuse a gzip or bgzip FASTA: freebayes reads plain FASTA only."""
    with open(reference, "rb") as handle:
        head = handle.read(18)
    if head[:2] != GZIP_MAGIC:
        return
    # a bgzip block carries the extra subfield 'BC'
    kind = "bgzip" if len(head) >= 14 and head[12:14] == b"BC" else "gzip"
    plain = reference.with_name(f"{reference.stem}.plain{reference.suffix}")
    raise KubecallError(
        f"reference {reference} (config key '{key}') is {kind}-compressed, but freebayes needs "
        f"a plain FASTA (samtools indexes a bgzipped one, then every freebayes run aborts); "
        f"run 'gzip -dc {reference} > {plain} && samtools faidx {plain}' and set '{key}' to "
        f"{plain}"
    )


def check_fai_matches(reference: Path, fai: Path) -> None:
    """Each .fai line must point at its contig's header line and sequence in this FASTA."""
    size = reference.stat().st_size
    fix = (f"the index {fai} was not made from {reference}; delete it and run "
           f"'samtools faidx {reference}' (or make it beforehand where you can write)")
    with open(fai) as index, open(reference, "rb") as fasta:
        for lineno, line in enumerate(index, 1):
            fields = line.rstrip("\n").split("\t")
            try:
                name, length, offset, bases, width = fields[0], *map(int, fields[1:5])
            except ValueError:
                raise KubecallError(f"{fai}:{lineno}: not a FASTA index line; {fix}") from None
            problem = _fai_entry_problem(fasta, size, name, length, offset, bases, width)
            if problem:
                raise KubecallError(f"{fai}:{lineno}: contig {name!r}: {problem}; {fix}")


def _fai_entry_problem(fasta, size: int, name: str, length: int, offset: int, bases: int,
                       width: int) -> str:
    """What is wrong with one .fai entry against the open FASTA, or '' when it fits."""
    if bases <= 0 or width < bases or length <= 0:
        return "line lengths or contig length are not valid"
    full, rest = divmod(length - 1, bases)
    last = offset + full * width + rest  # where the last base is
    if last >= size:
        return f"the index places it beyond the end of the FASTA ({size} bytes)"
    fasta.seek(max(0, offset - 1024))
    before = fasta.read(offset - max(0, offset - 1024))
    header = before.rstrip(b"\n").rsplit(b"\n", 1)[-1] if before.endswith(b"\n") else b""
    if header.lstrip(b">").split()[:1] != [name.encode()] or not header.startswith(b">"):
        return f"the FASTA has no header line '>{name}' where the index says it starts"
    if length > bases:  # the first line must hold exactly ``bases`` bases, then end
        fasta.seek(offset + bases - 1)
        around = fasta.read(width - bases + 1)
        if not around[:1].isalpha() or around[1:].strip() != b"" or b"\n" not in around:
            return f"its first line is not {bases} bases long, as the index says"
    fasta.seek(last)
    last_and_next = fasta.read(2)
    if not last_and_next[:1].isalpha() or last_and_next[1:] not in (b"", b"\n", b"\r"):
        return f"the sequence does not end after {length} bases where the index says it does"
    return ""


def scan_reference(reference: Path, contigs: list[tuple[str, int]]) -> ReferenceFacts:
    """Read every contig once: MD5 of the upper-case sequence, and its non-ACGTN codes."""
    import pysam  # here: the workflow imports this module at load, and needs no pysam there

    md5: dict[str, str] = {}
    iupac: dict[str, list[tuple[int, str]]] = {}
    with pysam.FastaFile(str(reference)) as fasta:
        for name, _ in contigs:
            sequence = fasta.fetch(name).upper().encode()
            md5[name] = hashlib.md5(sequence).hexdigest()
            found = [(m.start() + 1, m.group().decode()) for m in _NOT_ACGTN.finditer(sequence)]
            if found:
                iupac[name] = found
    return ReferenceFacts(md5, iupac)


def iupac_problem(reference: Path, facts: ReferenceFacts, key: str) -> str:
    """The message for a reference with IUPAC codes: where they are and both ways out."""
    shown = [f"{contig}:{pos} {code}" for contig, found in facts.iupac.items()
             for pos, code in found][:5]
    more = facts.iupac_count() - len(shown)
    return (
        f"reference {reference} has {facts.iupac_count()} IUPAC ambiguity code(s) "
        f"({', '.join(shown)}{f' and {more} more' if more else ''}); freebayes reports each "
        f"as an N>base record, hom-alt in every sample with a high QUAL. With BAMs, call "
        f"against a copy with the codes as N (same names and lengths): "
        f"sed '/^>/!s/[^ACGTNacgtn]/N/g' {reference} > ref.acgtn.fa; with CRAMs (decoded "
        f"with these exact bases) or to accept those records, set '{key}: keep'"
    )
