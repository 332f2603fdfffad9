# kubecall: joint variant calling with freebayes, from a laptop to a Kubernetes cluster.
# The stages live in workflow/rules/, one file each; see ../README.md and config/README.md.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


# What `snakemake --report` opens with; each rule's report() outputs carry their own caption.
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/preflight.smk"
include: "workflow/rules/regions.smk"
include: "workflow/rules/call.smk"
include: "workflow/rules/merge.smk"
include: "workflow/rules/qc.smk"
include: "workflow/rules/stats.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/publish.smk"


rule all:
    input:
        get_final_outputs(),
    default_target: True


onsuccess:
    exit_promptly()


onerror:
    exit_promptly()
