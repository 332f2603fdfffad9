#!/usr/bin/env python3
"""How the DAG scales: dry run for a 1000 Genomes-sized cohort (no reads needed), side by
side with a bare snakemake workflow of the same shape, in the same run.

Generates a sample sheet of N samples (alignments need not exist for a dry run: preflight is
a job, and a dry run executes none) with the 26 1000 Genomes populations cycled through the
population, super_population and group columns, a reference index with GRCh37's main contigs,
and measures, each ``--repeats`` times, interleaved so that both workflows see the same
machine load (the median of each is reported; a ratio is the median of each repeat's):

* the DAG: ``snakemake --cores 2 --dry-run --quiet rules`` with R regions, for kubecall and
  for a generated bare Snakefile (one rule writing a manifest, one job per calling job each
  reading it and writing one file, one merge over them all), with as many jobs in total;
* the per-job parse: what every cluster job (one Kubernetes Job, one SLURM job) pays before
  its rule runs. A job runs ``python -m snakemake --target-jobs RULE:WILDCARDS
  --allowed-rules RULE ...`` (snakemake_interface_executor_plugins' ``format_job_exec`` and
  ``snakemake.spawn_jobs``' ``general_args``); here the same command line for the first
  calling job, with ``--dry-run`` added so that nothing runs, for kubecall's call_batch
  and the bare workflow's one job.

By default the cohort is selected by population (all 26 listed, so every sample stays in
and the selection code runs at full size); ``--populations GBR,FIN`` selects fewer,
``--populations all`` turns selection off. Prints wall and CPU seconds, peak RSS and the
ratios kubecall / bare (goals: DAG at most 1.5x, per-job parse at most 1.2x; the CPU ratios
are the steadier on a busy machine), last line ``key=value`` pairs:

    python bench/dag_scale.py --samples 2504 --regions 3000 --repeats 3
    python bench/dag_scale.py --samples 2504 --regions 3000 --repeats 3 --mode per_group
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from _measure import Measured, run_measured  # noqa: E402

from kubecall.pipeline.batching import batch_names  # noqa: E402

# The goals: kubecall's dry run and per-job parse against the bare workflow's.
GOAL_DAG, GOAL_PARSE = 1.5, 1.2
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



# The bare workflow: the shape of kubecall's DAG (one file every calling job reads, the
# jobs, one merge), without anything kubecall does at load time or per job.
BARE_SNAKEFILE = """\
JOBS = range(int(config["jobs"]))


rule all:
    input:
        "merged.txt",


rule manifest:
    output:
        "manifest.txt",
    shell:
        "echo manifest > {output}"


rule work:
    input:
        "manifest.txt",
    output:
        "work/{job}.txt",
    shell:
        "cp {input} {output}"


rule merge:
    input:
        expand("work/{job}.txt", job=JOBS),
    output:
        "merged.txt",
    shell:
        "cat {input} > {output}"
"""
# What snakemake's executors put on every job's command line whatever the workflow
# (spawn_jobs.general_args, as the kubecall executor's jobs get it under profiles/kubernetes,
# less that profile's set-resources and set-threads, which name kubecall's rules);
# --dry-run is the bench's own, so that the job is parsed and planned but not run.
JOB_ARGS = ["--cores", "all", "--attempt", "1", "--force-use-threads", "--force",
            "--target-files-omit-workdir-adjustment", "--max-inventory-time", "0",
            "--retries", "0", "--nocolor", "--no-hooks", "--nolock", "--ignore-incomplete",
            "--rerun-triggers", "input", "params", "code", "mtime", "software-env",
            "--latency-wait", "60", "--scheduler", "greedy", "--mode", "remote", "--dry-run"]


def make_bare(workdir: Path, jobs: int) -> Path:
    """Write the bare workflow's Snakefile and config (``jobs`` work jobs); return the config."""
    workdir.mkdir()
    (workdir / "Snakefile").write_text(BARE_SNAKEFILE)
    config = workdir / "config.yaml"
    config.write_text(f"jobs: {jobs}\n")
    return config


def first_call_job(mode: str, samples: int, selected: list[str], batches: int) -> str:
    """--target-jobs of the first calling job (workflow/rules/common.smk: CALLSETS, BATCHES)."""
    populations = sorted(SUPER_OF)
    keep = set(selected or populations)
    chosen = [index for index in range(samples)
              if populations[index % len(populations)] in keep]
    if mode == "joint":
        callsets, first = 1, "cohort"
    elif mode == "per_group":
        callsets = len({populations[index % len(populations)] for index in chosen})
        first = f"group-{populations[chosen[0] % len(populations)]}"
    else:
        callsets, first = len(chosen), f"sample-HG{chosen[0]:05d}"
    batch = batch_names(max(1, batches // callsets))[0]
    return f"call_batch:callset={first},batch={batch}"


def total_jobs(output: str) -> int:
    """The job count of a dry run's summary, -1 if none."""
    total = re.search(r"^total\s+(\d+)", output, re.MULTILINE)
    return int(total.group(1)) if total else -1


def median(runs: list[Measured]) -> Measured:
    """Median times and largest peak of the runs (output: the first run's)."""
    return Measured(statistics.median(r.seconds for r in runs),
               statistics.median(r.cpu_seconds for r in runs), max(r.peak_mb for r in runs),
               runs[0].output)


def repeat_ratios(mine: list[Measured], theirs: list[Measured]) -> list[tuple[float, float]]:
    """Each repeat's ratios, wall and CPU. The two runs of a repeat follow each other, so a
    slow spell of the machine (here the CPU seconds of one run vary by 40% from one minute
    to the next) weighs on both sides of a ratio rather than on one side's median."""
    return [(a.seconds / b.seconds, a.cpu_seconds / b.cpu_seconds)
            for a, b in zip(mine, theirs, strict=True)]


def median_ratio(ratios: list[tuple[float, float]]) -> tuple[float, float]:
    """The median of the repeats' ratios, wall and CPU."""
    return (statistics.median(wall for wall, _ in ratios),
            statistics.median(cpu for _, cpu in ratios))


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
    parser.add_argument("--repeats", type=int, default=3,
                        help="times each measurement is made; the median is reported")
    args = parser.parse_args()
    selected = [] if args.populations == "all" else args.populations.split(",")
    snakemake = [sys.executable, "-m", "snakemake"]
    dag_flags = ["--cores", "2", "--dry-run", "--quiet", "rules"]
    target = first_call_job(args.mode, args.samples, selected, args.batches)
    runs: dict[str, list[Measured]] = {"dag": [], "bare_dag": [], "job": [], "bare_job": []}
    with tempfile.TemporaryDirectory(prefix="dag-scale-") as tmp:
        workdir = Path(tmp) / "kubecall"
        workdir.mkdir()
        config = make_inputs(workdir, args.samples, args.regions, selected, args.batches,
                             args.mode)
        kubecall = [*snakemake, "--snakefile", str(REPO / "Snakefile"), "--directory",
                    str(workdir)]
        commands = {
            "dag": [*kubecall, "--configfile", str(config), *dag_flags],
            "job": [*kubecall, "--target-jobs", target, "--allowed-rules", "call_batch",
                    *JOB_ARGS, "--configfiles", str(config)],
        }
        for _ in range(max(1, args.repeats)):
            # Interleaved, so that kubecall and bare share whatever load the machine has.
            runs["dag"].append(run_measured(commands["dag"]))
            if "bare_dag" not in commands:
                # As many jobs as kubecall's DAG: the work jobs and manifest, merge, all.
                bare_dir = Path(tmp) / "bare"
                bare_config = make_bare(bare_dir, max(1, total_jobs(runs["dag"][0].output) - 3))
                bare = [*snakemake, "--snakefile", str(bare_dir / "Snakefile"), "--directory",
                        str(bare_dir)]
                commands["bare_dag"] = [*bare, "--configfile", str(bare_config), *dag_flags]
                commands["bare_job"] = [*bare, "--target-jobs", "work:job=0", "--allowed-rules",
                                        "work", *JOB_ARGS, "--configfiles", str(bare_config)]
            for key in ("bare_dag", "job", "bare_job"):
                runs[key].append(run_measured(commands[key]))
    result = {key: median(value) for key, value in runs.items()}
    for key in ("job", "bare_job"):
        if total_jobs(result[key].output) != 1:
            print(result[key].output[-4000:], file=sys.stderr)
            raise SystemExit(f"{key}: the job's command line did not plan exactly one job")
    jobs, bare_jobs = total_jobs(result["dag"].output), total_jobs(result["bare_dag"].output)
    ratios = {key: repeat_ratios(runs[key], runs[f"bare_{key}"]) for key in ("dag", "job")}
    dag_ratio, dag_cpu_ratio = median_ratio(ratios["dag"])
    parse_ratio, parse_cpu_ratio = median_ratio(ratios["job"])
    selection = f"populations {','.join(selected)}" if selected else "all samples"
    print(f"dry run of {args.samples} samples x {args.regions} regions ({selection}), mode "
          f"{args.mode}: {jobs} jobs, bare workflow {bare_jobs}; median of {args.repeats}, "
          f"ratios: the median of each repeat's")
    for label, key, ratio, cpu_ratio, goal in (
            ("DAG (snakemake -n)", "dag", dag_ratio, dag_cpu_ratio, GOAL_DAG),
            (f"per-job parse (--target-jobs {target} -n)", "job", parse_ratio,
             parse_cpu_ratio, GOAL_PARSE)):
        mine, theirs = result[key], result[f"bare_{key}"]
        by_repeat = " ".join(f"{cpu:.2f}" for _, cpu in ratios[key])
        print(f"{label}: kubecall {mine.seconds:.2f} s ({mine.cpu_seconds:.2f} s CPU) "
              f"{mine.peak_mb:.0f} MB, bare {theirs.seconds:.2f} s ({theirs.cpu_seconds:.2f} s "
              f"CPU) {theirs.peak_mb:.0f} MB: {ratio:.2f}x, CPU {cpu_ratio:.2f}x (goal at "
              f"most {goal}x); CPU ratio by repeat {by_repeat}")
    print(f"samples={args.samples} regions={args.regions} mode={args.mode} "
          f"batches={args.batches} selected_populations={len(selected) or 'all'} "
          f"jobs={jobs} repeats={args.repeats} seconds={result['dag'].seconds:.2f} "
          f"peak_mb={result['dag'].peak_mb:.0f} bare_seconds={result['bare_dag'].seconds:.2f} "
          f"bare_peak_mb={result['bare_dag'].peak_mb:.0f} dag_ratio={dag_ratio:.2f} "
          f"dag_cpu_ratio={dag_cpu_ratio:.2f} "
          f"job_seconds={result['job'].seconds:.2f} job_peak_mb={result['job'].peak_mb:.0f} "
          f"bare_job_seconds={result['bare_job'].seconds:.2f} "
          f"bare_job_peak_mb={result['bare_job'].peak_mb:.0f} parse_ratio={parse_ratio:.2f} "
          f"parse_cpu_ratio={parse_cpu_ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
