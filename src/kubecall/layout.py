"""Where a run's results live: the one list of deliverables, shared by workflow and publish."""

from __future__ import annotations

from pathlib import Path

RESULTS = "results"
BENCHMARKS = "benchmarks"  # snakemake's per-job timings, benchmarks/<rule>[/<wildcards>].tsv
# Written by the publish stage: each object uploaded or skipped, verified.
RECEIPT = f"{RESULTS}/publish/receipt.json"
# One calling job's directory (its regions' VCFs and regions.tsv) and a call set's merged
# calls, as snakemake patterns: the rules' outputs, and how the merge and QC steps find them
# by name (listed, 3,000 batch directories or 2,504 call sets would fill the 128 KiB that one
# shell command may hold).
BATCH_DIR = f"{RESULTS}/calls/{{callset}}/batches/{{batch}}"
CALLSET_VCF = f"{RESULTS}/calls/{{callset}}.vcf.gz"
# A call set's alignments (freebayes -L) and its sample names in the sheet's order (the
# column order of its region VCFs and call set), both written by preflight.
CALLSET_MANIFEST = f"{RESULTS}/cohort/callsets/{{callset}}.txt"
CALLSET_SAMPLES = f"{RESULTS}/cohort/callsets/{{callset}}.samples.txt"

# What a finished run delivers: key -> path under results/ (also its object name in S3).
# The workflow's rule all and publish stage, and `kubecall publish`, all read this list.
DELIVERABLES: dict[str, str] = {
    "vcf": "calls/cohort.vcf.gz",
    "tbi": "calls/cohort.vcf.gz.tbi",
    "stats": "stats/cohort.stats.txt",
    "regions": "regions/regions.bed",
    "batches": "regions/batches.tsv",
    "region_runtimes": "qc/region_runtimes.tsv",
    "runaway_regions": "qc/runaway_regions.tsv",
    "run": "run.json",
    "report": "report.html",
}


def deliverable_paths(workdir: Path) -> dict[str, Path]:
    """Each deliverable's path in a run's working directory."""
    return {key: Path(workdir) / RESULTS / path for key, path in DELIVERABLES.items()}
