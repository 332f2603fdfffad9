#!/usr/bin/env python3
"""What comes after calling costs at 1000 Genomes scale: merge, ``bcftools stats``, report.

Writes a synthetic run as the workflow leaves it once calling is done (bench/_callset.py:
per-region bgzipped freebayes-like VCFs in results/calls/cohort/batches/<batch>/, the plan,
batches, sample files, QC tables, run.json), then runs, each in a process of its own so
that its peak RSS (``os.wait4``'s ``ru_maxrss``: the largest single process of the step,
not the sum of a pipeline's processes) is the step's alone:

0. region_write: what call_batch's writing of region VCFs costs at this many samples
   (kubecall.pipeline.calling.write_owned_records: the ownership and order checks, the
   sample columns put into the sheet's order, compression) over the first batch's regions,
   read decompressed into memory first as freebayes would pipe them: per record with the
   columns to reorder (as from freebayes, whose order is its own) and without;
1. merge: workflow/scripts/merge_calls.py, the merge_calls rule's adapter, run with the
   options its rule gives it;
2. stats: the compute_stats rule's shell command, read from workflow/rules/stats.smk;
3. report: workflow/scripts/render_report.py with the render_report rule's options (no saved
   summary, so summarize_calls reads the call set; its seconds and the RSS it reached are
   shown apart from rendering's).

Prints seconds and peak RSS per step, last line ``key=value`` pairs. With ``--profile`` the
Python steps run under cProfile and the most-called functions are printed with their call
counts: a count near samples x records would mean a per-sample walk in Python. Run niced
(other people time things on the machine). At full size some 23 GB of VCF text is written,
some 6 GB of region VCFs (bgzip's default level, as call_batch's) and a merged VCF as large,
under --workdir, removed at the end unless --keep; a run made with --keep is timed again
with --reuse:

    nice -n 19 python bench/after_calling.py --samples 2504 --records 200000 --regions 1000 \\
        --workdir /var/tmp/after-calling --keep
    nice -n 19 python bench/after_calling.py --workdir /var/tmp/after-calling --reuse \\
        --steps report --profile
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import json
import os
import pstats
import re
import resource
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from _measure import run_measured  # noqa: E402

STEPS = ("region_write", "merge", "stats", "report")
VCF = "results/calls/cohort.vcf.gz"
STATS = "results/stats/cohort.stats.txt"


def stats_command(root: Path) -> str:
    """The compute_stats rule's shell command, from stats.smk, with its paths filled in."""
    rule = (REPO / "workflow/rules/stats.smk").read_text()
    block = re.search(r"^    shell:\n((?:        .*\n)+)", rule, re.MULTILINE)
    if block is None:
        raise SystemExit("no shell: block in workflow/rules/stats.smk")
    template = ast.literal_eval("(" + block.group(1) + ")")

    class Quoted(str):
        def __format__(self, spec: str) -> str:
            return shlex.quote(self) if spec == "q" else format(str(self), spec)

    return template.format(
        input=SimpleNamespace(vcf=Quoted(VCF), reference=Quoted(str(root / "reference.fa"))),
        output=Quoted(STATS), log=Quoted("logs/compute_stats.log"))


def rule_threads(smk: str, rule: str) -> int:
    """A rule's ``threads:`` in workflow/rules/<smk>, as the workflow gives its jobs (1, as
    snakemake, when the rule has none)."""
    text = (REPO / "workflow/rules" / smk).read_text()
    if not re.search(rf"^ *rule {rule}:$", text, re.MULTILINE):
        raise SystemExit(f"no rule {rule} in workflow/rules/{smk}")
    found = re.search(rf"^ *rule {rule}:\n(?:(?! *rule ).*\n)*? *threads: (\d+)", text,
                      re.MULTILINE)
    return int(found.group(1)) if found else 1


def _run_script(script: str, *argv: str) -> None:
    """Run a workflow adapter in this process with the options its rule's shell gives it."""
    import runpy

    log = Path(argv[argv.index("--log") + 1])
    log.parent.mkdir(parents=True, exist_ok=True)
    path = str(REPO / "workflow/scripts" / script)
    saved, sys.argv = sys.argv, [path, *argv]
    try:
        runpy.run_path(path, run_name="__main__")
    finally:
        sys.argv = saved


def step_merge(root: Path) -> dict[str, float]:
    _run_script(
        "merge_calls.py", "--callset", "cohort", "--batches", "results/regions/batches.tsv",
        "--samples", "results/cohort/callsets/cohort.samples.txt",
        "--fai", f"{root / 'reference.fa'}.fai", "--output", VCF,
        "--threads", str(rule_threads("merge.smk", "merge_calls")),
        "--log", "logs/merge_calls/cohort.log")
    return {}


def step_region_write(root: Path) -> dict[str, float]:
    import gzip

    import pysam

    from kubecall.pipeline.batching import read_plan_regions
    from kubecall.pipeline.calling import write_owned_records

    plan = read_plan_regions(root / "results/regions/batches.tsv")
    first_batch = plan[0][1]
    measured = {"write_records": 0.0, "write_reordered_s": 0.0, "write_as_is_s": 0.0}
    for region, batch in plan:
        if batch != first_batch:
            continue
        with gzip.open(root / f"results/calls/cohort/batches/{batch}/{region.name}.vcf.gz",
                       "rt") as handle:
            lines = handle.readlines()
        names = next(line for line in lines if line.startswith("#CHROM")).split()[9:]
        for key, wanted in (("write_reordered_s", names[::-1]), ("write_as_is_s", names)):
            started = time.perf_counter()
            with pysam.BGZFile(str(root / ".region_write.vcf.gz"), "wb") as out:
                kept, _ = write_owned_records(lines, region, out, samples=wanted)
            measured[key] += time.perf_counter() - started
        measured["write_records"] += kept
    (root / ".region_write.vcf.gz").unlink()
    for key in ("write_reordered_s", "write_as_is_s"):
        measured[key.replace("_s", "_ms_per_record")] = (
            1000 * measured[key] / max(1, measured["write_records"]))
    return measured


def step_report(root: Path) -> dict[str, float]:
    import kubecall.report.data as data
    from kubecall.layout import DELIVERABLES

    measured: dict[str, float] = {}
    summarize = data.summarize_calls

    def timed(*args: object, **kwargs: object):
        started = time.perf_counter()
        result = summarize(*args, **kwargs)
        measured["summarize_s"] = time.perf_counter() - started
        measured["summarize_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return result

    data.summarize_calls = timed  # the name load_report_data calls
    deliverables = [f"--deliverable={key}=results/{path}" for key, path in DELIVERABLES.items()
                    if key != "report"]
    started = time.perf_counter()
    _run_script(
        "render_report.py", *deliverables, "--publish", json.dumps({"enabled": False}),
        "--html", "results/report.html", "--figures", "results/report/figures",
        "--summary-out", "results/report/call_summary.json",
        "--threads", str(rule_threads("report.smk", "render_report")),
        "--log", "logs/render_report.log")
    measured["render_s"] = time.perf_counter() - started - measured["summarize_s"]
    return measured


def step_generate(root: Path, shape: dict[str, int]) -> dict[str, float]:
    from _callset import write_run

    layout = write_run(root, shape["samples"], shape["records"], shape["regions"],
                       shape["batches"], shape["seed"])
    return {"batches": len(layout.batches), "region_vcf_gb": layout.vcf_bytes / 1e9}


def run_child(step: str, root: Path, shape: dict[str, int], profile: Path | None) -> None:
    """One step in this process (the parent measures it); what it measured to a file."""
    if step == "generate":
        measured = step_generate(root, shape)
    else:
        os.chdir(root)
        action = {"region_write": step_region_write, "merge": step_merge,
                  "report": step_report}[step]
        if profile is None:
            measured = action(root)
        else:
            profiler = cProfile.Profile()
            measured = profiler.runcall(action, root)
            profiler.dump_stats(str(profile))
    Path(f"{root}/.{step}.json").write_text(json.dumps(measured))


def own_rss_mb() -> float:
    """This process's resident memory now: the floor of a child's ru_maxrss (Linux counts
    the parent's memory at the fork into the child's high-water mark)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def most_called(profile: Path, count: int = 4) -> list[tuple[int, str]]:
    """The functions called most often (primitive calls) in a cProfile dump: of kubecall's
    own code and the workflow's scripts, then of any code."""
    table = pstats.Stats(str(profile)).stats  # type: ignore[attr-defined]
    rows = sorted(((calls, file, line, name) for (file, line, name), (calls, *_rest)
                   in table.items()), reverse=True)
    ours = [row for row in rows if "/kubecall/" in row[1] or "/workflow/scripts/" in row[1]]
    return [(calls, f"{Path(file).name}:{line}({name})")
            for calls, file, line, name in ours[:count] + rows[:count]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=2504)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--regions", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path,
                        help="where the run is written (default: a new directory in $TMPDIR)")
    parser.add_argument("--keep", action="store_true", help="keep the run directory (a "
                        "--reuse run always does)")
    parser.add_argument("--reuse", action="store_true",
                        help="time the steps on the run already in --workdir (made with --keep)")
    parser.add_argument("--steps", type=lambda text: text.split(","), default=list(STEPS),
                        help="which of region_write,merge,stats,report to run (with "
                             "--reuse, each needs the ones before it done once)")
    parser.add_argument("--profile", action="store_true",
                        help="run the Python steps under cProfile; print the most called")
    parser.add_argument("--step", choices=("generate", *STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--profile-to", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    shape = {key: getattr(args, key) for key in ("samples", "records", "regions", "batches",
                                                 "seed")}
    if args.step:
        run_child(args.step, args.workdir, shape, args.profile_to)
        return
    if args.reuse and not args.workdir:
        parser.error("--reuse needs --workdir")
    root = (args.workdir or Path(tempfile.mkdtemp(prefix="after-calling-"))).resolve()
    try:
        report(args, root, shape)
    finally:
        if not (args.keep or args.reuse):  # a reused run is one kept earlier: leave it
            shutil.rmtree(root, ignore_errors=True)


def report(args: argparse.Namespace, root: Path, shape: dict[str, int]) -> None:
    # This process stays small (standard library only): a child's peak RSS counts it.
    from _benchmark_file import write_benchmark

    me = [sys.executable, str(Path(__file__).resolve()), "--workdir", str(root),
          *(f"--{key}={value}" for key, value in shape.items())]
    made_file = root / ".synthetic.json"
    if args.reuse:
        made = json.loads(made_file.read_text())
        print(f"reusing the synthetic run in {root}")
    else:
        root.mkdir(parents=True, exist_ok=True)
        generated = run_measured([*me, "--step", "generate"], root, capture=False)
        made = shape | json.loads((root / ".generate.json").read_text()) | {
            "gen_s": generated.seconds, "gen_cpu_s": generated.cpu_seconds,
            "gen_rss_mb": generated.peak_mb}
        made_file.write_text(json.dumps(made))
    print(f"synthetic run: {made['samples']} samples, {made['records']:,} records in "
          f"{made['regions']} regions ({made['batches']} batches), "
          f"{made['region_vcf_gb']:.2f} GB of region VCFs, made in {made['gen_s']:.0f} s "
          f"({made.get('gen_cpu_s', float('nan')):.0f} s CPU, peak RSS "
          f"{made['gen_rss_mb']:.0f} MB)", flush=True)
    figures: dict[str, float] = {key: made.get(key, float("nan"))
                                 for key in ("gen_s", "gen_cpu_s", "region_vcf_gb")}
    floor = own_rss_mb()
    for step in args.steps:
        profile = root / f".{step}.prof" if args.profile and step != "stats" else None
        if step == "stats":
            (root / "logs").mkdir(exist_ok=True)
            command = ["bash", "-c", "set -euo pipefail; " + stats_command(root)]
        else:
            command = [*me, "--step", step] + (["--profile-to", str(profile)] if profile else [])
        measured = run_measured(command, root, capture=False)
        seconds, cpu, rss = measured.seconds, measured.cpu_seconds, measured.peak_mb
        figures |= {f"{step}_s": seconds, f"{step}_cpu_s": cpu, f"{step}_rss_mb": rss}
        saved = root / f".{step}.json"
        if saved.is_file():
            figures |= json.loads(saved.read_text())
        if step in ("merge", "stats"):  # the report shows them, as in a real run
            rule = {"merge": "merge_calls/cohort", "stats": "compute_stats"}[step]
            write_benchmark(root / f"benchmarks/{rule}.tsv", seconds, rss)
        print(f"{step}: {seconds:.1f} s ({cpu:.1f} s CPU), peak RSS {rss:.0f} MB", flush=True)
        if step == "region_write":
            print(f"  {figures['write_records']:,.0f} records of the first batch: "
                  f"{figures['write_reordered_ms_per_record']:.2f} ms a record with the "
                  f"sample columns reordered, {figures['write_as_is_ms_per_record']:.2f} ms "
                  "as they are")
        if profile:
            for calls, where in most_called(profile):
                print(f"    {calls:>12,} calls  {where}")
    figures["merged_gb"] = (root / VCF).stat().st_size / 1e9
    if "report" in args.steps:
        figures["page_mb"] = (root / "results/report.html").stat().st_size / 1e6
        print(f"  report: summarize_calls {figures['summarize_s']:.1f} s (RSS reached "
              f"{figures['summarize_rss_mb']:.0f} MB), rendering {figures['render_s']:.1f} s; "
              f"page {figures['page_mb']:.2f} MB")
    print(f"  merged VCF {figures['merged_gb']:.2f} GB; RSS floor (this process's, counted "
          f"in each step's) {floor:.0f} MB")
    print(f"samples={made['samples']} records={made['records']} regions={made['regions']} "
          + " ".join(f"{key}={value:.2f}" for key, value in figures.items()))


if __name__ == "__main__":
    main()
