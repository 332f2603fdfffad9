"""How much alignment data lies in each genomic window, read from BAM/CRAM indexes alone.

The amount of data a region holds predicts how long freebayes takes on it far better than
its length does (coverage varies, N gaps hold nothing). The index already records where each
window's reads start in the file, so the data per window is a difference of file offsets:

- BAI: the linear index (one virtual offset per 16 kb window);
- CSI: the first-alignment offset (``loffset``) of each leaf bin;
- CRAI: the byte size of each slice, spread over the span it covers.

Offsets are compressed-file positions; inside a BGZF block the uncompressed offset is scaled
by a typical 1:3 compression ratio, a documented approximation that only refines the order
of windows sharing one block. Weights are in (approximate) compressed bytes.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Sequence
from pathlib import Path

import pysam

from kubecall.errors import KubecallError

WINDOW_SHIFT = 14  # 16,384 bp windows, the BAI linear-index resolution
WINDOW = 1 << WINDOW_SHIFT
# uncompressed bytes per compressed byte inside a BGZF block (typical for BAM)
BGZF_RATIO = 3.0

Weights = dict[str, list[float]]  # contig -> data per WINDOW-sized window


def _position(virtual_offset: int) -> float:
    """A virtual file offset as an approximate compressed-byte position."""
    return (virtual_offset >> 16) + (virtual_offset & 0xFFFF) / BGZF_RATIO


def _weights_from_offsets(starts: Sequence[float], end: float) -> list[float]:
    """Data per window from each window's first-read position and the contig's data end.

    A window without reads carries the next window's offset (or 0); differences are clamped
    at zero so such windows get no data.
    """
    weights = []
    filled = list(starts)
    for index in range(len(filled) - 2, -1, -1):  # empty windows take the next known offset
        if filled[index] == 0:
            filled[index] = filled[index + 1]
    for index, start in enumerate(filled):
        stop = filled[index + 1] if index + 1 < len(filled) else end
        weights.append(max(0.0, stop - start) if start else 0.0)
    return weights


def read_bai(path: Path, contigs: Sequence[str]) -> Weights:
    """Per-window data from a BAI's linear index; ``contigs`` in the BAM header's order."""
    data = path.read_bytes()
    if data[:4] != b"BAI\x01":
        raise KubecallError(f"{path}: not a BAI index (bad magic); rebuild it with samtools index")
    (n_ref,) = struct.unpack_from("<i", data, 4)
    _check_ref_count(path, n_ref, contigs)
    offset = 8
    weights: Weights = {}
    for contig in contigs:
        (n_bin,) = struct.unpack_from("<i", data, offset)
        offset += 4
        data_end = 0
        for _ in range(n_bin):
            bin_id, n_chunk = struct.unpack_from("<Ii", data, offset)
            offset += 8
            if n_chunk and bin_id != 37450:  # 37450: pseudo-bin of counts, not data
                last_end = struct.unpack_from("<Q", data, offset + 16 * n_chunk - 8)[0]
                data_end = max(data_end, last_end)
            offset += 16 * n_chunk
        (n_intv,) = struct.unpack_from("<i", data, offset)
        offset += 4
        linear = struct.unpack_from(f"<{n_intv}Q", data, offset)
        offset += 8 * n_intv
        weights[contig] = _weights_from_offsets([_position(v) for v in linear],
                                                _position(data_end))
    return weights


def read_csi(path: Path, contigs: Sequence[str]) -> Weights:
    """Per-window data from a CSI's leaf bins (their ``loffset``)."""
    data = gzip.decompress(path.read_bytes())
    if data[:4] != b"CSI\x01":
        raise KubecallError(f"{path}: not a CSI index (bad magic); rebuild it with samtools index")
    min_shift, depth, l_aux = struct.unpack_from("<iii", data, 4)
    offset = 16 + l_aux
    (n_ref,) = struct.unpack_from("<i", data, offset)
    offset += 4
    _check_ref_count(path, n_ref, contigs)
    first_leaf = ((1 << (3 * depth)) - 1) // 7
    pseudo_bin = first_leaf + (1 << (3 * depth)) + 1  # htslib META_BIN: n_bins + 1
    weights: Weights = {}
    for contig in contigs:
        (n_bin,) = struct.unpack_from("<i", data, offset)
        offset += 4
        leaf_starts: dict[int, float] = {}
        data_end = 0
        for _ in range(n_bin):
            bin_id, loffset, n_chunk = struct.unpack_from("<IQi", data, offset)
            offset += 16
            if n_chunk and bin_id < pseudo_bin:
                last_end = struct.unpack_from("<Q", data, offset + 16 * n_chunk - 8)[0]
                data_end = max(data_end, last_end)
                if bin_id >= first_leaf:
                    leaf_starts[bin_id - first_leaf] = _position(loffset)
            offset += 16 * n_chunk
        weights[contig] = _rescale(leaf_starts, min_shift, _position(data_end))
    return weights


def _rescale(leaf_starts: dict[int, float], min_shift: int, end: float) -> list[float]:
    """Leaf-bin offsets at 2**min_shift resolution turned into WINDOW-sized weights."""
    if not leaf_starts:
        return []
    count = max(leaf_starts) + 1
    starts = [leaf_starts.get(index, 0.0) for index in range(count)]
    fine = _weights_from_offsets(starts, end)
    if min_shift == WINDOW_SHIFT:
        return fine
    size = 1 << min_shift
    windows = [0.0] * ((count * size + WINDOW - 1) // WINDOW)
    for index, weight in enumerate(fine):
        windows[(index * size) // WINDOW] += weight
    return windows


def read_crai(path: Path, contigs: Sequence[str]) -> Weights:
    """Per-window data from a CRAI: each slice's byte size spread over the span it covers."""
    try:
        text = gzip.decompress(path.read_bytes()).decode()
    except (OSError, UnicodeDecodeError) as exc:
        raise KubecallError(
            f"{path}: not a CRAI index ({exc}); rebuild it with samtools index"
        ) from None
    weights: Weights = {contig: [] for contig in contigs}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) != 6:
            continue
        tid, start, span, size = int(fields[0]), int(fields[1]), int(fields[2]), int(fields[5])
        if not 0 <= tid < len(contigs) or span <= 0:
            continue  # unmapped (-1) or multi-reference (-2) slices
        windows = weights[contigs[tid]]
        first, last = (start - 1) >> WINDOW_SHIFT, (start - 1 + span - 1) >> WINDOW_SHIFT
        if len(windows) <= last:
            windows.extend([0.0] * (last + 1 - len(windows)))
        share = size / (last - first + 1)
        for index in range(first, last + 1):
            windows[index] += share
    return weights


def read_index_weights(index: Path, contigs: Sequence[str]) -> Weights:
    """Per-window data for one alignment, from whichever index type ``index`` is."""
    suffix = index.suffix
    if suffix == ".bai":
        return read_bai(index, contigs)
    if suffix == ".csi":
        return read_csi(index, contigs)
    if suffix == ".crai":
        return read_crai(index, contigs)
    raise KubecallError(f"{index}: unknown index type; expected .bai, .csi or .crai")


def _check_ref_count(path: Path, n_ref: int, contigs: Sequence[str]) -> None:
    if n_ref != len(contigs):
        raise KubecallError(
            f"{path}: index lists {n_ref} contigs but the alignment header {len(contigs)}; "
            f"rebuild the index with samtools index"
        )


def cohort_weights(
    alignments: Sequence[tuple[Path, Path]], reference: Path, max_samples: int
) -> Weights:
    """Data per window summed over (at most ``max_samples``, evenly spaced) alignments.

    Coverage profiles of a cohort sequenced alike differ mostly in scale, so a sample of the
    cohort predicts where the work lies as well as all 2,504 indexes would, far faster.
    """
    chosen = list(alignments)
    if len(chosen) > max_samples:
        step = len(chosen) / max_samples
        chosen = [chosen[int(i * step)] for i in range(max_samples)]
    total: Weights = {}
    for alignment, index in chosen:
        with pysam.AlignmentFile(str(alignment), check_sq=False,
                                 reference_filename=str(reference)) as handle:
            contigs = list(handle.references)
        for contig, weights in read_index_weights(index, contigs).items():
            into = total.setdefault(contig, [])
            if len(into) < len(weights):
                into.extend([0.0] * (len(weights) - len(into)))
            for position, weight in enumerate(weights):
                into[position] += weight
    return total
