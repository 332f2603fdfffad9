"""Whether an index belongs to its alignment: reading through it must land on its contigs.

An index made for another file (a sheet's ``index`` column pointing at the neighbour's
``.bai``) is fresh and well-formed, and htslib only fails when a calling job seeks through it
(``Invalid BGZF header``), or reads the wrong records. Seeking to the first record of a few
contigs the index says hold reads is enough to tell, and costs a few reads per file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pysam

# How many contigs with reads (the first ones and the last one) are sought per file.
CONTIGS_SOUGHT = 3


def index_problem(
    alignment: Path, index: Path, file_format: str, reference: Path,
    contigs: Sequence[tuple[str, int]],
) -> str | None:
    """What is wrong with reading ``alignment`` through ``index``, or None when it works."""
    fix = (f"point the sheet's 'index' column at this file's own index, or rebuild it with "
           f"'samtools index {alignment}'")
    mode = "rc" if file_format == "CRAM" else "rb"
    try:
        with pysam.AlignmentFile(str(alignment), mode, index_filename=str(index),
                                 reference_filename=str(reference), check_sq=False) as handle:
            for contig in _contigs_to_seek(handle, contigs):
                read = next(handle.fetch(contig), None)
                if read is not None and read.reference_name != contig:
                    return (f"index {index} does not belong to it (seeking to {contig!r} "
                            f"reads a record on {read.reference_name!r}); {fix}")
    except (OSError, ValueError) as exc:
        return f"index {index} does not belong to it (reading through it fails: {exc}); {fix}"
    return None


def _contigs_to_seek(handle: pysam.AlignmentFile, contigs: Sequence[tuple[str, int]]
                     ) -> list[str]:
    """Contigs the index says hold mapped reads (BAI/CSI), else the reference's first ones."""
    try:
        mapped = [s.contig for s in handle.get_index_statistics() if s.mapped]
    except (AttributeError, ValueError, OSError):
        mapped = [name for name, _ in contigs if name in handle.references]
    if len(mapped) <= CONTIGS_SOUGHT:
        return mapped
    return [*mapped[: CONTIGS_SOUGHT - 1], mapped[-1]]
