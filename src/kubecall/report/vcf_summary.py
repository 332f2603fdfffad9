"""One pass over the call set: records per contig and QUAL, depth and allele-balance samples.

At cohort scale a call set holds millions of records, so the distributions keep a fixed-size,
seeded reservoir sample of each value (the same file always gives the same sample) while the
per-contig counts are exact.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pysam

from kubecall.errors import KubecallError

MAX_VALUES = 100_000


@dataclass
class Reservoir:
    """At most ``capacity`` values, each value of the stream kept with equal probability."""

    capacity: int = MAX_VALUES
    seed: int = 0
    values: list[float] = field(default_factory=list)
    seen: int = 0

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def add(self, value: float) -> None:
        self.seen += 1
        if len(self.values) < self.capacity:
            self.values.append(value)
            return
        slot = self._random.randrange(self.seen)
        if slot < self.capacity:
            self.values[slot] = value


@dataclass
class CallSetSummary:
    """Records per contig (in header order) and sampled per-record values."""

    contig_records: dict[str, int]
    qual: Reservoir
    depth: Reservoir
    allele_balance: Reservoir

    @property
    def records(self) -> int:
        return sum(self.contig_records.values())

    def write_json(self, path: Path) -> None:
        """Keep the summary, so a later rendering need not read the call set again."""
        series = {name: {"seen": r.seen, "values": r.values} for name, r in (
            ("qual", self.qual), ("depth", self.depth), ("allele_balance", self.allele_balance))}
        path.write_text(json.dumps({"contig_records": self.contig_records, **series}) + "\n")

    @classmethod
    def read_json(cls, path: Path) -> CallSetSummary:
        """A summary written by :meth:`write_json`."""
        try:
            saved: dict[str, Any] = json.loads(path.read_text())
            series = {name: Reservoir(capacity=max(1, len(saved[name]["values"])),
                                      values=list(saved[name]["values"]),
                                      seen=int(saved[name]["seen"]))
                      for name in ("qual", "depth", "allele_balance")}
            return cls(dict(saved["contig_records"]), **series)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KubecallError(f"{path} is not a call-set summary ({exc}); delete it and "
                                "rerun render_report") from None


def summarize_calls(vcf: Path, capacity: int = MAX_VALUES) -> CallSetSummary:
    """Read ``vcf`` once. Depth is INFO/DP; allele balance is freebayes' INFO/AB (reads
    supporting the first ALT over all reads, in heterozygous samples; 0 means no het call, so
    it is left out).

    Only the site columns are read: htslib is told to skip the sample columns, which are
    nearly all of a cohort call set's bytes (2,504 samples x 8 FORMAT fields a record at
    1000 Genomes scale) and none of what is summarized here.
    """
    # freebayes declares GQ as Float; htslib's warning about it says nothing to a reader.
    pysam.set_verbosity(0)
    try:
        calls = pysam.VariantFile(str(vcf), drop_samples=True)
    except (OSError, ValueError) as exc:
        raise KubecallError(f"cannot read call set {vcf}: {exc}") from None
    with calls:
        counts = {name: 0 for name in calls.header.contigs}
        has_dp = "DP" in calls.header.info
        has_ab = "AB" in calls.header.info
        summary = CallSetSummary(counts, Reservoir(capacity, 1), Reservoir(capacity, 2),
                                 Reservoir(capacity, 3))
        for record in calls:
            counts[record.chrom] = counts.get(record.chrom, 0) + 1
            if record.qual is not None:
                summary.qual.add(float(record.qual))
            if has_dp and record.info.get("DP") is not None:
                summary.depth.add(float(record.info["DP"]))
            if has_ab:
                balance = record.info.get("AB")
                first = balance[0] if isinstance(balance, tuple) else balance
                if first:
                    summary.allele_balance.add(float(first))
    return summary
