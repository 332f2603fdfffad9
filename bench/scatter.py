#!/usr/bin/env python3
"""Scatter benchmark: serial freebayes vs freebayes-parallel vs this workflow, side by side.

On one simulated cohort (``kubecall simulate``) and the same core count, runs
1. serial freebayes over the whole reference;
2. freebayes-parallel (freebayes' own script, regions from its fasta_generate_regions.py);
3. this workflow with profiles/local, once per region strategy and padding (by default 0 and
   the schema's default regions.padding, side by side: what padding costs in freebayes CPU
   seconds, user + system summed over the regions, and in wall time);
and compares each call set with the serial one at CHROM/POS/REF/ALT/GT. ``--rounds N`` runs
2 and 3 N times, taking turns (freebayes-parallel, then each workflow run, then again), and
compares them round by round: on a shared virtual machine the speed can change by more than
the difference being measured within minutes (serial freebayes on one simulated cohort took
111 s, then 68 s half an hour later), so a run that always comes last would take the quiet
minutes. Beside each wall it prints CPU seconds, which count no wait for a core (a slow
spell inflates them too): freebayes-parallel's whole pipeline (freebayes, GNU parallel,
vcflib), and the workflow's freebayes alone and its whole run (snakemake and every job).
Run by hand:

    python bench/scatter.py --samples 4 --length 3000000 --depth 20 --uneven
    python bench/scatter.py --cohort dwgsim --samples 4 --length 3000000 --depth 20 --contigs 8

``--cohort dwgsim`` builds the cohort with tools that are not the project's, so that the
benchmark does not run only on data kubecall's own simulator made: a random reference of
``--contigs`` contigs, population mutations (SNPs and indels) from ``dwgsim -M``, each sample
carrying a random half of them, 2x100 bp reads with sequencing errors from ``dwgsim``, aligned
with ``bwa mem`` (read groups per sample), sorted and indexed with samtools, ``--cores``
samples at a time (bench/_cohort.py; Debian: apt-get install dwgsim bwa).

Each cohort comes with its truth (``truth.vcf.gz``: the simulator's, or dwgsim's record of
the mutations it put into each sample's reads), and serial freebayes, freebayes-parallel and
the workflow (its first round, at the last padding) are scored against it with
``kubecall accuracy``'s counts: every record, and those of QUAL 20 or more (freebayes' README
filters at QUAL > 20). Agreeing with serial freebayes is what the split must not change;
the truth says whether a difference from it matters. ``--keep DIR --reuse`` runs on the
cohort an earlier ``--keep DIR`` left there instead of making one (its earlier outputs are
replaced).

freebayes-parallel needs GNU parallel and vcflib (Debian: apt-get install parallel
libvcflib-tools); its helper scripts come with Debian's freebayes in
/usr/share/freebayes/scripts. The last line holds the figures as key=value pairs.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from _cohort import (
    WorkflowRun,
    build_dwgsim_cohort,
    region_seconds,
    run_freebayes_parallel,
    schema_defaults,
    timed,
    write_dwgsim_truth,
)
from _cohort import run_kubecall as run_workflow

from kubecall.devtools.accuracy import AccuracyReport, compare_calls
from kubecall.devtools.concordance import Concordance, compare_records
from kubecall.devtools.simulate import TRUTH_NAME, SimulationParams, simulate_cohort
from kubecall.report.progress import REGION_DONE, REGION_START


def run_serial(cohort: Path, bams: list[str], out: Path) -> float:
    return timed(["freebayes", "-f", str(cohort / "ref.fa"), *bams], out)


TRUTH_MIN_QUAL = 20.0  # the second score against the truth: calls of this QUAL or more


def truth_scores(label: str, cohort: Path, calls: Path) -> tuple[str, list[str]]:
    """``calls`` scored against the cohort's truth, every record and QUAL 20 or more: the
    printable tables (``kubecall accuracy``'s), and ``key=value`` pairs (``label_tp`` ... at
    QUAL 20 or more)."""
    filtered_name = f"QUAL >= {TRUTH_MIN_QUAL:g}"
    scores: dict[str, AccuracyReport] = {
        name: compare_calls(cohort / TRUTH_NAME, calls, cohort / "ref.fa", min_qual)
        for name, min_qual in (("every record", 0.0), (filtered_name, TRUTH_MIN_QUAL))}
    text = "\n".join(f"{label} vs the truth, {name}:\n{report.table()}"
                     for name, report in scores.items())
    filtered = scores[filtered_name].overall
    pairs = [f"{label}_tp={filtered.true_positives}", f"{label}_fp={filtered.false_positives}",
             f"{label}_fn={filtered.false_negatives}"]
    return text, pairs


def reused_cohort(cohort: Path, kind: str) -> list[str]:
    """The BAMs of a cohort an earlier run kept in ``cohort`` (its samples.tsv), writing a
    dwgsim cohort's truth if it was made before there was one."""
    sheet = cohort / "samples.tsv"
    if not sheet.is_file():
        raise SystemExit(f"--reuse: {sheet} not found; make the cohort first with --keep "
                         f"{cohort} (or --cohort-only --keep {cohort})")
    with open(sheet, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    if kind == "dwgsim" and not (cohort / TRUTH_NAME).is_file():
        write_dwgsim_truth(cohort, [row["sample"] for row in rows])
    return [str(cohort / row["alignment"]) for row in rows]  # relative to the sheet, or absolute


def default_padding() -> int:
    return int(schema_defaults()["regions"]["padding"])


def run_kubecall(cohort: Path, strategy: str, padding: int, args: argparse.Namespace,
                 suffix: str = "") -> tuple[WorkflowRun, Path]:
    """The run's figures and its workdir (``suffix`` after its name: the round's)."""
    workdir = cohort / f"kubecall-{strategy}-pad{padding}{suffix}"
    shutil.rmtree(workdir, ignore_errors=True)  # an earlier run's, with --reuse
    run = run_workflow(
        workdir,
        f"reference: {cohort}/ref.fa\nsamples: {cohort}/samples.tsv\n"
        f"regions:\n  strategy: {strategy}\n  count: {args.regions}\n"
        f"  padding: {padding}\n  batches: {args.batches}\n",
        args.cores, args.call_threads)
    return run, workdir


def calling_window(workdir: Path) -> float:
    """Seconds from the first freebayes' start to the last one's end, over every calling job
    (the timestamps of the jobs' log lines `kubecall progress` reads: each freebayes' start
    and each region's outcome)."""
    stamps = []
    for log in (workdir / "logs/call_batch").glob("**/*.log"):
        for line in log.read_text().splitlines():
            if REGION_START.search(line) or REGION_DONE.search(line):
                stamps.append(datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f"))
    return (max(stamps) - min(stamps)).total_seconds()


class KubecallRun(NamedTuple):
    """One workflow run's figures, as the summary line reports them."""

    seconds: float
    calls_ready: float
    cpu: float  # freebayes CPU over the regions
    compared: Concordance  # against serial freebayes
    spread: float  # slowest region over the mean
    overhead: float
    window: float
    idle: float
    fixed: float
    run_cpu: float  # the whole run's: snakemake and every job


def measure_kubecall(cohort: Path, strategy: str, padding: int, args: argparse.Namespace,
                     serial_s: float, label: str, suffix: str) -> KubecallRun:
    """One workflow run, printed on one line (after ``label``) and compared with serial
    freebayes."""
    run, workdir = run_kubecall(cohort, strategy, padding, args, suffix)
    seconds, calls_ready = run.seconds, run.calls_ready
    compared = compare_records(cohort / "serial.vcf.gz", workdir / "results/calls/cohort.vcf.gz")
    times = region_seconds(workdir)
    cpu = sum(region_seconds(workdir, "cpu_seconds"))
    spread = max(times) / statistics.mean(times)
    overhead = seconds - sum(times) / args.cores
    # the calling window: its idle core time is what balance loses; the rest of the wall is
    # the fixed cost around calling (start, plan, merge, stats, report)
    window = calling_window(workdir)
    idle = 1 - sum(times) / (args.cores * window)
    fixed = seconds - window
    print(f"{label}kubecall {strategy} padding {padding} ({args.regions} regions, "
          f"{args.cores} cores): {seconds:.1f} s (indexed call set after {calls_ready:.1f} s), "
          f"freebayes CPU {cpu:.1f} s (the whole run {run.cpu_seconds:.1f} s), speed-up "
          f"{serial_s / seconds:.2f}x, slowest region {spread:.2f}x the mean, overhead "
          f"{overhead:.1f} s ({100 * overhead / seconds:.0f}% of wall); calling window "
          f"{window:.1f} s, {100 * idle:.1f}% of its core time idle; fixed cost {fixed:.1f} s "
          f"(calls ready {calls_ready - window:.1f} s after the window's length); vs serial: "
          f"{compared.summary_line()}")
    return KubecallRun(seconds, calls_ready, cpu, compared, spread, overhead, window, idle,
                       fixed, run.cpu_seconds)


def median_run(runs: list[KubecallRun]) -> KubecallRun:
    """Each timing's median over rounds; the call-set comparison of the first round (the
    tests hold that the call set does not depend on the run)."""
    return KubecallRun(*(runs[0].compared if field == "compared" else
                         statistics.median(getattr(run, field) for run in runs)
                         for field in KubecallRun._fields))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--length", type=int, default=3_000_000)
    parser.add_argument("--depth", type=float, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--uneven", action="store_true",
                        help="uneven coverage along contigs (simulate only)")
    parser.add_argument("--cohort", choices=("simulate", "dwgsim"), default="simulate",
                        help="who makes the cohort: kubecall simulate, or dwgsim + bwa mem")
    parser.add_argument("--contigs", type=int, default=8, help="contigs of the dwgsim "
                        "cohort's random reference")
    parser.add_argument("--cohort-only", action="store_true",
                        help="build the cohort (keep it with --keep) and stop")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--regions", type=int, default=32, help="kubecall regions.count")
    parser.add_argument("--paddings", help="kubecall regions.padding values, comma-separated "
                        "(default: 0 and the schema's default)")
    parser.add_argument("--batches", type=int, default=0, help="kubecall regions.batches")
    parser.add_argument("--call-threads", type=int, default=0,
                        help="freebayes at once per calling job (--set-threads call_batch=N; "
                        "default: profiles/local's, every core; 1: one region at a time per "
                        "job, as before issue 18)")
    parser.add_argument("--strategies", default="equal,balanced")
    parser.add_argument("--fbparallel-region-size", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="keep the cohort and outputs here")
    parser.add_argument("--reuse", action="store_true", help="run on the cohort an earlier "
                        "--keep left in the --keep directory instead of making one")
    parser.add_argument("--rounds", type=int, default=1, help="run freebayes-parallel and "
                        "the workflow runs this many times, taking turns")
    args = parser.parse_args()
    if args.reuse and not args.keep:
        parser.error("--reuse needs --keep DIR: the directory of the cohort to reuse")
    needed = {} if args.cohort_only else {tool: "parallel libvcflib-tools"
                                          for tool in ("parallel", "vcfstreamsort", "vcfuniq")}
    if args.cohort == "dwgsim":
        needed |= {"dwgsim": "dwgsim", "bwa": "bwa"}
    for tool, package in needed.items():
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install {package}")

    tmp = tempfile.mkdtemp(prefix="bench-scatter-")
    cohort = args.keep or Path(tmp)
    cohort.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if args.reuse:
        bams = reused_cohort(cohort, args.cohort)
        print(f"reusing the {args.cohort} cohort in {cohort}: {len(bams)} samples")
    elif args.cohort == "dwgsim":
        bams = build_dwgsim_cohort(cohort, samples=args.samples, length=args.length,
                                   contigs=args.contigs, depth=args.depth, seed=args.seed,
                                   cores=args.cores).bams
        print(f"dwgsim + bwa mem: {args.samples} samples x {args.length} bp in "
              f"{args.contigs} contigs at {args.depth}x in {time.perf_counter() - started:.1f} s")
    else:
        files = simulate_cohort(cohort, SimulationParams(
            samples=args.samples, length=args.length, depth=args.depth, seed=args.seed,
            uneven=args.uneven))
        print(f"simulated {args.samples} samples x {args.length} bp at {args.depth}x"
              f"{' (uneven)' if args.uneven else ''} in {time.perf_counter() - started:.1f} s")
        bams = [str(s.alignment) for s in files.samples]
    if args.cohort_only:
        if args.keep:
            print(f"cohort in {cohort}")
        else:
            shutil.rmtree(tmp)
        return 0

    serial_s = run_serial(cohort, bams, cohort / "serial.vcf.gz")
    print(f"serial freebayes: {serial_s:.1f} s")
    paddings = [int(p) for p in args.paddings.split(",")] if args.paddings else \
        sorted({0, default_padding()})
    fbp_rounds: list[float] = []
    fbp_cpu_rounds: list[float] = []
    rounds: list[dict[tuple[str, int], KubecallRun]] = []
    for round_number in range(1, args.rounds + 1):
        label, suffix = ((f"round {round_number}: ", f"-round{round_number}")
                         if args.rounds > 1 else ("", ""))
        fbp_out = cohort / f"fbparallel{suffix}.vcf.gz"
        fbp_run = run_freebayes_parallel(cohort / "ref.fa", bams, args.cores,
                                         args.fbparallel_region_size, fbp_out)
        fbp_s = fbp_run.seconds
        fbp = compare_records(cohort / "serial.vcf.gz", fbp_out)
        fbp_rounds.append(fbp_s)
        fbp_cpu_rounds.append(fbp_run.cpu_seconds)
        # its CPU: freebayes, GNU parallel and vcflib's sort and uniq (bgzip is the bench's)
        print(f"{label}freebayes-parallel ({args.cores} cores, {args.fbparallel_region_size} "
              f"bp regions): {fbp_s:.1f} s, CPU {fbp_run.cpu_seconds:.1f} s, speed-up "
              f"{serial_s / fbp_s:.2f}x; vs serial: {fbp.summary_line()}")
        runs: dict[tuple[str, int], KubecallRun] = {}
        for strategy in args.strategies.split(","):
            for padding in paddings:
                runs[strategy, padding] = measure_kubecall(
                    cohort, strategy, padding, args, serial_s, label, suffix)
        rounds.append(runs)
    strategy = "balanced" if ("balanced", paddings[-1]) in rounds[0] else strategy
    first = "-round1" if args.rounds > 1 else ""
    truth_pairs = []
    for label, calls in (("serial", cohort / "serial.vcf.gz"),
                         ("fbparallel", cohort / f"fbparallel{first}.vcf.gz"),
                         ("kubecall", cohort / f"kubecall-{strategy}-pad{paddings[-1]}{first}"
                          / "results/calls/cohort.vcf.gz")):
        text, pairs = truth_scores(label, cohort, calls)
        print(text)
        truth_pairs += pairs
    if not args.keep:
        shutil.rmtree(tmp)
    # the summary: balanced (else the last strategy) at the largest padding, vs padding 0;
    # over several rounds, each figure's median and freebayes-parallel against the workflow
    # round by round
    summary, base = (median_run([runs[strategy, padding] for runs in rounds])
                     for padding in (paddings[-1], paddings[0]))
    seconds, calls_ready, cpu, compared, spread, overhead, window, idle, fixed, _ = summary
    fbp_s = statistics.median(fbp_rounds)
    if args.rounds > 1:
        ratios = [f / runs[strategy, paddings[-1]].seconds
                  for f, runs in zip(fbp_rounds, rounds, strict=True)]
        print(f"kubecall {strategy} padding {paddings[-1]} vs freebayes-parallel (its wall "
              f"over kubecall's), round by round: {', '.join(f'{r:.2f}x' for r in ratios)}; "
              f"medians of {args.rounds} rounds below")
    print(f"serial_s={serial_s:.1f} fbparallel_s={fbp_s:.1f} kubecall_s={seconds:.1f} "
          f"speedup={serial_s / seconds:.2f} fbparallel_speedup={serial_s / fbp_s:.2f} "
          f"discordant_sites={compared.discordant_sites} "
          f"fbparallel_discordant_sites={fbp.discordant_sites} "
          f"max_region_over_mean={spread:.2f} overhead_s={overhead:.1f} "
          f"overhead_pct={100 * overhead / seconds:.1f} calling_window_s={window:.1f} "
          f"idle_pct={100 * idle:.1f} fixed_s={fixed:.1f} "
          f"kubecall_vs_fbparallel={fbp_s / seconds:.2f} strategy={strategy} "
          f"kubecall_calls_s={calls_ready:.1f} padding={paddings[-1]} "
          f"freebayes_cpu_s={cpu:.1f} padding{paddings[0]}_freebayes_cpu_s={base.cpu:.1f} "
          f"kubecall_run_cpu_s={summary.run_cpu:.1f} "
          f"fbparallel_cpu_s={statistics.median(fbp_cpu_rounds):.1f} "
          f"padding_cpu_pct={100 * (cpu - base.cpu) / base.cpu:.1f} "
          f"padding{paddings[0]}_kubecall_s={base.seconds:.1f} "
          f"padding{paddings[0]}_discordant_sites={base.compared.discordant_sites} "
          f"rounds={args.rounds} {' '.join(truth_pairs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
