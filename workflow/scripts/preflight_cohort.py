"""Adapter: preflight every selected alignment, write the cohort manifest and report."""

from pathlib import Path

from kubecall.pipeline.cohort import load_cohort
from kubecall.pipeline.preflight import (
    run_preflight,
    write_callset_manifests,
    write_manifest,
    write_report,
    write_sample_names,
)
from kubecall.pipeline.regions import read_fai
from kubecall.pipeline.scripting import run_logged


def main() -> None:
    # The same selection as at workflow load (common.smk), so both agree on the cohort.
    samples = load_cohort(
        Path(snakemake.input.sheet), Path(snakemake.params.schema), snakemake.params.cohort
    )
    contigs = read_fai(Path(snakemake.input.fai))
    outcome = run_preflight(
        samples,
        Path(snakemake.input.reference),
        contigs,
        cache=Path(snakemake.params.cache) if snakemake.params.cache else None,
        threads=snakemake.threads,
        iupac=snakemake.params.iupac,
    )
    write_manifest(outcome.infos, Path(snakemake.output.manifest))
    write_sample_names(outcome.infos, Path(snakemake.output.samples))
    write_report(outcome.infos, Path(snakemake.output.report))
    write_callset_manifests(outcome.infos, dict(snakemake.params.callsets),
                            Path(snakemake.output.report).parent / "callsets")


run_logged(snakemake.log[0], main)
