# Calling: freebayes jointly over the whole cohort, one job per region.


rule call_region:
    input:
        reference=REFERENCE,
        fai=f"{REFERENCE}.fai",
        manifest="results/cohort/alignments.txt",
        plan="results/regions/regions.bed",
    output:
        "results/calls/regions/{region}.vcf.gz",
    params:
        extra=config["calling"]["extra"],
    wildcard_constraints:
        region="r[0-9]+",
    log:
        main="logs/call_region/{region}.log",
        freebayes="logs/call_region/{region}.freebayes.log",
    benchmark:
        "benchmarks/call_region/{region}.tsv"
    conda:
        "../envs/freebayes.yaml"
    script:
        "../scripts/call_region.py"
