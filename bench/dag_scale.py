#!/usr/bin/env python3
"""How the DAG scales: dry run for a 1000 Genomes-sized cohort (no reads needed).

Generates a sample sheet of N samples (alignments need not exist for a dry run: preflight is
a job, and a dry run executes none) with the 26 1000 Genomes populations cycled through the
population, super_population and group columns, a reference index with GRCh37's main contigs,
and runs ``snakemake -n`` with R regions. By default the cohort is selected by population
(all 26 listed, so every sample stays in and the selection code runs at full size);
``--populations GBR,FIN`` selects fewer, ``--populations all`` turns selection off.
Prints the figures, last line ``key=value`` pairs:

    python bench/dag_scale.py --samples 2504 --regions 3000
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# GRCh37 autosomes, X, Y and MT: lengths only matter for the region plan's shape.
GRCH37 = [("1", 249250621), ("2", 243199373), ("3", 198022430), ("4", 191154276),
          ("5", 180915260), ("6", 171115067), ("7", 159138663), ("8", 146364022),
          ("9", 141213431), ("10", 135534747), ("11", 135006516), ("12", 133851895),
          ("13", 115169878), ("14", 107349540), ("15", 102531392), ("16", 90354753),
          ("17", 81195210), ("18", 78077248), ("19", 59128983), ("20", 63025520),
          ("21", 48129895), ("22", 51304566), ("X", 155270560), ("Y", 59373566),
          ("MT", 16569)]
# The 26 1000 Genomes phase 3 populations and their super-populations.
POPULATIONS = {
    "AFR": ["YRI", "LWK", "GWD", "MSL", "ESN", "ASW", "ACB"],
    "AMR": ["MXL", "PUR", "CLM", "PEL"],
    "EAS": ["CHB", "JPT", "CHS", "CDX", "KHV"],
    "EUR": ["CEU", "TSI", "FIN", "GBR", "IBS"],
    "SAS": ["GIH", "PJL", "BEB", "STU", "ITU"],
}
SUPER_OF = {pop: sup for sup, pops in POPULATIONS.items() for pop in pops}


def make_inputs(workdir: Path, samples: int, regions: int, selected: list[str],
                batches: int, mode: str) -> Path:
    """Write reference stub + .fai, sample sheet and config; return the config path."""
    (workdir / "ref.fa").write_text("")
    (workdir / "ref.fa.fai").write_text(
        "".join(f"{name}\t{length}\t0\t60\t61\n" for name, length in GRCH37))
    populations = sorted(SUPER_OF)
    with open(workdir / "samples.tsv", "w") as sheet:
        sheet.write("sample\talignment\tpopulation\tsuper_population\tgroup\n")
        for index in range(samples):
            name = f"HG{index:05d}"
            pop = populations[index % len(populations)]
            sheet.write(f"{name}\t/datasource/1000g/{name}.mapped.bam\t{pop}\t"
                        f"{SUPER_OF[pop]}\t{pop}\n")
    cohort = (f"cohort:\n  select: populations\n  populations: [{', '.join(selected)}]\n"
              if selected else "")
    config = workdir / "config.yaml"
    config.write_text(f"reference: {workdir}/ref.fa\nsamples: {workdir}/samples.tsv\n"
                      f"{cohort}regions:\n  count: {regions}\n  batches: {batches}\n"
                      f"calling:\n  mode: {mode}\n  group_by: population\n")
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2504)
    parser.add_argument("--regions", type=int, default=3000)
    parser.add_argument("--batches", type=int, default=3000,
                        help="calling jobs (regions.batches); 3000 = one region a job, the "
                             "largest DAG this many regions can make")
    parser.add_argument("--mode", choices=["joint", "per_group", "per_sample"], default="joint",
                        help="calling.mode; per_group groups by population (26)")
    parser.add_argument("--populations", default=",".join(sorted(SUPER_OF)),
                        help="comma-separated populations to select (default: all 26, so "
                             "selection runs but keeps everyone); 'all' disables selection")
    args = parser.parse_args()
    selected = [] if args.populations == "all" else args.populations.split(",")
    with tempfile.TemporaryDirectory(prefix="dag-scale-") as tmp:
        workdir = Path(tmp)
        config = make_inputs(workdir, args.samples, args.regions, selected, args.batches,
                             args.mode)
        command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                   "--directory", str(workdir), "--configfile", str(config), "--cores", "2",
                   "--dry-run", "--quiet", "rules"]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-4000:], sep="\n", file=sys.stderr)
        return 1
    total = re.search(r"^total\s+(\d+)", done.stdout + done.stderr, re.MULTILINE)
    jobs = int(total.group(1)) if total else -1
    selection = f"populations {','.join(selected)}" if selected else "all samples"
    print(f"dry run of {args.samples} samples x {args.regions} regions ({selection}): "
          f"{jobs} jobs")
    print(f"samples={args.samples} regions={args.regions} mode={args.mode} "
          f"batches={args.batches} selected_populations="
          f"{len(selected) or 'all'} jobs={jobs} seconds={seconds:.2f} peak_mb={peak_mb:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
