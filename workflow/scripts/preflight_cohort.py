"""Adapter: preflight every alignment, write the cohort manifest and report."""

import sys

# This checkout's kubecall, whichever environment (venv, conda, container) runs the job.
sys.path.insert(0, f"{snakemake.scriptdir}/../../src")

from pathlib import Path

from kubecall.preflight import preflight, write_manifest, write_report, write_sample_names
from kubecall.regions import read_fai
from kubecall.samplesheet import read_sample_sheet
from kubecall.scripting import run_logged


def main() -> None:
    samples = read_sample_sheet(Path(snakemake.input.sheet), Path(snakemake.params.schema))
    contigs = read_fai(Path(snakemake.input.fai))
    infos = preflight(samples, Path(snakemake.input.reference), contigs)
    write_manifest(infos, Path(snakemake.output.manifest))
    write_sample_names(infos, Path(snakemake.output.samples))
    write_report(infos, Path(snakemake.output.report))


run_logged(snakemake.log[0], main)
