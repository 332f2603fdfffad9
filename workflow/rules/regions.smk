# Region plan: results/regions/regions.bed (0-based, half-open; column 4 names the region).
# The number of regions comes from config, so the DAG is known before the plan is written.


rule plan_regions:
    input:
        fai=f"{REFERENCE}.fai",
    output:
        "results/regions/regions.bed",
    params:
        strategy=config["regions"]["strategy"],
        n_regions=config["regions"]["count"],
    log:
        "logs/plan_regions.log",
    benchmark:
        "benchmarks/plan_regions.tsv"
    conda:
        "../envs/kubecall.yaml"
    script:
        "../scripts/plan_regions.py"
