"""Time ``simulate_cohort`` (and optionally freebayes + accuracy on its output).

Run by hand; prints figures and a final ``key=value`` summary line, asserts nothing:

    PYTHONPATH=src python bench/bench_simulate.py --samples 4 --length 3000000 --depth 20 \\
        --seed 1 [--freebayes] /tmp/bench-cohort
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from kubecall.devtools.accuracy import compare_calls
from kubecall.devtools.simulate import SimulationParams, simulate_cohort


def directory_bytes(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--length", type=int, default=3_000_000)
    parser.add_argument("--depth", type=float, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--uneven", action="store_true")
    parser.add_argument("--cram", action="store_true")
    parser.add_argument("--freebayes", action="store_true", help="also call and score")
    parser.add_argument("outdir", type=Path)
    args = parser.parse_args()
    params = SimulationParams(
        samples=args.samples,
        length=args.length,
        depth=args.depth,
        seed=args.seed,
        uneven=args.uneven,
        cram=args.cram,
        force=True,
    )
    started = time.monotonic()
    cohort = simulate_cohort(args.outdir, params, lambda m: print(m, file=sys.stderr))
    seconds = time.monotonic() - started
    reads = sum(sample.reads for sample in cohort.samples)
    summary = (
        f"samples={args.samples} length={args.length} depth={args.depth:g} reads={reads} "
        f"truth_records={cohort.truth_records} simulate_seconds={seconds:.1f} "
        f"output_mb={directory_bytes(cohort.outdir) / 1e6:.1f}"
    )
    if args.freebayes:
        calls = cohort.outdir / "freebayes.vcf"
        started = time.monotonic()
        with calls.open("w") as handle:
            command = ["freebayes", "-f", str(cohort.reference)]
            command += [str(sample.alignment) for sample in cohort.samples]
            subprocess.run(command, stdout=handle, check=True)
        report = compare_calls(cohort.truth_vcf, calls, cohort.reference)
        print(report.table())
        summary += f" freebayes_seconds={time.monotonic() - started:.1f} " + " ".join(
            pair for pair in report.summary_line().split() if pair.startswith(("snp_", "indel_"))
        )
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
