#!/usr/bin/env python3
"""How the run report scales: a synthetic finished run with many regions, samples and records.

Writes a run directory (region plan and runtimes with some runaway regions, run.json, a
``bcftools stats`` file made by bcftools itself, and a bgzipped freebayes-like VCF with INFO
QUAL/DP/AB and per-sample GT:DP:AD) and times the report's two parts: the call-set pass
(:func:`kubecall.report.vcf_summary.summarize_calls`) and rendering the page with its figures.
Prints the figures, last line ``key=value`` pairs:

    python bench/report_scale.py --regions 3000 --samples 100 --records 200000
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kubecall.report.data import load_run  # noqa: E402
from kubecall.report.render import write_report  # noqa: E402
from kubecall.report.vcf_summary import summarize_calls  # noqa: E402

CONTIGS = [("1", 249250621), ("2", 243199373), ("22", 51304566), ("X", 155270560)]


def write_run(root: Path, regions: int, samples: int, records: int, seed: int) -> None:
    rng = random.Random(seed)
    results = root / "results"
    for sub in ("qc", "regions", "calls", "stats"):
        (results / sub).mkdir(parents=True, exist_ok=True)
    genome = sum(length for _, length in CONTIGS)
    step = genome // regions
    plan, rows, offset = [], [], 0
    names = [f"S{i:04d}" for i in range(samples)]
    for index in range(regions):
        contig_index, start = 0, offset
        while start >= CONTIGS[contig_index][1]:
            start -= CONTIGS[contig_index][1]
            contig_index += 1
        contig, length = CONTIGS[contig_index]
        end = min(length, start + step)
        name = f"r{index:05d}"
        plan.append(f"{contig}\t{start}\t{end}\t{name}\n")
        how = "split" if rng.random() < 0.01 else "normal"
        seconds = rng.lognormvariate(3, 0.5) * (4 if how != "normal" else 1)
        rows.append(f"{name}\tb{index % 64:03d}\t{rng.gauss(1e6, 1e5):.1f}\t{end - start}\t"
                    f"{how}\t{seconds:.3f}\t{records // regions}\n")
        offset += end - start
    (results / "regions/regions.bed").write_text("".join(plan))
    header = "region\tbatch\tweight\tbases\thow\tseconds\trecords\n"
    (results / "qc/region_runtimes.tsv").write_text(header + "".join(rows))
    (results / "run.json").write_text(json.dumps({
        "run_id": "run-bench", "samples": names, "regions": regions,
        "config": {"calling": {"region_time_budget": 60}}, "tools": {"freebayes": "bench"},
    }))
    vcf = results / "calls/cohort.vcf"
    with open(vcf, "w") as out:
        out.write("##fileformat=VCFv4.2\n")
        out.writelines(f"##contig=<ID={c},length={n}>\n" for c, n in CONTIGS)
        out.write('##INFO=<ID=DP,Number=1,Type=Integer,Description="depth">\n'
                  '##INFO=<ID=AB,Number=A,Type=Float,Description="allele balance">\n'
                  '##FORMAT=<ID=GT,Number=1,Type=String,Description="genotype">\n'
                  '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="depth">\n'
                  '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="allele depths">\n')
        out.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
                  + "\t".join(names) + "\n")
        per_contig = records // len(CONTIGS)
        for contig, length in CONTIGS:
            stride = length // (per_contig + 1)
            for number in range(1, per_contig + 1):
                genotypes = "\t".join(rng.choice(("0/0:10:10,0", "0/1:12:6,6", "1/1:9:0,9"))
                                      for _ in names)
                out.write(f"{contig}\t{number * stride}\t.\tA\tG\t{rng.expovariate(0.01):.1f}"
                          f"\t.\tDP={rng.randint(5, 40) * samples};AB={rng.random():.3f}\t"
                          f"GT:DP:AD\t{genotypes}\n")
    subprocess.run(["bgzip", "-f", str(vcf)], check=True)
    subprocess.run(["tabix", "-p", "vcf", f"{vcf}.gz"], check=True)
    with open(results / "stats/cohort.stats.txt", "w") as out:
        subprocess.run(["bcftools", "stats", "-s", "-", f"{vcf}.gz"], stdout=out, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--regions", type=int, default=3000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="report-scale-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        write_run(root, args.regions, args.samples, args.records, args.seed)
        made = time.perf_counter() - started
        started = time.perf_counter()
        calls = summarize_calls(root / "results/calls/cohort.vcf.gz")
        vcf_pass = time.perf_counter() - started
        started = time.perf_counter()
        data = load_run(root, calls=calls)
        write_report(data, root / "report.html", root / "figures")
        render = time.perf_counter() - started
        size = (root / "report.html").stat().st_size
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"synthetic run: {args.regions} regions, {args.samples} samples, "
          f"{calls.records} records (made in {made:.1f} s)")
    print(f"call-set pass {vcf_pass:.1f} s ({calls.records / vcf_pass:,.0f} records/s); "
          f"page with figures {render:.1f} s, {size / 1e6:.2f} MB")
    print(f"regions={args.regions} samples={args.samples} records={calls.records} "
          f"vcf_pass_s={vcf_pass:.2f} render_s={render:.2f} page_mb={size / 1e6:.2f} "
          f"peak_rss_mb={peak:.0f}")


if __name__ == "__main__":
    main()
