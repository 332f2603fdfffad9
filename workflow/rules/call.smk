# Calling: one job per batch of regions and call set (the whole cohort when joint); freebayes
# runs once per region jointly over the call set, so a region's records do not depend on its
# batch. A job runs `threads` freebayes at once, each worker taking the next region (longest
# expected first) when its last one ends.


rule call_batch:
    # Three files, the fewest that order the job and rerun it when they change: each file a
    # job declares costs the DAG (2,504 samples, 3,000 jobs, dry run against a bare workflow
    # of that shape: 1.46x with five inputs and two logs, 1.22x with these in the same session;
    # bench/dag_scale.py and the README's figures).
    # The reference's .fai (index_reference) precedes the job through the manifest (preflight
    # reads it) and changes only with the reference; batches.tsv carries each region's
    # intervals.
    input:
        reference=REFERENCE,
        manifest=CALLSET_MANIFEST,
        batches=BATCHES_TSV,
    output:
        directory(BATCH_DIR),
    params:
        # the column order of the region VCFs; written with the manifest, so not an input
        # (a string: snakemake fills in the wildcards)
        samples=CALLSET_SAMPLES,
        extra=config["calling"]["extra"],
        padding=config["regions"]["padding"],
        time_budget=config["calling"]["region_time_budget"],
        fallback=config["calling"]["runaway_fallback"],
        allocator=config["calling"]["allocator"],
    # one unless the profile's set-threads says more (common.smk: CALL_THREADS)
    threads: CALL_THREADS
    # kubecall's lines and, under a heading per region, each freebayes' stderr
    log:
        "logs/call_batch/{callset}/{batch}.log",
    benchmark:
        "benchmarks/call_batch/{callset}/{batch}.tsv"
    conda:
        "../envs/freebayes.yaml"
    # options with = : calling.extra may start with a dash
    shell:
        step("call_batch") +
        " --reference {input.reference:q} --manifest {input.manifest:q}"
        " --samples {params.samples:q}"
        " --batches {input.batches:q} --batch {wildcards.batch} --extra={params.extra:q}"
        " --padding {params.padding} --time-budget {params.time_budget}"
        " --fallback={params.fallback:q} --allocator={params.allocator:q}"
        " --output {output:q} --threads {threads} --log {log:q}"
