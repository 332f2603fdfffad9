#!/usr/bin/env python3
"""Accuracy and fidelity of the workflow on a simulated cohort, side by side with serial freebayes.

Simulates a cohort (``kubecall simulate``), runs the workflow with ``profiles/local`` and
one serial freebayes run over the same BAMs, then prints recall/precision of both against the
truth VCF and the record-level concordance of the workflow with the serial run. Run by hand:

    python bench/accuracy.py --samples 4 --length 1000000 --depth 20 --regions 32
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kubecall.devtools.accuracy import compare_calls
from kubecall.devtools.concordance import compare_records
from kubecall.devtools.simulate import SimulationParams, simulate_cohort

REPO = Path(__file__).resolve().parents[1]


def run_workflow(cohort: Path, regions: int, cores: int) -> tuple[Path, float]:
    workdir = cohort / "work"
    workdir.mkdir()
    config = workdir / "config.yaml"
    config.write_text(f"reference: {cohort}/ref.fa\nsamples: {cohort}/samples.tsv\n"
                      f"regions:\n  count: {regions}\n")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                    "--profile", str(REPO / "profiles/local"), "--directory", str(workdir),
                    "--configfile", str(config), "--cores", str(cores), "--quiet", "all"],
                   check=True)
    return workdir / "results/calls/cohort.vcf.gz", time.perf_counter() - started


def run_serial(cohort: Path, bams: list[Path]) -> tuple[Path, float]:
    out = cohort / "serial.vcf.gz"
    started = time.perf_counter()
    with open(out, "wb") as sink:
        freebayes = subprocess.Popen(["freebayes", "-f", str(cohort / "ref.fa"),
                                      *map(str, bams)], stdout=subprocess.PIPE)
        subprocess.run(["bgzip", "-c"], stdin=freebayes.stdout, stdout=sink, check=True)
        if freebayes.wait() != 0:
            raise SystemExit("serial freebayes failed")
    return out, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--length", type=int, default=1_000_000)
    parser.add_argument("--depth", type=float, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--regions", type=int, default=32)
    parser.add_argument("--cores", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-accuracy-") as tmp:
        cohort = Path(tmp)
        files = simulate_cohort(cohort, SimulationParams(samples=args.samples,
                                length=args.length, depth=args.depth, seed=args.seed))
        workflow_vcf, workflow_s = run_workflow(cohort, args.regions, args.cores)
        serial_vcf, serial_s = run_serial(cohort, [s.alignment for s in files.samples])
        ours = compare_calls(files.truth_vcf, workflow_vcf, files.reference)
        serial = compare_calls(files.truth_vcf, serial_vcf, files.reference)
        fidelity = compare_records(serial_vcf, workflow_vcf)
    print(f"cohort: {args.samples} samples x {args.length} bp at {args.depth}x, "
          f"{args.regions} regions, {args.cores} cores")
    print(f"kubecall: {ours.summary_line()}")
    print(f"serial:   {serial.summary_line()}")
    print(f"kubecall vs serial: {fidelity.summary_line()}")
    print(f"samples={args.samples} length={args.length} depth={args.depth} "
          f"regions={args.regions} kubecall_s={workflow_s:.1f} serial_s={serial_s:.1f} "
          f"snp_recall={ours.snp.recall:.4f} snp_precision={ours.snp.precision:.4f} "
          f"indel_recall={ours.indel.recall:.4f} indel_precision={ours.indel.precision:.4f} "
          f"serial_snp_recall={serial.snp.recall:.4f} "
          f"serial_snp_precision={serial.snp.precision:.4f} "
          f"discordant_sites={fidelity.discordant_sites} concordance={fidelity.concordance:.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
