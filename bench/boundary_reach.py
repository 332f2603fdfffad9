#!/usr/bin/env python3
"""How far a freebayes window's start or end changes calls: the padding split calling needs.

For every position s of a bundled data set's contig (or every --step-th), one freebayes run
starts at s ([s, s + SPAN)) and one ends at s ([s - SPAN, s)), with the default config's
options and allocator; their records within COMPARED bases of that edge are compared with
one serial freebayes run (CHROM/POS/REF/ALT/GT). The reach of an edge is how far from it the
farthest discordant record lies (0: none); regions.padding must exceed the largest reach, so
that every record a region owns is farther from its window's edges than any edge reaches.
Run by hand:

    python bench/boundary_reach.py --dataset na12878-q

The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kubecall.devtools.concordance import read_calls
from kubecall.devtools.sweep import DATASETS, call_serial
from kubecall.pipeline.allocator import resolve_allocator
from kubecall.pipeline.calling import CallSettings, call_region
from kubecall.pipeline.config import validate_config
from kubecall.pipeline.regions import Interval, Region, read_fai

REPO = Path(__file__).resolve().parents[1]
SPAN = 600  # bases each run calls: COMPARED plus more than a read and a haplotype window
COMPARED = 300  # bases next to the edge whose records are compared


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="na12878-q", choices=list(DATASETS))
    parser.add_argument("--contig", help="default: the first")
    parser.add_argument("--step", type=int, default=1)
    args = parser.parse_args()
    reference_rel, alignment_rels = DATASETS[args.dataset]
    reference = REPO / reference_rel
    config = {"reference": str(reference), "samples": "unused.tsv"}
    validate_config(config, REPO / "workflow/schemas/config.schema.yaml", "schema defaults")
    work = Path(tempfile.mkdtemp(prefix="bench-reach-"))
    manifest = work / "alignments.txt"
    manifest.write_text("".join(f"{REPO / a}\n" for a in alignment_rels))
    settings = CallSettings(reference, manifest, extra=config["calling"]["extra"], padding=0,
                            allocator=resolve_allocator(config["calling"]["allocator"]))
    lengths = dict(read_fai(Path(f"{reference}.fai")))
    contig = args.contig or next(iter(lengths))
    serial = {k: v for k, v in read_calls(call_serial(settings, work / "serial.vcf.gz")).items()
              if k[0] == contig}

    def reach(job: tuple[str, int]) -> tuple[str, int, int]:
        side, edge = job
        start, end = (edge, min(lengths[contig], edge + SPAN)) if side == "start" else \
            (max(0, edge - SPAN), edge)
        out = work / f"{side}{edge}.vcf.gz"
        call_region(Region(f"{side}{edge}", (Interval(contig, start, end),)), lengths,
                    settings, out, work / f"{side}{edge}.log")
        calls = read_calls(out)
        out.unlink()
        (work / f"{side}{edge}.log").unlink()
        near = range(edge, edge + COMPARED) if side == "start" else range(edge - COMPARED, edge)
        keys = {k for k in [*calls, *serial] if k[1] - 1 in near}
        bad = [abs(k[1] - 1 - edge) + (side == "start") for k in keys
               if calls.get(k) != serial.get(k)]
        return side, edge, max(bad, default=0)

    jobs = [(side, edge) for edge in range(1, lengths[contig], args.step)
            for side in ("start", "end")]
    worst = {"start": (0, 0), "end": (0, 0)}
    edges_with_reach = {"start": 0, "end": 0}
    with ThreadPoolExecutor(2) as pool:
        for side, edge, distance in pool.map(reach, jobs):
            if distance:
                edges_with_reach[side] += 1
                print(f"{side} at {contig}:{edge} (0-based) reaches {distance} bases", flush=True)
            worst[side] = max(worst[side], (distance, edge))
    shutil.rmtree(work)
    print(f"dataset={args.dataset} contig={contig} edges={len(jobs) // 2} step={args.step} "
          f"starts_with_reach={edges_with_reach['start']} max_start_reach={worst['start'][0]} "
          f"at={worst['start'][1]} ends_with_reach={edges_with_reach['end']} "
          f"max_end_reach={worst['end'][0]} at={worst['end'][1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
