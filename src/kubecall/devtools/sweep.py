"""Region-count sweep: split calling against one serial freebayes run, for many region counts.

Calling every region of every count from 1 to 256 means 32,896 freebayes runs per data set,
hours of work. The trick: a region's freebayes window is its padded, grid-snapped window
(:func:`kubecall.pipeline.regions.padded_intervals`), and regions of different counts share
windows, so each distinct window is called once, by the workflow's own calling code, and each
count's call set is assembled from its regions' windows, every region keeping the records
whose POS it owns: the records its calling job would keep. Nothing is inferred: a count's call
set is exactly what the workflow would merge for it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from kubecall.devtools.concordance import Calls, Concordance, compare_calls, read_calls
from kubecall.pipeline.allocator import preload_environment, resolve_allocator
from kubecall.pipeline.calling import CallSettings, call_region, parse_extra
from kubecall.pipeline.config import validate_config
from kubecall.pipeline.planning import make_plan
from kubecall.pipeline.regions import WINDOW_GRID, Interval, Region, padded_intervals, read_fai

# The bundled data sets, relative to the repository: the demo cohort, and the real NA12878
# reads under both contig namings they come with (`q`; `HLA-DRB1*16:02:01`, whose `*` and
# `:` break naive region strings).
DATASETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "demo": ("resources/demo/ref.fa", ("resources/demo/S01.bam", "resources/demo/S02.bam",
                                       "resources/demo/S03.bam", "resources/demo/S04.bam",
                                       "resources/demo/NA12878.cram")),
    "na12878-q": ("resources/na12878/q.fa", ("resources/na12878/NA12878.chr22.tiny.bam",)),
    "na12878-hla": ("resources/na12878/hla.fa",
                    ("resources/na12878/NA12878.chr22.tiny.hla.bam",)),
}


@dataclass(frozen=True)
class SweepResult:
    """Per count, how its split call set compares with serial freebayes; windows called."""

    by_count: dict[int, Concordance]
    windows: int

    @property
    def discordant_sites(self) -> int:
        """Discordant sites summed over all counts."""
        return sum(c.discordant_sites for c in self.by_count.values())

    def discordant(self) -> dict[int, list[tuple[str, int]]]:
        """The counts with any discordant site, and those sites (CHROM, POS)."""
        return {count: sorted({(k[0], k[1]) for k in c.only_in_a + c.only_in_b +
                               c.genotype_differs})
                for count, c in self.by_count.items() if c.discordant_sites}

    def summary_line(self) -> str:
        """``key=value`` pairs for scripts."""
        records = sorted({c.records_a for c in self.by_count.values()})
        return (f"counts={min(self.by_count)}-{max(self.by_count)} windows={self.windows} "
                f"serial_records={','.join(map(str, records))} "
                f"discordant_counts={len(self.discordant())} "
                f"discordant_sites={self.discordant_sites}")


def call_serial(settings: CallSettings, output: Path) -> Path:
    """One freebayes run over the whole reference, no targets: the way a user would call it."""
    command = [settings.freebayes, "-f", str(settings.reference), "-L", str(settings.manifest),
               *parse_extra(settings.extra)]
    with open(output, "wb") as sink:
        freebayes = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=preload_environment(settings.allocator))
        subprocess.run(["bgzip", "-c"], stdin=freebayes.stdout, stdout=sink, check=True)
        if freebayes.wait() != 0:
            raise RuntimeError(f"serial freebayes failed: {command}")
    return output


def sweep_counts(
    counts: Iterable[int],
    plan: Callable[[int], Sequence[Region]],
    lengths: dict[str, int],
    settings: CallSettings,
    serial: Path,
    workdir: Path,
    grid: int = WINDOW_GRID,
    workers: int = 2,
) -> SweepResult:
    """Compare the split call set of each count (regions from ``plan``) with ``serial``."""
    plans = {count: plan(count) for count in counts}
    windows = {count: {region.name: padded_intervals(region, settings.padding, lengths, grid)
                       for region in regions} for count, regions in plans.items()}
    distinct = sorted({w for per_region in windows.values() for ws in per_region.values()
                       for w in ws})
    # Each window is called as a region of its own with no padding: the same targets file,
    # hence the same freebayes run, as every region whose padded window it is.
    exact = replace(settings, padding=0)
    workdir.mkdir(parents=True, exist_ok=True)

    def call(numbered: tuple[int, Interval]) -> Calls:
        number, window = numbered
        out = workdir / f"w{number:05d}.vcf.gz"
        call_region(Region(f"w{number:05d}", (window,)), lengths, exact, out,
                    workdir / f"w{number:05d}.log")
        return read_calls(out)

    with ThreadPoolExecutor(workers) as pool:
        called = dict(zip(distinct, pool.map(call, enumerate(distinct)), strict=True))
    reference = read_calls(serial)
    by_count = {}
    for count, regions in plans.items():
        merged: Calls = {}
        for region in regions:
            for window in windows[count][region.name]:
                merged.update((key, genotypes) for key, genotypes in called[window].items()
                              if region.owns(key[0], key[1] - 1))
        by_count[count] = compare_calls(reference, merged)
    return SweepResult(by_count, len(distinct))


def sweep_dataset(
    repo: Path,
    name: str,
    max_count: int,
    workdir: Path,
    padding: int | None = None,
    grid: int = WINDOW_GRID,
) -> SweepResult:
    """Sweep a bundled data set over counts 1 to ``max_count`` (as far as its contigs allow)
    with the schema's default config; ``padding`` overrides ``regions.padding``."""
    reference_rel, alignment_rels = DATASETS[name]
    reference = repo / reference_rel
    alignments = [repo / a for a in alignment_rels]
    config = {"reference": str(reference), "samples": "unused.tsv"}
    validate_config(config, repo / "workflow/schemas/config.schema.yaml", "schema defaults")
    regions, calling = config["regions"], config["calling"]
    workdir.mkdir(parents=True, exist_ok=True)
    manifest = workdir / "alignments.txt"
    manifest.write_text("".join(f"{a}\n" for a in alignments))
    settings = CallSettings(
        reference, manifest, extra=calling["extra"],
        padding=regions["padding"] if padding is None else padding,
        allocator=resolve_allocator(calling["allocator"]))
    contigs = read_fai(Path(f"{reference}.fai"))
    indexed = [(a, a.with_name(a.name + (".crai" if a.suffix == ".cram" else ".bai")))
               for a in alignments]

    def plan(count: int) -> list[Region]:
        return [w.region for w in make_plan(regions["strategy"], count, contigs, reference,
                                            indexed, weight_samples=regions["weight_samples"])]

    counts = range(1, min(max_count, sum(length for _, length in contigs)) + 1)
    serial = call_serial(settings, workdir / "serial.vcf.gz")
    return sweep_counts(counts, plan, dict(contigs), settings, serial, workdir / "windows", grid)
