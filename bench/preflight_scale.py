#!/usr/bin/env python3
"""Preflight at 1000 Genomes scale: first run (headers read) vs second run (cache).

Writes N header-only BAMs (GRCh37 contigs, one read group each) with their indexes, then
runs preflight three times: cold, warm (every header from the cache), and after touching
``--touch`` files (only those re-read). Prints the figures, last line ``key=value`` pairs:

    python bench/preflight_scale.py --samples 2504 --threads 2
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import pysam

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from dag_scale import GRCH37  # noqa: E402

from kubecall.pipeline.preflight import run_preflight  # noqa: E402
from kubecall.pipeline.samplesheet import Sample  # noqa: E402


def make_cohort(workdir: Path, samples: int) -> list[Sample]:
    """Header-only BAMs named HG00000.bam…, each with its .bai and read-group sample."""
    cohort = []
    for number in range(samples):
        name = f"HG{number:05d}"
        path = workdir / f"{name}.bam"
        header = {"HD": {"VN": "1.6", "SO": "coordinate"},
                  "SQ": [{"SN": contig, "LN": length} for contig, length in GRCH37],
                  "RG": [{"ID": name, "SM": name}]}
        with pysam.AlignmentFile(str(path), "wb", header=header):
            pass
        pysam.index(str(path))
        cohort.append(Sample(name, path, None, number + 2))
    return cohort


def timed(samples: list[Sample], workdir: Path, threads: int) -> tuple[float, object]:
    started = time.perf_counter()
    outcome = run_preflight(samples, workdir / "ref.fa", GRCH37,
                            cache=workdir / "cache.json", threads=threads)
    return time.perf_counter() - started, outcome.stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2504)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--touch", type=int, default=10, help="files changed before run 3")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory(prefix="preflight-scale-") as tmp:
        workdir = Path(tmp)
        started = time.perf_counter()
        samples = make_cohort(workdir, args.samples)
        print(f"made {args.samples} BAMs in {time.perf_counter() - started:.1f} s")
        cold, cold_stats = timed(samples, workdir, args.threads)
        warm, warm_stats = timed(samples, workdir, args.threads)
        for sample in samples[: args.touch]:
            os.utime(sample.alignment, ns=(0, sample.alignment.stat().st_mtime_ns - 10**9))
        touched, touched_stats = timed(samples, workdir, args.threads)
        cache_kb = (workdir / "cache.json").stat().st_size / 1024
    print(f"cold: {cold:.2f} s {cold_stats}\nwarm: {warm:.2f} s {warm_stats}\n"
          f"after touching {args.touch}: {touched:.2f} s {touched_stats}")
    print(f"samples={args.samples} threads={args.threads} cold_seconds={cold:.2f} "
          f"cold_read={cold_stats.read} warm_seconds={warm:.2f} warm_read={warm_stats.read} "
          f"warm_cached={warm_stats.cached} touched_read={touched_stats.read} "
          f"cache_kb={cache_kb:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
