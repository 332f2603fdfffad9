# Stats: bcftools stats over the merged call set, per sample (-s -).


rule compute_stats:
    input:
        vcf="results/calls/cohort.vcf.gz",
        reference=REFERENCE,
    output:
        "results/stats/cohort.stats.txt",
    log:
        "logs/compute_stats.log",
    conda:
        "../envs/bcftools.yaml"
    shell:
        "bcftools stats -F {input.reference} -s - {input.vcf} > {output} 2> {log}"
