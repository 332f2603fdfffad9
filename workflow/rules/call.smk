# Calling: one job per batch of regions and call set (the whole cohort when joint); freebayes
# runs once per region jointly over the call set, so a region's records do not depend on its
# batch. A job runs `threads` freebayes at once, each worker taking the next region (longest
# expected first) when its last one ends.


rule call_batch:
    input:
        reference=REFERENCE,
        fai=f"{REFERENCE}.fai",
        manifest="results/cohort/callsets/{callset}.txt",
        plan="results/regions/regions.bed",
        batches="results/regions/batches.tsv",
    output:
        directory("results/calls/{callset}/batches/{batch}"),
    params:
        extra=config["calling"]["extra"],
        padding=config["regions"]["padding"],
        time_budget=config["calling"]["region_time_budget"],
        fallback=config["calling"]["runaway_fallback"],
        allocator=config["calling"]["allocator"],
    # one unless the profile's set-threads says more (common.smk: CALL_THREADS)
    threads: CALL_THREADS
    log:
        main="logs/call_batch/{callset}/{batch}.log",
        freebayes="logs/call_batch/{callset}/{batch}.freebayes.log",
    benchmark:
        "benchmarks/call_batch/{callset}/{batch}.tsv"
    conda:
        "../envs/freebayes.yaml"
    script:
        "../scripts/call_batch.py"
