#!/usr/bin/env python3
"""How the DAG scales: dry run for a 1000 Genomes-sized cohort (no reads needed).

Generates a sample sheet of N samples (alignments need not exist for a dry run: preflight is
a job, and a dry run executes none), a reference index with GRCh37's main contigs, and runs
``snakemake -n`` with R regions. Prints the figures, last line ``key=value`` pairs:

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


def make_inputs(workdir: Path, samples: int, regions: int) -> Path:
    """Write reference stub + .fai, sample sheet and config; return the config path."""
    (workdir / "ref.fa").write_text("")
    (workdir / "ref.fa.fai").write_text(
        "".join(f"{name}\t{length}\t0\t60\t61\n" for name, length in GRCH37))
    with open(workdir / "samples.tsv", "w") as sheet:
        sheet.write("sample\talignment\n")
        for index in range(samples):
            name = f"HG{index:05d}"
            sheet.write(f"{name}\t/datasource/1000g/{name}.mapped.bam\n")
    config = workdir / "config.yaml"
    config.write_text(f"reference: {workdir}/ref.fa\nsamples: {workdir}/samples.tsv\n"
                      f"regions:\n  count: {regions}\n")
    return config


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2504)
    parser.add_argument("--regions", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dag-scale-") as tmp:
        workdir = Path(tmp)
        config = make_inputs(workdir, args.samples, args.regions)
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
    print(f"dry run of {args.samples} samples x {args.regions} regions: {jobs} jobs")
    print(f"samples={args.samples} regions={args.regions} jobs={jobs} "
          f"seconds={seconds:.2f} peak_mb={peak_mb:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
