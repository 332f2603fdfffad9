"""Random reference contigs, seed derivation and FASTA input/output."""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from pathlib import Path

import pysam

from kubecall.errors import KubecallError

# Base weights for ~41% GC, the human genome-wide average.
BASE_WEIGHTS = (0.295, 0.205, 0.205, 0.295)
FASTA_LINE_WIDTH = 60
# A contig name as SAM allows it (so `:` and `*` are fine, but not as the first character).
CONTIG_NAME_PATTERN = re.compile(r"[0-9A-Za-z!#$%&+./:;?@^_|~-][0-9A-Za-z!#$%&*+./:;=?@^_|~-]*")
_ACGT_RUN = re.compile(r"[ACGT]+")


@dataclass(frozen=True)
class Contig:
    """One reference sequence (uppercase)."""

    name: str
    sequence: str

    @property
    def length(self) -> int:
        return len(self.sequence)


def derive_seed(seed: int, *labels: object) -> int:
    """A sub-seed for one part of the simulation, independent of the order parts are made in."""
    text = "/".join([str(seed), *(str(label) for label in labels)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def split_length(total: int, count: int) -> list[int]:
    """Split ``total`` bases into ``count`` contigs of decreasing length (like chromosomes)."""
    if count == 0:
        return []
    weights = [1.0 / (1.0 + 0.5 * index) for index in range(count)]
    scale = total / sum(weights)
    lengths = [int(weight * scale) for weight in weights]
    lengths[0] += total - sum(lengths)
    return lengths


def random_sequence(length: int, rng: random.Random) -> str:
    """``length`` random bases at ~41% GC."""
    return "".join(rng.choices("ACGT", weights=BASE_WEIGHTS, k=length))


def random_contig(name: str, length: int, n_gap: int, seed: int) -> Contig:
    """A random contig with a run of ``n_gap`` Ns in its middle."""
    rng = random.Random(derive_seed(seed, "reference", name))
    sequence = random_sequence(length, rng)
    if n_gap:
        gap_start = (length - n_gap) // 2
        sequence = sequence[:gap_start] + "N" * n_gap + sequence[gap_start + n_gap :]
    return Contig(name, sequence)


def acgt_runs(sequence: str) -> list[tuple[int, int]]:
    """0-based half-open runs of plain A/C/G/T: where variants and reads may come from."""
    return [match.span() for match in _ACGT_RUN.finditer(sequence)]


def read_fasta(path: Path) -> list[Contig]:
    """Every contig of a FASTA file, uppercased."""
    if not path.is_file():
        raise KubecallError(f"--include-fasta {path}: no such file; give an existing FASTA file")
    try:
        with pysam.FastxFile(str(path)) as fasta:
            contigs = [Contig(entry.name, entry.sequence.upper()) for entry in fasta]
    except (OSError, ValueError) as exc:
        raise KubecallError(f"--include-fasta {path}: not a readable FASTA file ({exc})") from exc
    if not contigs:
        raise KubecallError(f"--include-fasta {path}: no sequences found; give a FASTA file")
    return contigs


def write_fasta(contigs: list[Contig], path: Path) -> None:
    """Write ``contigs`` with fixed line width and index the file (``.fai``)."""
    with path.open("w") as handle:
        for contig in contigs:
            handle.write(f">{contig.name}\n")
            sequence = contig.sequence
            for start in range(0, len(sequence), FASTA_LINE_WIDTH):
                handle.write(sequence[start : start + FASTA_LINE_WIDTH])
                handle.write("\n")
    pysam.faidx(str(path))
