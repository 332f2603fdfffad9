# Merge: ordered concatenation of the region VCFs, checked sorted and duplicate-free.


rule merge_calls:
    input:
        vcfs=get_region_vcfs(),
        samples="results/cohort/samples.txt",
        fai=f"{REFERENCE}.fai",
    output:
        vcf="results/calls/cohort.vcf.gz",
        tbi="results/calls/cohort.vcf.gz.tbi",
    log:
        "logs/merge_calls.log",
    benchmark:
        "benchmarks/merge_calls.tsv"
    conda:
        "../envs/bcftools.yaml"
    script:
        "../scripts/merge_calls.py"
