#!/usr/bin/env python3
"""Joint calling as the cohort grows: seconds and peak RSS per region and per calling job,
this workflow beside freebayes-parallel, what the runaway guard did, and the extrapolation to
1000 Genomes' 2,504 samples. Run by hand (niced: it takes the machine's cores):

    nice -n 19 python bench/cohort_growth.py --samples 4,16,64,256 --workdir /var/tmp/growth

One reference of ``--length`` bp (1 Mb, one contig) and the largest cohort are built once
with tools that are not the project's (bench/_cohort.py: random reference, ``dwgsim -M``
population SNPs and indels with each sample carrying a random half of them, 2x100 bp reads
with errors at ``--depth`` per sample, 4-6x as 1000 Genomes' low coverage, ``bwa mem``,
samtools); each smaller size takes the first N samples, so all sizes share samples. For each
size, on the same ``--cores``, one after the other:
1. freebayes-parallel (freebayes' own script, /usr/share/freebayes/scripts) over regions of
   the workflow's plan size (``--length`` / ``--regions``), its CPU seconds and peak RSS (the
   largest freebayes) from wait4;
2. the workflow with profiles/local (regions.count ``--regions``, the schema's default,
   calling.region_time_budget ``--time-budget``), its results/qc/region_runtimes.tsv (each
   region's seconds, cpu_seconds, max_rss_mb and ``how``: normal, split, fallback) and
   snakemake's benchmarks/call_batch/ files (s, max_rss, cpu_time per job);
3. the two call sets compared at CHROM/POS/REF/ALT/GT (kubecall.devtools.concordance).
``--freebayes-options`` gives both the same freebayes options (the workflow's calling.extra),
for instance the runaway fallback's, to see what they do to the growth.

Then how a region's CPU seconds and peak RSS grow with N (log-log slope between sizes), and
the extrapolation to ``--target`` samples (the larger of a power law and a straight line
through the two largest sizes: conservative either way) for a region of this plan, for a
calling job, and for a genome of ``--genome-length`` bp under the schema's default
regions.count with profiles/kubernetes' threads and jobs: the ``mem_mb`` (per freebayes, with
``--headroom``) and ``runtime`` (minutes) call_batch should ask for, and the regions.count
that keeps a region under a time budget. Time is extrapolated from CPU seconds (a loaded
machine stretches wall, not CPU); a random reference has no repeats or pile-ups, so real
regions take longer at the same depth: a lower bound. ``--workdir`` keeps the cohort and
the runs, and a later run with the same cohort options reuses the cohort. Needs dwgsim, bwa,
samtools, GNU parallel and vcflib (Debian: apt-get install dwgsim bwa parallel
libvcflib-tools). The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from _cohort import (
    REPO,
    Measured,
    benchmark_rows,
    build_dwgsim_cohort,
    region_rows,
    run_freebayes_parallel,
    run_kubecall,
    schema_defaults,
    write_sample_sheet,
)

from kubecall.devtools.concordance import compare_records
from kubecall.pipeline.batching import default_batch_count

TOOLS = {"dwgsim": "dwgsim", "bwa": "bwa", "samtools": "samtools", "parallel": "parallel",
         "vcfstreamsort": "libvcflib-tools", "vcfuniq": "libvcflib-tools", "bgzip": "tabix",
         "tabix": "tabix", "freebayes": "freebayes"}


def kubernetes_profile() -> dict[str, object]:
    """profiles/kubernetes: call_batch's threads and resources, and jobs at once."""
    profile = yaml.safe_load((REPO / "profiles/kubernetes/config.yaml").read_text())
    return {"threads": int(profile["set-threads"]["call_batch"]), "jobs": int(profile["jobs"]),
            "mem_mb": profile["set-resources"]["call_batch"]["mem_mb"],
            "runtime": profile["set-resources"]["call_batch"]["runtime"]}


@dataclass
class SizeRun:
    """What one cohort size measured."""

    samples: int
    fbparallel: Measured
    kubecall_s: float
    calls_ready_s: float
    regions: list[dict[str, str]]
    jobs: dict[str, dict[str, str]]
    concordance: str = ""
    discordant_sites: int = -1
    stages: dict[str, float] = field(default_factory=dict)

    def column(self, name: str) -> list[float]:
        return [float(row[name]) for row in self.regions]

    @property
    def how(self) -> Counter:
        return Counter(row["how"] for row in self.regions)

    def batch_sums(self, name: str) -> dict[str, float]:
        sums: dict[str, float] = defaultdict(float)
        for row in self.regions:
            sums[f"{row['callset']}/{row['batch']}"] += float(row[name])
        return dict(sums)

    def figures(self, length: int) -> dict[str, float]:
        """The figures whose growth with N is fitted."""
        cpu, seconds, rss = self.column("cpu_seconds"), self.column("seconds"), \
            self.column("max_rss_mb")
        jobs = list(self.jobs.values())
        return {
            "region_cpu_median": statistics.median(cpu), "region_cpu_max": max(cpu),
            "region_s_median": statistics.median(seconds), "region_s_max": max(seconds),
            "region_rss_median": statistics.median(rss), "region_rss_max": max(rss),
            "cpu_per_mb": sum(cpu) / (length / 1e6),
            "job_s_max": max(float(j["s"]) for j in jobs),
            "job_max_rss": max(_number(j["max_rss"]) for j in jobs),
            "job_cpu_max": max(self.batch_sums("cpu_seconds").values()),
            "fbparallel_s": self.fbparallel.seconds,
            "fbparallel_rss": self.fbparallel.peak_mb,
            "kubecall_s": self.kubecall_s,
        }


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:  # "NA": the job ended before snakemake's first sample
        return 0.0


def slope(x1: float, y1: float, x2: float, y2: float) -> float:
    """Log-log slope: y grows as x^slope between the two points."""
    if min(x1, y1, x2, y2) <= 0 or x1 == x2:
        return float("nan")
    return math.log(y2 / y1) / math.log(x2 / x1)


def extrapolate(x1: float, y1: float, x2: float, y2: float, x: float) -> dict[str, float]:
    """y at x from the two points: power law, straight line, and the larger of the two."""
    power = y2 * (x / x2) ** slope(x1, y1, x2, y2) if min(x1, y1, x2, y2) > 0 else y2
    if math.isnan(power):
        power = y2
    line = y2 + (y2 - y1) / (x2 - x1) * (x - x2)
    return {"power": power, "line": line, "value": max(power, line, y2)}


def round_up(value: float, step: float) -> int:
    return int(math.ceil(value / step) * step)


def job_seconds(count: int, region_s: float, threads: int, jobs: int) -> float:
    """A calling job's wall: its regions, ``threads`` at a time, each of ``region_s``."""
    per_job = math.ceil(count / default_batch_count(count, threads, jobs))
    return math.ceil(per_job / threads) * region_s


def build_or_reuse(cohort: Path, args: argparse.Namespace, largest: int) -> tuple[list[str], dict]:
    """The largest cohort (made once; reused when ``cohort`` holds one made with the same
    options and at least as many samples: their first ones are the same), its BAMs and how
    long each stage took."""
    params = {"samples": largest, "length": args.length, "contigs": args.contigs,
              "depth": args.depth, "seed": args.seed}
    stamp = cohort / "params.json"
    made = json.loads(stamp.read_text()) if stamp.exists() else {}
    same = bool(made) and made | {"samples": largest} == params
    if same and made["samples"] >= largest:
        print(f"cohort: reusing the first {largest} of {made['samples']} samples in {cohort}")
        return [str(cohort / f"S{n:02d}.bam") for n in range(1, largest + 1)], {}
    kept = made["samples"] if same else 0  # an earlier, smaller one: only the rest is made
    if not kept and cohort.exists():
        shutil.rmtree(cohort)
    cohort.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    lo, _, hi = args.depth.partition("-")
    depth_rng = random.Random(args.seed + 7919)
    depths = [depth_rng.uniform(float(lo), float(hi or lo)) for _ in range(largest)]
    built = build_dwgsim_cohort(cohort, samples=largest, length=args.length,
                                contigs=args.contigs, depth=depths, seed=args.seed,
                                cores=args.cores, made=kept)
    stamp.write_text(json.dumps(params))
    stages = built.stages
    print(f"cohort: {largest} samples ({largest - kept} made, {kept} from an earlier run) x "
          f"{args.length} bp at {args.depth}x (mean {statistics.mean(depths):.2f}x) in "
          f"{stages['reference'] + stages['samples_wall']:.0f} s: reference + bwa index + "
          f"population {stages['reference']:.1f} s, samples "
          f"{stages['samples_wall']:.0f} s wall ({args.cores} at a time; summed over them: "
          f"dwgsim {stages['dwgsim']:.0f} s, bwa mem + sort {stages['bwa_sort']:.0f} s, "
          f"index {stages['index']:.0f} s; {stages['samples_wall'] / (largest - kept):.2f} s a "
          f"sample)")
    return built.bams, stages


def run_size(n: int, bams: list[str], reference: Path, root: Path, args: argparse.Namespace,
             defaults: dict) -> SizeRun:
    """freebayes-parallel, then the workflow, then their concordance, on the first n samples."""
    here = root / f"n{n}"
    if here.exists():
        shutil.rmtree(here)
    here.mkdir(parents=True)
    write_sample_sheet(here / "samples.tsv", bams[:n])
    stages = {}
    spans, plan = [], f"  count: {args.regions}\n"
    if args.call_length:  # the first --call-length bases, in regions of the plan's size
        contig = (reference.parent / "ref.fa.fai").read_text().split("\t", 1)[0]
        # each region's last base left out: the bed strategy merges targets that touch
        cuts = [round(i * args.plan_bp) for i in range(args.called_regions + 1)]
        pairs = [(a, b - 1) for a, b in zip(cuts, cuts[1:], strict=False)]
        spans = [f"{contig}:{a}-{b}" for a, b in pairs]
        (here / "targets.bed").write_text("".join(f"{contig}\t{a}\t{b}\n" for a, b in pairs))
        plan = (f"  strategy: bed\n  targets: {here}/targets.bed\n"
                f"  count: {args.called_regions}\n")
    fbp = run_freebayes_parallel(reference, bams[:n], args.cores, args.fbparallel_size,
                                 here / "fbparallel.vcf.gz", spans,
                                 shlex.split(args.freebayes_options))
    subprocess.run(["tabix", "-p", "vcf", str(here / "fbparallel.vcf.gz")], check=True)
    stages["fbparallel"] = fbp.seconds
    workdir = here / "kubecall"
    config = (f"reference: {reference}\nsamples: {here}/samples.tsv\n"
              f"regions:\n{plan}  padding: {args.padding}\n"
              f"  batches: {args.batches}\n"
              f"calling:\n  region_time_budget: {args.time_budget:g}\n"
              f"  extra: {json.dumps(args.freebayes_options)}\n")
    seconds, calls_ready, _ = run_kubecall(workdir, config, args.cores, args.call_threads)
    stages["kubecall"] = seconds
    run = SizeRun(n, fbp, seconds, calls_ready, region_rows(workdir), benchmark_rows(workdir),
                  stages=stages)
    if not args.no_concordance:
        clock = time.perf_counter()
        compared = compare_records(here / "fbparallel.vcf.gz",
                                   workdir / "results/calls/cohort.vcf.gz")
        run.concordance, run.discordant_sites = compared.summary_line(), \
            compared.discordant_sites
        stages["concordance"] = time.perf_counter() - clock
    if not args.keep_runs:
        for bulky in (workdir / "results/calls", workdir / ".snakemake"):
            shutil.rmtree(bulky, ignore_errors=True)
    return run


def report_size(run: SizeRun, args: argparse.Namespace) -> None:
    fbp = run.fbparallel
    cpu, seconds, rss = run.column("cpu_seconds"), run.column("seconds"), \
        run.column("max_rss_mb")
    how = run.how
    budget = f"{args.time_budget:g} s" if args.time_budget else "0: off"
    print(f"N={run.samples}: freebayes-parallel {fbp.seconds:.1f} s (CPU {fbp.cpu_seconds:.1f} "
          f"s, largest process {fbp.peak_mb:.0f} MiB); kubecall {run.kubecall_s:.1f} s "
          f"(indexed call set after {run.calls_ready_s:.1f} s), speed-up vs freebayes-parallel "
          f"{fbp.seconds / run.kubecall_s:.2f}x ({fbp.seconds / run.calls_ready_s:.2f}x to "
          f"the call set)")
    print(f"  regions ({len(run.regions)}): seconds median {statistics.median(seconds):.2f} "
          f"max {max(seconds):.2f}; CPU s median {statistics.median(cpu):.2f} max "
          f"{max(cpu):.2f} (sum {sum(cpu):.1f}); peak RSS median "
          f"{statistics.median(rss):.1f} MiB max {max(rss):.1f} MiB; runaway guard (budget "
          f"{budget}): normal {how['normal']}, split {how['split']}, fallback {how['fallback']}")
    cpu_sums, second_sums = run.batch_sums("cpu_seconds"), run.batch_sums("seconds")
    for job, bench in run.jobs.items():
        print(f"  job call_batch {job}: s {float(bench['s']):.1f}, max_rss "
              f"{_number(bench['max_rss']):.0f} MB, cpu_time {_number(bench['cpu_time']):.1f} "
              f"s; its regions: CPU {cpu_sums.get(job, 0):.1f} s, seconds "
              f"{second_sums.get(job, 0):.1f}")
    if run.concordance:
        print(f"  freebayes-parallel vs kubecall: {run.concordance}")
    print("  stages: " + ", ".join(f"{k} {v:.0f} s" for k, v in run.stages.items()))


def report_growth(runs: list[SizeRun], args: argparse.Namespace, defaults: dict
                  ) -> dict[str, object]:
    """The growth table, slopes and the extrapolation; the summary's key=value pairs."""
    figures = [run.figures(args.called_bp) for run in runs]
    ns = [run.samples for run in runs]
    names = ["region_cpu_median", "region_cpu_max", "region_s_median", "region_rss_median",
             "region_rss_max", "cpu_per_mb", "job_s_max", "job_max_rss", "fbparallel_s",
             "kubecall_s"]
    short = ["cpu_med", "cpu_max", "wall_med", "rss_med", "rss_max", "cpu/Mb", "job_s",
             "job_rss", "fbp_s", "kc_s"]
    print("growth (region CPU s, wall s, peak RSS MiB; CPU s per Mb; slowest job's s and "
          "snakemake max_rss MB; freebayes-parallel and kubecall wall s):")
    print("  " + " ".join(f"{name:>9}" for name in ["N", *short]))
    for n, row in zip(ns, figures, strict=True):
        print("  " + " ".join(f"{value:>9}" for value in
                              [n, *(f"{row[name]:.2f}" for name in names)]))
    summary: dict[str, object] = {}
    for run, row in zip(runs, figures, strict=True):
        summary[f"n{run.samples}_fbparallel_s"] = round(row["fbparallel_s"], 1)
        summary[f"n{run.samples}_kubecall_s"] = round(row["kubecall_s"], 1)
        summary[f"n{run.samples}_speedup"] = round(row["fbparallel_s"] / row["kubecall_s"], 2)
        summary[f"n{run.samples}_region_cpu_median"] = round(row["region_cpu_median"], 2)
        summary[f"n{run.samples}_region_rss_max_mb"] = round(row["region_rss_max"], 1)
        summary[f"n{run.samples}_split"] = run.how["split"]
        summary[f"n{run.samples}_fallback"] = run.how["fallback"]
        summary[f"n{run.samples}_discordant_sites"] = run.discordant_sites
    if len(runs) < 2:
        print("one size only: no growth to fit (give --samples two sizes or more)")
        return summary
    for (n1, f1), (n2, f2) in zip(zip(ns, figures, strict=True),
                                  zip(ns[1:], figures[1:], strict=True), strict=False):
        print(f"  log-log slope {n1}->{n2}: region CPU median "
              f"{slope(n1, f1['region_cpu_median'], n2, f2['region_cpu_median']):.2f}, CPU per Mb "
              f"{slope(n1, f1['cpu_per_mb'], n2, f2['cpu_per_mb']):.2f}, region wall median "
              f"{slope(n1, f1['region_s_median'], n2, f2['region_s_median']):.2f}, peak RSS max "
              f"{slope(n1, f1['region_rss_max'], n2, f2['region_rss_max']):.2f}, job wall "
              f"{slope(n1, f1['job_s_max'], n2, f2['job_s_max']):.2f}")
    (n1, f1), (n2, f2) = (ns[-2], figures[-2]), (ns[-1], figures[-1])
    target = args.target

    def at(name: str) -> dict[str, float]:
        return extrapolate(n1, f1[name], n2, f2[name], target)

    cpu_slope = slope(n1, f1["cpu_per_mb"], n2, f2["cpu_per_mb"])
    rss_slope = slope(n1, f1["region_rss_max"], n2, f2["region_rss_max"])
    plan_bp = args.plan_bp
    region_med, region_max, rss = at("region_cpu_median"), at("region_cpu_max"), \
        at("region_rss_max")
    job, job_rss, per_mb = at("job_cpu_max"), at("job_max_rss"), at("cpu_per_mb")
    print(f"extrapolated to {target} samples from N={n1} and N={n2} (power law | straight line;"
          f" the larger is used), at {args.depth}x:")
    print(f"  a region of this plan ({plan_bp / 1e3:.1f} kb): CPU s median "
          f"{region_med['power']:.0f} | {region_med['line']:.0f}, slowest "
          f"{region_max['power']:.0f} | {region_max['line']:.0f}; peak RSS "
          f"{rss['power']:.0f} | {rss['line']:.0f} MiB")
    print(f"  a calling job of this run ({len(runs[-1].jobs)} jobs over {args.called_bp / 1e6:g} "
          f"Mb): its regions' CPU {job['power']:.0f} | {job['line']:.0f} s, snakemake's max_rss "
          f"{job_rss['power']:.0f} | {job_rss['line']:.0f} MB")
    # a genome under the schema's default plan, on profiles/kubernetes
    k8s = kubernetes_profile()
    count, threads, jobs = int(defaults["regions"]["count"]), int(k8s["threads"]), \
        int(k8s["jobs"])
    unevenness = f2["region_cpu_max"] / (f2["cpu_per_mb"] * plan_bp / 1e6)
    rate = per_mb["value"] / 1e6 * unevenness  # CPU s per bp of the slowest region
    region_bp = args.genome_length / count
    region_s = rate * region_bp
    job_s = job_seconds(count, region_s, threads, jobs)
    mem_per = round_up(args.headroom * rss["value"], 100)
    runtime_min = round_up(args.headroom * job_s / 60, 10)
    print(f"  a genome of {args.genome_length / 1e9:g} Gb, the default plan (regions.count "
          f"{count}: {region_bp / 1e6:.0f} Mb a region), profiles/kubernetes (call_batch "
          f"{threads} threads, {jobs} jobs at once: {default_batch_count(count, threads, jobs)} "
          f"batches): {per_mb['value']:.0f} CPU s per Mb (x{unevenness:.2f} in the slowest "
          f"region), so a region {region_s / 3600:.1f} h and a calling job {job_s / 3600:.1f} h")
    print(f"  call_batch at {target} samples: mem_mb: {mem_per} * threads ({args.headroom:g}x the "
          f"largest freebayes' {rss['value']:.0f} MiB; {mem_per * threads} MB at {threads} "
          f"threads; profiles/kubernetes asks '{k8s['mem_mb']}'), runtime: {runtime_min} "
          f"(minutes, {args.headroom:g}x the job; the profile asks {k8s['runtime']})")
    budget_default = float(defaults["calling"]["region_time_budget"])
    budget = budget_default or args.plan_budget
    needed = math.ceil(args.genome_length * rate / budget)
    needed_job_s = job_seconds(needed, rate * args.genome_length / needed, threads, jobs)
    needed_runtime = round_up(args.headroom * needed_job_s / 60, 10)
    if budget_default:
        said = f"the default calling.region_time_budget ({budget_default:g} s)"
    else:
        said = (f"the default calling.region_time_budget is 0 (guard off: it bounds no "
                f"region); under a budget of {budget:g} s (--plan-budget)")
    print(f"  regions.count: {said} the slowest region needs regions.count >= {needed} "
          f"({args.genome_length / needed / 1e6:.1f} Mb a region); then a calling job "
          f"{needed_job_s / 3600:.1f} h, runtime: {needed_runtime}")
    # batches that keep a job within the profile's runtime at that count
    per_thread = max(1, int(int(k8s["runtime"]) * 60 / args.headroom // budget))
    batches = math.ceil(needed / (per_thread * threads))
    print(f"  or regions.batches: {batches} (at most {per_thread} regions a thread) keeps a "
          f"calling job within the profile's runtime {k8s['runtime']} at that count")
    summary |= {
        "target": target, "cpu_per_mb_slope": round(cpu_slope, 2),
        "rss_slope": round(rss_slope, 2),
        f"region_cpu_s_{target}": round(region_med["value"], 1),
        f"region_rss_mb_{target}": round(rss["value"]),
        f"cpu_s_per_mb_{target}": round(per_mb["value"]),
        "genome_region_h": round(region_s / 3600, 1), "genome_job_h": round(job_s / 3600, 1),
        "mem_mb_per_thread": mem_per, "runtime_min": runtime_min,
        "budget_s": f"{budget:g}", "regions_count_for_budget": needed,
        "runtime_min_at_that_count": needed_runtime, "batches_for_profile_runtime": batches,
    }
    return summary


def main() -> int:
    defaults = schema_defaults()
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", default="4,16,64,256",
                        help="cohort sizes, comma-separated (default: %(default)s)")
    parser.add_argument("--length", type=int, default=1_000_000, help="reference bp")
    parser.add_argument("--contigs", type=int, default=1)
    parser.add_argument("--depth", default="4-6", help="each sample's mean depth, or a "
                        "range LO-HI drawn per sample (default: %(default)s, 1000 Genomes' "
                        "low coverage)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--regions", type=int, default=int(defaults["regions"]["count"]),
                        help="kubecall regions.count (default: the schema's, %(default)s)")
    parser.add_argument("--padding", type=int, default=int(defaults["regions"]["padding"]),
                        help="kubecall regions.padding (default: the schema's, %(default)s)")
    parser.add_argument("--batches", type=int, default=0, help="kubecall regions.batches")
    parser.add_argument("--call-threads", type=int, default=0,
                        help="--set-threads call_batch=N (default: profiles/local's)")
    parser.add_argument("--time-budget", type=float, default=600.0,
                        help="kubecall calling.region_time_budget in seconds, so that the "
                        "guard is armed (0: off, the schema's default; default: %(default)s)")
    parser.add_argument("--fbparallel-size", type=int, default=0,
                        help="freebayes-parallel region bp (default: --length / --regions)")
    parser.add_argument("--target", type=int, default=2504, help="samples to extrapolate to")
    parser.add_argument("--genome-length", type=float, default=3.1e9,
                        help="bp of the genome the plan is sized for (default: %(default)g)")
    parser.add_argument("--plan-budget", type=float, default=3600.0,
                        help="seconds a region may take, to size regions.count by when the "
                        "schema's default budget is 0 (default: %(default)s)")
    parser.add_argument("--headroom", type=float, default=1.5,
                        help="mem_mb and runtime over the extrapolated peak (default: "
                        "%(default)s)")
    parser.add_argument("--call-length", type=int, default=0,
                        help="call only the first bases of the reference, about this many, "
                        "in regions of the plan's size (--length / --regions; the workflow "
                        "with regions.strategy bed, one target each): the largest sizes in "
                        "less time (default: the whole reference)")
    parser.add_argument("--freebayes-options", default="",
                        help="freebayes options for both (kubecall's calling.extra), e.g. the "
                        "runaway fallback's '--use-best-n-alleles 4 --limit-coverage 250'")
    parser.add_argument("--no-concordance", action="store_true")
    parser.add_argument("--workdir", type=Path, help="keep the cohort and runs here (the "
                        "cohort is reused by a later run with the same cohort options)")
    parser.add_argument("--keep-runs", action="store_true",
                        help="keep each run's call sets and .snakemake too")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # each size's lines as it ends, into a log too
    sizes = sorted({int(n) for n in args.samples.split(",")})
    args.fbparallel_size = args.fbparallel_size or math.ceil(args.length / args.regions)
    args.plan_bp = args.length / args.regions
    if args.contigs > 1 and args.call_length:
        raise SystemExit("--call-length needs --contigs 1")
    args.called_regions = max(1, round(min(args.call_length or args.length, args.length)
                                       / args.plan_bp))
    args.called_bp = args.called_regions * args.plan_bp if args.call_length else args.length
    for tool, package in TOOLS.items():
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install {package}")

    root = args.workdir or Path(tempfile.mkdtemp(prefix="bench-cohort-growth-"))
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    load = os.getloadavg()
    print(f"load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on "
          f"{os.cpu_count()} cores; runs use --cores {args.cores}")
    try:
        bams, stages = build_or_reuse(root / "cohort", args, sizes[-1])
        runs = []
        for n in sizes:
            run = run_size(n, bams, root / "cohort/ref.fa", root, args, defaults)
            report_size(run, args)
            runs.append(run)
        summary = report_growth(runs, args, defaults)
    finally:
        if not args.workdir:
            shutil.rmtree(root)
    load = os.getloadavg()
    total = time.perf_counter() - started
    print(f"load average at end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; total {total:.0f} s")
    cohort_s = stages.get("reference", 0) + stages.get("samples_wall", 0)
    summary = {"sizes": ",".join(map(str, sizes)), "cohort_build_s": round(cohort_s),
               "total_s": round(total)} | summary
    print(" ".join(f"{key}={value}" for key, value in summary.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
