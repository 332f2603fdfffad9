# Shared setup: validate config and sample sheet at load time (a bad config runs no job),
# and the get_<thing>() helpers the rules use as input functions.
import json
import os
import shlex
import sys
from pathlib import Path

from snakemake import __version__ as SNAKEMAKE_VERSION
from snakemake.exceptions import WorkflowError
from snakemake_interface_executor_plugins.settings import DeploymentMethod

# The installed kubecall package (make run: pip install -e .; the job image; conda's env).
try:
    from kubecall.errors import KubecallError
    from kubecall.layout import (BATCH_DIR, CALLSET_MANIFEST, CALLSET_SAMPLES, CALLSET_VCF,
                                 DELIVERABLES, RESULTS)
    from kubecall.pipeline.allocator import resolve_allocator
    from kubecall.pipeline.batching import batch_names, default_batch_count
    from kubecall.pipeline.calling import parse_extra
    from kubecall.pipeline.cohort import callsets, load_cohort
    from kubecall.pipeline.config import validate_config
    from kubecall.pipeline.reference_check import check_not_compressed
    from kubecall.pipeline.snakemake_compat import (
        config_source,
        exit_promptly,
        jobs_at_once,
        rule_threads,
    )
except ImportError as exc:
    raise WorkflowError(
        f"kubecall is not importable by {sys.executable} ({exc}); run 'make run' once "
        f"(it installs kubecall into .venv), 'pip install -e .' in this checkout, or use "
        f"the conda environment in environment.yml"
    )

# With --software-deployment-method conda, each env's post-deploy script installs kubecall
# from this checkout (workflow/envs/install-kubecall.sh).
os.environ.setdefault("KUBECALL_SOURCE", workflow.basedir)

SCHEMAS = Path(workflow.basedir) / "workflow" / "schemas"
SCRIPTS = Path(workflow.basedir) / "workflow" / "scripts"
# The Python that runs the adapters: this snakemake's, whose environment holds kubecall, or
# under --software-deployment-method conda the env's own (the choice snakemake's scripts make).
STEP_PYTHON = (
    "python" if DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
    else sys.executable
)


def step(name, *options):
    """The start of a shell command that runs workflow/scripts/<name>.py with ``options``;
    the rules add their paths and params as options after it.

    shell: rather than script:, whose preamble imports snakemake in every job (0.1-0.26 s,
    on each of the seven steps outside freebayes on a run's way), and whose interpreter path
    snakemake does not quote (snakemake issue 2645). Braces are doubled: snakemake formats
    the command.
    """
    command = f"{shlex.quote(STEP_PYTHON)} {shlex.quote(str(SCRIPTS / f'{name}.py'))}"
    return " ".join([command.replace("{", "{{").replace("}", "}}"), *options])


def deliverable_options(inputs):
    """The report adapter's --deliverable KEY=PATH options, one per named input."""
    return " ".join(f"--deliverable {key}={{input.{key}:q}}" for key in inputs)

CONFIG_SOURCE = config_source(workflow)


def _load_inputs():
    """Validate config and sheet, select the cohort; a user error stops with its message alone.

    The preflight job selects with the same load_cohort(), so both agree on the cohort.
    """
    try:
        validate_config(config, SCHEMAS / "config.schema.yaml", CONFIG_SOURCE)
        samples = load_cohort(
            Path(config["samples"]), SCHEMAS / "samples.schema.yaml", config["cohort"]
        )
        _check_reference(Path(config["reference"]))
        parse_extra(config["calling"]["extra"])
        parse_extra(config["calling"]["runaway_fallback"], "calling.runaway_fallback")
        resolve_allocator(config["calling"]["allocator"])
        if config["publish"]["enabled"]:
            # Imported only here: boto3 costs ~0.2 s on every start of a run that does not
            # publish.
            from kubecall.publish.publishing import check_publish_ready

            check_publish_ready(config["publish"])
        if config["regions"]["strategy"] == "bed" and not config["regions"]["targets"]:
            raise KubecallError(
                f"{CONFIG_SOURCE}: regions.strategy is bed but regions.targets is empty; "
                f"name the BED file of targets"
            )
        sets = callsets(samples, config["calling"]["mode"], config["calling"]["group_by"])
    except KubecallError as exc:
        raise WorkflowError(str(exc)) from None
    return samples, sets


def _check_reference(reference: Path) -> None:
    """The reference must exist; its .fai must exist or be creatable next to it."""
    if not reference.is_file():
        raise KubecallError(
            f"reference {reference} (config key 'reference' in {CONFIG_SOURCE}) not found; "
            f"point 'reference' at the FASTA the reads were aligned to"
        )
    check_not_compressed(reference)
    fai = Path(f"{reference}.fai")
    if not fai.is_file() and not os.access(reference.parent, os.W_OK):
        raise KubecallError(
            f"reference {reference} has no index {fai.name} and its directory is read-only; "
            f"copy the reference to a writable place, or run 'samtools faidx {reference}' "
            f"where you can write"
        )


def _batch_count() -> int:
    """regions.batches, or the default for the calling jobs this run has at once (--jobs on
    a cluster, the cores divided by a calling job's threads, CALL_THREADS, on local cores).

    Only the grouping of regions into jobs depends on it, never a record: each region is
    called on its own, so any batch count gives the same call set.
    """
    configured = config["regions"]["batches"]
    if configured:
        return configured
    return default_batch_count(config["regions"]["count"], CALL_THREADS,
                               jobs_at_once(workflow, CALL_THREADS))


# freebayes processes one calling job runs at once (the threads of call_batch): one unless
# the profile's set-threads asks for more (profiles/local, slurm, kubernetes say why).
CALL_THREADS = rule_threads(workflow, "call_batch", default=1)
SAMPLES, CALLSETS = _load_inputs()
REFERENCE = config["reference"]
# the region plan's batches (plan_regions): every calling, merge and QC job reads it
BATCHES_TSV = f"{RESULTS}/{DELIVERABLES['batches']}"
JOINT = config["calling"]["mode"] == "joint"
# Each call set is split into batches; together they make about _batch_count() jobs.
BATCHES = batch_names(max(1, _batch_count() // len(CALLSETS)))
# joint: the one call set is the cohort itself; otherwise groups or samples, merged after.
CALLSET_PATTERN = {"joint": "cohort", "per_group": "group-[A-Za-z0-9._-]+",
                   "per_sample": "sample-[A-Za-z0-9._-]+"}[config["calling"]["mode"]]


wildcard_constraints:
    callset=CALLSET_PATTERN,
    batch="b[0-9]+",


def get_batch_dirs(wildcards):
    """The calling batches' output directories of one call set."""
    return expand(BATCH_DIR, callset=wildcards.callset, batch=BATCHES)


def get_all_batch_dirs(wildcards=None):
    """Every call set's batch directories (for the per-region QC tables)."""
    return expand(BATCH_DIR, callset=CALLSETS, batch=BATCHES)


def get_callset_vcfs(wildcards=None):
    """The call sets merged into the cohort call set (modes per_group and per_sample)."""
    return expand(CALLSET_VCF, callset=CALLSETS)


def get_targets_input(wildcards=None):
    """The targets BED as a named input when strategy is bed (a changed file replans)."""
    if config["regions"]["strategy"] == "bed":
        return {"targets": config["regions"]["targets"]}
    return {}


def get_targets_option(wildcards, input):
    """plan_regions' --targets option when the targets BED is an input, else nothing."""
    return f"--targets {shlex.quote(input.targets)}" if "targets" in input.keys() else ""


def get_deliverables(wildcards=None):
    """What a run delivers, by name (kubecall.layout, the one list); publish uploads these."""
    return {key: f"{RESULTS}/{path}" for key, path in DELIVERABLES.items()}


def get_report_inputs(wildcards=None):
    """What the report reads: every deliverable but the report itself."""
    inputs = get_deliverables()
    del inputs["report"]
    return inputs


def get_final_outputs():
    """The deliverables; with publishing on, the receipt and the report that shows it."""
    outputs = list(get_deliverables().values())
    if config["publish"]["enabled"]:
        outputs += ["results/publish/receipt.json", "results/publish/report.html"]
    return outputs
