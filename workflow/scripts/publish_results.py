"""Adapter: publish the run's deliverables to S3 and write the receipt."""

from pathlib import Path

from kubecall.pipeline.runinfo import read_run_id
from kubecall.pipeline.scripting import run_logged
from kubecall.publish.publishing import publish_workflow_results

result = run_logged(
    snakemake.log[0],
    lambda: publish_workflow_results(
        Path("."),
        snakemake.config["publish"],
        read_run_id(Path(snakemake.input.run)),
        Path(snakemake.output.receipt),
    ),
)
# On the driver's output too: where a cluster run's results are (`kubecall logs RUN`).
print(f"kubecall: published {result.url} (receipt {snakemake.output.receipt})", flush=True)
