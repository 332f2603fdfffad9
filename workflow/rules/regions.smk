# Region plan: results/regions/regions.bed (0-based, half-open; column 4 names the region)
# and results/regions/batches.tsv (which calling job each region belongs to, its weight and,
# for the calling job, its intervals again).
# The number of batches is fixed at load time, so the DAG is known before the plan exists.


rule plan_regions:
    input:
        unpack(get_targets_input),
        fai=f"{REFERENCE}.fai",
        reference=REFERENCE,
        report="results/cohort/preflight.tsv",
    output:
        plan=report(
            "results/regions/regions.bed", caption="../report/regions_bed.rst", category="Run"
        ),
        batches=BATCHES_TSV,
    params:
        strategy=config["regions"]["strategy"],
        n_regions=config["regions"]["count"],
        n_batches=len(BATCHES),
        weight_samples=config["regions"]["weight_samples"],
        targets=get_targets_option,
    log:
        "logs/plan_regions.log",
    benchmark:
        "benchmarks/plan_regions.tsv"
    conda:
        "../envs/kubecall.yaml"
    shell:
        step("plan_regions") +
        " --report {input.report:q} --fai {input.fai:q} --reference {input.reference:q}"
        " {params.targets} --strategy={params.strategy:q} --regions {params.n_regions}"
        " --batch-count {params.n_batches} --weight-samples {params.weight_samples}"
        " --plan {output.plan:q} --batches {output.batches:q} --log {log:q}"
