"""Parse the sections of ``bcftools stats -s -`` output the report shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from kubecall.errors import KubecallError


@dataclass
class SampleCounts:
    """One PSC row: per-sample genotype counts (SNP ref/het/hom only, as bcftools counts)."""

    sample: str
    ref_hom: int
    nonref_hom: int
    hets: int
    transitions: int
    transversions: int
    indels: int
    mean_depth: float
    singletons: int
    missing: int


@dataclass
class BcftoolsStats:
    """Summary numbers, Ts/Tv and per-sample counts of one stats file."""

    summary: dict[str, int] = field(default_factory=dict)
    ts: int = 0
    tv: int = 0
    ts_tv: float = 0.0
    samples: list[SampleCounts] = field(default_factory=list)

    def count(self, key: str) -> int:
        """A summary number by its bcftools label without the colon, e.g. ``number of SNPs``."""
        return self.summary.get(key, 0)


def parse_stats(path: Path) -> BcftoolsStats:
    """Read SN, TSTV and PSC lines of a ``bcftools stats`` file (first id only)."""
    stats = BcftoolsStats()
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise KubecallError(f"cannot read bcftools stats {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        fields = line.split("\t")
        try:
            if fields[0] == "SN" and fields[1] == "0":
                stats.summary[fields[2].rstrip(":")] = int(fields[3])
            elif fields[0] == "TSTV" and fields[1] == "0":
                stats.ts, stats.tv, stats.ts_tv = int(fields[2]), int(fields[3]), float(fields[4])
            elif fields[0] == "PSC" and fields[1] == "0":
                stats.samples.append(SampleCounts(
                    sample=fields[2], ref_hom=int(fields[3]), nonref_hom=int(fields[4]),
                    hets=int(fields[5]), transitions=int(fields[6]),
                    transversions=int(fields[7]), indels=int(fields[8]),
                    mean_depth=float(fields[9]), singletons=int(fields[10]),
                    missing=int(fields[13]) if len(fields) > 13 else 0,
                ))
        except (IndexError, ValueError):
            raise KubecallError(
                f"{path}:{number}: not a bcftools stats line ({line[:60]!r}); "
                "regenerate it with 'bcftools stats -s -'"
            ) from None
    return stats
