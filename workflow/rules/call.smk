# Calling: one job per batch of regions; freebayes runs once per region, jointly over the
# whole cohort, so a region's records do not depend on its batch.


rule call_batch:
    input:
        reference=REFERENCE,
        fai=f"{REFERENCE}.fai",
        manifest="results/cohort/alignments.txt",
        plan="results/regions/regions.bed",
        batches="results/regions/batches.tsv",
    output:
        directory("results/calls/batches/{batch}"),
    params:
        extra=config["calling"]["extra"],
        padding=config["regions"]["padding"],
        time_budget=config["calling"]["region_time_budget"],
        fallback=config["calling"]["runaway_fallback"],
    wildcard_constraints:
        batch="b[0-9]+",
    log:
        main="logs/call_batch/{batch}.log",
        freebayes="logs/call_batch/{batch}.freebayes.log",
    benchmark:
        "benchmarks/call_batch/{batch}.tsv"
    conda:
        "../envs/freebayes.yaml"
    script:
        "../scripts/call_batch.py"
