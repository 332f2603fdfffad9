"""Region plans: which stretches of the reference each freebayes run covers.

Three strategies (config ``regions.strategy``):

- ``equal``: equal lengths from the reference index;
- ``balanced``: equal expected work, from the alignment data per 16 kb window read from the
  cohort's indexes (:mod:`kubecall.pipeline.index_weights`), with each cut moved to a nearby
  contig end, N gap or low-coverage window when that costs little balance;
- ``bed``: user targets, grouped into regions of about equal length (targets are never split).

A region's *weight* is its expected work; batching (:mod:`kubecall.pipeline.batching`) uses it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path

import pysam

from kubecall.errors import KubecallError
from kubecall.pipeline.index_weights import WINDOW, Weights, cohort_weights
from kubecall.pipeline.regions import Interval, Region, plan_equal, region_names

# Uncovered bases still cost freebayes a little; as a share of the mean data per base.
BASE_COST = 0.01
# A cut may move to a better place if that shifts at most this share of a region's weight.
SNAP_TOLERANCE = 0.10
# A window with less than this share of the mean window weight is "low coverage".
LOW_COVERAGE = 0.25
# N runs at least this long are gaps worth cutting in.
MIN_N_GAP = 50


@dataclass(frozen=True)
class WeightedRegion:
    """A region and its expected work (arbitrary units, comparable within one plan)."""

    region: Region
    weight: float


def plan_equal_weighted(contigs: Sequence[tuple[str, int]], count: int) -> list[WeightedRegion]:
    """Equal-length regions; weight = length."""
    return [WeightedRegion(r, float(r.length)) for r in plan_equal(contigs, count)]


@dataclass
class _Genome:
    """Contigs laid end to end, with per-window weights and their running sum."""

    contigs: list[tuple[str, int]]
    offsets: list[int]  # genome offset of each contig's start
    window_starts: list[int]  # genome offset of each window
    cumulative: list[float]  # weight before each window (len = windows + 1)

    @property
    def total_bases(self) -> int:
        return self.offsets[-1]

    def weight_before(self, position: int) -> float:
        """Cumulative weight of the genome before ``position`` (linear inside a window)."""
        index = bisect.bisect_right(self.window_starts, position) - 1
        start = self.window_starts[index]
        end = self.window_starts[index + 1] if index + 1 < len(self.window_starts) else \
            self.total_bases
        share = (position - start) / (end - start) if end > start else 0.0
        return self.cumulative[index] + share * (self.cumulative[index + 1] -
                                                 self.cumulative[index])

    def position_at(self, weight: float) -> int:
        """The genome offset where the cumulative weight reaches ``weight``."""
        index = max(0, bisect.bisect_left(self.cumulative, weight) - 1)
        index = min(index, len(self.window_starts) - 1)
        start = self.window_starts[index]
        end = self.window_starts[index + 1] if index + 1 < len(self.window_starts) else \
            self.total_bases
        span = self.cumulative[index + 1] - self.cumulative[index]
        share = (weight - self.cumulative[index]) / span if span > 0 else 0.0
        return int(round(start + min(max(share, 0.0), 1.0) * (end - start)))


def _build_genome(contigs: Sequence[tuple[str, int]], weights: Weights) -> _Genome:
    total_data = sum(sum(w) for w in weights.values())
    total_bases = sum(length for _, length in contigs)
    per_base = BASE_COST * (total_data / total_bases if total_data else 1.0)
    offsets, window_starts, cumulative = [0], [], [0.0]
    for name, length in contigs:
        data = weights.get(name, [])
        for index, start in enumerate(range(0, length, WINDOW)):
            end = min(start + WINDOW, length)
            window_starts.append(offsets[-1] + start)
            value = (data[index] if index < len(data) else 0.0) + per_base * (end - start)
            cumulative.append(cumulative[-1] + value)
        offsets.append(offsets[-1] + length)
    return _Genome(list(contigs), offsets, window_starts, cumulative)


def find_n_gaps(reference: Path, contigs: Sequence[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """Runs of at least MIN_N_GAP ``N`` bases: (contig, start, end), 0-based half-open."""
    gaps = []
    pattern = re.compile(f"[Nn]{{{MIN_N_GAP},}}")
    with pysam.FastaFile(str(reference)) as fasta:
        for name, _ in contigs:
            for match in pattern.finditer(fasta.fetch(name)):
                gaps.append((name, match.start(), match.end()))
    return gaps


def _cut_candidates(genome: _Genome, gaps: Sequence[tuple[str, int, int]]) -> list[tuple[int, int]]:
    """Good places to cut, as (priority, genome offset); lower priority is better."""
    candidates = [(0, offset) for offset in genome.offsets[1:-1]]  # contig ends: no carried state
    starts = {name: genome.offsets[i] for i, (name, _) in enumerate(genome.contigs)}
    candidates += [(1, starts[name] + (start + end) // 2) for name, start, end in gaps]
    mean = genome.cumulative[-1] / max(1, len(genome.window_starts))
    for index, start in enumerate(genome.window_starts):
        weight = genome.cumulative[index + 1] - genome.cumulative[index]
        if weight < LOW_COVERAGE * mean:
            end = genome.window_starts[index + 1] if index + 1 < len(genome.window_starts) \
                else genome.total_bases
            candidates.append((2, (start + end) // 2))
    return sorted(candidates, key=lambda c: c[1])


def plan_balanced(
    contigs: Sequence[tuple[str, int]],
    weights: Weights,
    count: int,
    gaps: Sequence[tuple[str, int, int]] = (),
) -> list[WeightedRegion]:
    """``count`` regions of about equal data, cuts snapped to contig ends, N gaps or
    low-coverage windows when that moves at most SNAP_TOLERANCE of a region's weight."""
    genome = _build_genome(contigs, weights)
    if count > genome.total_bases:
        raise KubecallError(f"regions.count is {count} but the reference has only "
                            f"{genome.total_bases} bases; lower regions.count")
    total = genome.cumulative[-1]
    per_region = total / count
    candidates = _cut_candidates(genome, gaps)
    positions = [c[1] for c in candidates]
    cuts = [0]
    for k in range(1, count):
        target = k * per_region
        ideal = genome.position_at(target)
        cut = ideal
        lo = bisect.bisect_left(positions, genome.position_at(target - SNAP_TOLERANCE * per_region))
        hi = bisect.bisect_right(positions,
                                 genome.position_at(target + SNAP_TOLERANCE * per_region))
        near = [c for c in candidates[lo:hi] if cuts[-1] < c[1] < genome.total_bases]
        if near:
            cut = min(near, key=lambda c: (c[0], abs(c[1] - ideal)))[1]
        cuts.append(max(cut, cuts[-1] + 1))
    cuts.append(genome.total_bases)
    cuts = _strictly_increasing(cuts, genome.total_bases)
    names = region_names(count)
    return [
        WeightedRegion(
            Region(names[i], tuple(_slice(genome, cuts[i], cuts[i + 1]))),
            genome.weight_before(cuts[i + 1]) - genome.weight_before(cuts[i]),
        )
        for i in range(count)
    ]


def _strictly_increasing(cuts: list[int], total: int) -> list[int]:
    """Repair cuts pushed past each other near the genome's end (tiny genomes only)."""
    for index in range(len(cuts) - 2, 0, -1):
        cuts[index] = min(cuts[index], cuts[index + 1] - 1)
    if cuts[1] <= 0:
        raise KubecallError(f"cannot cut {total} bases into {len(cuts) - 1} regions")
    return cuts


def _slice(genome: _Genome, begin: int, end: int) -> list[Interval]:
    intervals = []
    for index, (name, length) in enumerate(genome.contigs):
        offset = genome.offsets[index]
        lo, hi = max(begin, offset), min(end, offset + length)
        if lo < hi:
            intervals.append(Interval(name, lo - offset, hi - offset))
    return intervals


def read_targets(path: Path, contigs: Sequence[tuple[str, int]]) -> list[Interval]:
    """Targets from a BED file, checked against the reference, sorted and merged."""
    lengths = dict(contigs)
    order = {name: rank for rank, (name, _) in enumerate(contigs)}
    if not path.is_file():
        raise KubecallError(f"targets file {path} (config key regions.targets) not found")
    intervals = []
    with open(path) as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            fields = line.rstrip("\n").split("\t")
            where = f"{path}:{lineno}"
            if len(fields) < 3 or not fields[1].isdigit() or not fields[2].isdigit():
                raise KubecallError(f"{where}: expected tab-separated contig, start, end")
            name, start, end = fields[0], int(fields[1]), int(fields[2])
            if name not in lengths:
                raise KubecallError(f"{where}: contig {name!r} is not in the reference")
            if not start < end <= lengths[name]:
                raise KubecallError(f"{where}: interval {start}-{end} is empty or beyond the "
                                    f"end of {name} ({lengths[name]} bp); BED is 0-based")
            intervals.append(Interval(name, start, end))
    if not intervals:
        raise KubecallError(f"{path}: no targets")
    intervals.sort(key=lambda i: (order[i.contig], i.start, i.end))
    merged = [intervals[0]]
    for interval in intervals[1:]:
        last = merged[-1]
        if interval.contig == last.contig and interval.start <= last.end:
            merged[-1] = Interval(last.contig, last.start, max(last.end, interval.end))
        else:
            merged.append(interval)
    return merged


def plan_targets(targets: Sequence[Interval], count: int) -> list[WeightedRegion]:
    """Consecutive targets grouped into at most ``count`` regions of about equal bases."""
    count = min(count, len(targets))
    cumulative = list(accumulate(t.length for t in targets))
    total = cumulative[-1]
    bounds = [0]
    for k in range(1, count):
        end = bisect.bisect_left(cumulative, k * total / count) + 1
        # at least one target per region, and enough left for the regions still to come
        bounds.append(min(max(end, bounds[-1] + 1), len(targets) - (count - k)))
    bounds.append(len(targets))
    names = region_names(count)
    regions = []
    for k in range(count):
        group = tuple(targets[bounds[k]:bounds[k + 1]])
        regions.append(WeightedRegion(Region(names[k], group), float(sum(t.length for t in group))))
    return regions


def make_plan(
    strategy: str,
    count: int,
    contigs: Sequence[tuple[str, int]],
    reference: Path,
    alignments: Sequence[tuple[Path, Path]] = (),
    targets: Path | None = None,
    weight_samples: int = 32,
) -> list[WeightedRegion]:
    """The region plan for a strategy (see the module docstring)."""
    if strategy == "equal":
        return plan_equal_weighted(contigs, count)
    if strategy == "balanced":
        weights = cohort_weights(alignments, reference, weight_samples)
        return plan_balanced(contigs, weights, count, find_n_gaps(reference, contigs))
    if strategy == "bed":
        if targets is None:
            raise KubecallError("regions.strategy is bed but regions.targets names no BED file")
        return plan_targets(read_targets(targets, contigs), count)
    raise KubecallError(f"unknown regions.strategy {strategy!r}; use equal, balanced or bed")
