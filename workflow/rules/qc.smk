# QC: every region's runtime and outcome joined with the plan, and the runaway regions (over
# calling.region_time_budget, split or called with the fallback options).


rule summarize_regions:
    input:
        # An input function, not the list: snakemake expands a listed input when it parses
        # the rule, in every job's snakemake (3,000 paths at one region a job), while a
        # function is called only to build this rule's one job.
        batch_dirs=get_all_batch_dirs,
        batches=BATCHES_TSV,
    output:
        runtimes=report(
            "results/qc/region_runtimes.tsv",
            caption="../report/region_runtimes.rst",
            category="Quality control",
        ),
        runaways=report(
            "results/qc/runaway_regions.tsv",
            caption="../report/runaway_regions.rst",
            category="Quality control",
        ),
    params:
        budget=config["calling"]["region_time_budget"],
        callsets=list(CALLSETS),
    log:
        "logs/summarize_regions.log",
    benchmark:
        "benchmarks/summarize_regions.tsv"
    conda:
        "../envs/kubecall.yaml"
    # the batch directories by call set and name (kubecall.layout.BATCH_DIR)
    shell:
        step("summarize_regions") +
        " --batches {input.batches:q} --callsets {params.callsets:q}"
        " --budget {params.budget} --runtimes {output.runtimes:q}"
        " --runaways {output.runaways:q} --log {log:q}"
