#!/usr/bin/env python3
"""What a run costs around calling: the demo run's wall time less its calling window.

Runs the demo workflow (``config/``, ``resources/demo``, ``profiles/default``, ``--cores 2``)
``--repeats`` times, each in a fresh copy, and prints for each run the wall time, the calling
window (first freebayes' start to the last region's end, from the calling jobs' logs, as
``bench/scatter.py`` reads it) and the fixed cost, their difference; then the medians, the
wall seconds of each job outside calling (snakemake's benchmark files) and, as the floor under
it all, how long ``snakemake --version`` takes in the same Python (importing snakemake and
its plugins). Last line ``key=value`` pairs:

    python bench/fixed_cost.py --repeats 5
    python bench/fixed_cost.py --repeats 5 --python /path/to/venv/bin/python

``--python`` runs snakemake from another environment, e.g. one made by ``make run`` alone:
``make test`` adds the SLURM executor plugin, which snakemake loads on every start (it
imports pandas and, where SLURM's client tools are installed, asks ``scontrol`` for the
cluster's configuration).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from scatter import calling_window  # noqa: E402

# The jobs outside calling, in the order a run reaches them.
AROUND_CALLING = ("preflight_cohort", "plan_regions", "merge_calls/cohort", "compute_stats",
                  "summarize_regions", "describe_run", "render_report")


def run_demo(python: str, workdir: Path) -> tuple[float, float]:
    """Run the demo in ``workdir`` (a fresh copy); its wall seconds and calling window."""
    shutil.copytree(REPO / "config", workdir / "config")
    shutil.copytree(REPO / "resources" / "demo", workdir / "resources" / "demo")
    command = [python, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
               "--profile", str(REPO / "profiles" / "default"), "--directory", str(workdir),
               "--cores", "2"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the demo run failed:\n{done.stderr[-3000:]}")
    return seconds, calling_window(workdir)


def job_seconds(workdir: Path) -> dict[str, float]:
    """Wall seconds of each job outside calling, from its benchmark file."""
    seconds = {}
    for name in AROUND_CALLING:
        with open(workdir / "benchmarks" / f"{name}.tsv", newline="") as handle:
            seconds[name] = float(next(csv.DictReader(handle, delimiter="\t"))["s"])
    return seconds


def import_seconds(python: str) -> float:
    """Wall seconds of ``snakemake --version``: importing snakemake and its plugins."""
    started = time.perf_counter()
    subprocess.run([python, "-m", "snakemake", "--version"], capture_output=True, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--python", default=sys.executable,
                        help="the Python whose snakemake runs the demo (default: this one)")
    args = parser.parse_args()
    walls, windows, jobs, imports = [], [], [], []
    for index in range(max(1, args.repeats)):
        with tempfile.TemporaryDirectory(prefix="fixed-cost-") as tmp:
            seconds, window = run_demo(args.python, Path(tmp))
            jobs.append(job_seconds(Path(tmp)))
        imports.append(import_seconds(args.python))
        walls.append(seconds)
        windows.append(window)
        print(f"run {index + 1}: wall {seconds:.2f} s, calling window {window:.2f} s, "
              f"fixed cost {seconds - window:.2f} s")
    fixed = [wall - window for wall, window in zip(walls, windows, strict=True)]
    per_job = {name: statistics.median(j[name] for j in jobs) for name in AROUND_CALLING}
    print(f"median of {len(walls)}: wall {statistics.median(walls):.2f} s, calling window "
          f"{statistics.median(windows):.2f} s, fixed cost {statistics.median(fixed):.2f} s "
          f"(range {min(fixed):.2f}-{max(fixed):.2f}); snakemake --version "
          f"{statistics.median(imports):.2f} s")
    print("jobs outside calling (median wall s): "
          + ", ".join(f"{name} {value:.2f}" for name, value in per_job.items()))
    print(f"repeats={len(walls)} wall_s={statistics.median(walls):.2f} "
          f"window_s={statistics.median(windows):.2f} fixed_s={statistics.median(fixed):.2f} "
          f"fixed_min_s={min(fixed):.2f} fixed_max_s={max(fixed):.2f} "
          f"import_s={statistics.median(imports):.2f} "
          + " ".join(f"{name.split('/')[0]}_s={value:.2f}" for name, value in per_job.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
