"""Genomic intervals and region plans: 0-based, half-open, formatted in one place.

A *region* is the unit of calling work: one or more intervals (it may span the end of one
contig and the start of the next) that one freebayes run covers. A record belongs to the
region whose interval contains its POS, so every record is owned by exactly one region.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kubecall.errors import KubecallError


@dataclass(frozen=True, order=True)
class Interval:
    """A 0-based, half-open interval ``[start, end)`` on one contig (BED semantics)."""

    contig: str
    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"bad interval {self.contig}:[{self.start},{self.end})")

    @property
    def length(self) -> int:
        """Number of bases covered."""
        return self.end - self.start

    def owns(self, contig: str, pos0: int) -> bool:
        """Whether a record at 0-based position ``pos0`` on ``contig`` falls in this interval."""
        return contig == self.contig and self.start <= pos0 < self.end

    def bed_fields(self) -> tuple[str, str, str]:
        """BED columns; a file, unlike a region string, keeps any contig name intact."""
        return (self.contig, str(self.start), str(self.end))

    def htslib_region(self) -> str:
        """1-based inclusive region string for samtools/bcftools; braces protect ``:`` in names."""
        return f"{{{self.contig}}}:{self.start + 1}-{self.end}"


@dataclass(frozen=True)
class Region:
    """A named unit of calling work made of one or more intervals in reference order."""

    name: str
    intervals: tuple[Interval, ...]

    @property
    def length(self) -> int:
        """Total bases over all intervals."""
        return sum(i.length for i in self.intervals)

    def owns(self, contig: str, pos0: int) -> bool:
        """Whether a record at 0-based ``pos0`` on ``contig`` belongs to this region."""
        return self.owner(contig, pos0) is not None

    def owner(self, contig: str, pos0: int) -> int | None:
        """The index of the interval holding 0-based ``pos0`` on ``contig``, or None."""
        return next((index for index, interval in enumerate(self.intervals)
                     if interval.owns(contig, pos0)), None)


def read_fai(path: Path) -> list[tuple[str, int]]:
    """Contig names and lengths from a FASTA index, in file order."""
    contigs: list[tuple[str, int]] = []
    try:
        with open(path) as handle:
            for lineno, line in enumerate(handle, 1):
                fields = line.rstrip("\n").split("\t")
                if len(fields) < 2 or not fields[1].isdigit():
                    raise KubecallError(
                        f"{path}:{lineno}: not a FASTA index line; rebuild it with "
                        f"'samtools faidx' on the reference"
                    )
                contigs.append((fields[0], int(fields[1])))
    except FileNotFoundError:
        raise KubecallError(
            f"{path}: FASTA index not found; run 'samtools faidx' on the reference"
        ) from None
    if not contigs:
        raise KubecallError(f"{path}: FASTA index lists no contigs")
    return contigs


def region_names(count: int) -> list[str]:
    """Names of ``count`` regions; zero-padded so that name order is plan order."""
    width = max(4, len(str(count - 1)))
    return [f"r{index:0{width}d}" for index in range(count)]


def plan_equal(contigs: Sequence[tuple[str, int]], count: int) -> list[Region]:
    """Split the reference into ``count`` regions of (nearly) equal total length.

    The contigs are laid end to end in index order and cut at ``round(i * total / count)``;
    a region that crosses a contig end holds one interval on each side.
    """
    total = sum(length for _, length in contigs)
    if count < 1:
        raise KubecallError(f"regions.count must be at least 1, got {count}")
    if count > total:
        raise KubecallError(
            f"regions.count is {count} but the reference has only {total} bases; "
            f"lower regions.count"
        )
    cuts = [round(index * total / count) for index in range(count + 1)]
    names = region_names(count)
    regions: list[Region] = []
    for index, name in enumerate(names):
        regions.append(Region(name, tuple(_slice_genome(contigs, cuts[index], cuts[index + 1]))))
    return regions


def _slice_genome(contigs: Sequence[tuple[str, int]], begin: int, end: int) -> list[Interval]:
    """Intervals covering ``[begin, end)`` of the contigs laid end to end."""
    intervals: list[Interval] = []
    offset = 0
    for contig, length in contigs:
        lo, hi = max(begin, offset), min(end, offset + length)
        if lo < hi:
            intervals.append(Interval(contig, lo - offset, hi - offset))
        offset += length
    return intervals


def write_plan(regions: Iterable[Region], path: Path) -> None:
    """Write a plan as BED: contig, start, end, region name (one line per interval)."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        for region in regions:
            for interval in region.intervals:
                writer.writerow([*interval.bed_fields(), region.name])


def read_plan(path: Path) -> list[Region]:
    """Read a plan written by :func:`write_plan`, keeping region and interval order."""
    grouped: dict[str, list[Interval]] = {}
    with open(path) as handle:
        for lineno, line in enumerate(handle, 1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 4:
                raise KubecallError(f"{path}:{lineno}: expected 4 BED columns, got {len(fields)}")
            contig, start, end, name = fields
            grouped.setdefault(name, []).append(Interval(contig, int(start), int(end)))
    return [Region(name, tuple(intervals)) for name, intervals in grouped.items()]


def find_region(regions: Sequence[Region], name: str) -> Region:
    """The region called ``name``, or a clear error naming the plan's regions."""
    for region in regions:
        if region.name == name:
            return region
    raise KubecallError(f"region {name!r} is not in the region plan ({len(regions)} regions)")


def write_targets(intervals: Iterable[Interval], path: Path) -> None:
    """Write intervals as a 3-column BED (freebayes ``--targets``)."""
    with open(path, "w", newline="") as handle:
        for interval in intervals:
            handle.write("\t".join(interval.bed_fields()) + "\n")


# Padded windows end on multiples of this many bases (or at a contig end), so a region's
# freebayes window depends on its cuts only through the grid points around them: over every
# region count from 1 to 256 the demo's 32,896 regions share 277 windows, which is what lets
# tests/workflow/test_region_sweep.py call each window once with real freebayes and check
# every count against serial freebayes. It adds at most WINDOW_GRID - 1 bases per side.
WINDOW_GRID = 1000


def padded_intervals(
    region: Region, padding: int, lengths: dict[str, int], grid: int = WINDOW_GRID
) -> list[Interval]:
    """The window freebayes calls for a region, of which the region keeps its own records.

    Each interval is widened by at least ``padding`` on each side, out to the next multiple
    of ``grid`` (clamped to the contig); overlapping windows are merged. Padding 0 calls the
    region's own intervals, nothing more.
    """
    if padding == 0:
        return list(region.intervals)
    widened = [
        Interval(i.contig, max(0, (i.start - padding) // grid * grid),
                 min(lengths[i.contig], -(-(i.end + padding) // grid) * grid))
        for i in region.intervals
    ]
    merged: list[Interval] = []
    for interval in widened:
        if merged and merged[-1].contig == interval.contig and interval.start <= merged[-1].end:
            merged[-1] = Interval(interval.contig, merged[-1].start,
                                  max(merged[-1].end, interval.end))
        else:
            merged.append(interval)
    return merged
