#!/usr/bin/env python3
"""Region-count sweep benchmark: how much padding split calling needs to match serial freebayes.

For each padding and bundled data set, every region count from 1 to --max-count (default
config otherwise) is compared with one serial freebayes run at CHROM/POS/REF/ALT/GT
(kubecall.devtools.sweep). --grid sets how windows snap: with a fine grid (e.g. 100) a cut
gets between P and P+99 bases of context, so the sweep measures what P itself must be; the
workflow's grid (kubecall.pipeline.regions.WINDOW_GRID) gives more. Run by hand:

    python bench/region_sweep.py --paddings 0,50,100 --grid 100

The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from kubecall.devtools.sweep import DATASETS, sweep_dataset
from kubecall.pipeline.regions import WINDOW_GRID

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--paddings", default="0,50,100", help="comma-separated")
    parser.add_argument("--grid", type=int, default=WINDOW_GRID)
    parser.add_argument("--max-count", type=int, default=256)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    args = parser.parse_args()
    smallest = None
    for padding in map(int, args.paddings.split(",")):
        total = 0
        for name in args.datasets.split(","):
            workdir = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
            started = time.perf_counter()
            result = sweep_dataset(REPO, name, args.max_count, workdir, padding, args.grid)
            shutil.rmtree(workdir)
            total += result.discordant_sites
            first = list(result.discordant().items())[:3]
            print(f"padding={padding} grid={args.grid} dataset={name} {result.summary_line()} "
                  f"seconds={time.perf_counter() - started:.0f} first={first}", flush=True)
        if total == 0 and smallest is None:
            smallest = padding
    print(f"grid={args.grid} max_count={args.max_count} paddings={args.paddings} "
          f"smallest_padding_without_discordance={smallest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
