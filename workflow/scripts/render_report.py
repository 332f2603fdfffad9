"""Adapter: render the run report (and its figures) from the run directory."""

from pathlib import Path

from kubecall.layout import BENCHMARKS, DELIVERABLES
from kubecall.pipeline.scripting import run_logged
from kubecall.report.data import load_report_data
from kubecall.report.render import write_report
from kubecall.report.vcf_summary import CallSetSummary


def main() -> None:
    saved = snakemake.input.get("summary")
    calls = CallSetSummary.read_json(Path(saved)) if saved else None
    deliverables = {key: Path(snakemake.input[key]) for key in DELIVERABLES
                    if key in snakemake.input.keys()}
    receipt = snakemake.input.get("receipt")
    # benchmarks/: the jobs' own timings, which snakemake writes and no rule outputs
    data = load_report_data(deliverables, Path(BENCHMARKS), snakemake.params.publish,
                            Path(receipt) if receipt else None, calls=calls)
    figures = snakemake.output.get("figures")
    write_report(data, Path(snakemake.output.html), Path(figures) if figures else None)
    if "summary" in snakemake.output.keys():
        data.calls.write_json(Path(snakemake.output.summary))


run_logged(snakemake.log[0], main)
