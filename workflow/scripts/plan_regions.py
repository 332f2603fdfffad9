"""Adapter: write the region plan from the reference index."""

import sys

# This checkout's kubecall, whichever environment (venv, conda, container) runs the job.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

from pathlib import Path

from kubecall.regions import plan_equal, read_fai, write_plan
from kubecall.scripting import run_logged


def main() -> None:
    contigs = read_fai(Path(snakemake.input.fai))
    write_plan(plan_equal(contigs, int(snakemake.params.n_regions)), Path(snakemake.output[0]))


run_logged(snakemake.log[0], main)
