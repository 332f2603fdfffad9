# Merge: region VCFs concatenated in plan order, checked sorted and duplicate-free; the
# per-region runtimes and runaway regions collected for QC.


rule merge_calls:
    input:
        batch_dirs=get_batch_dirs(),
        batches="results/regions/batches.tsv",
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


rule summarize_regions:
    input:
        batch_dirs=get_batch_dirs(),
        batches="results/regions/batches.tsv",
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
    log:
        "logs/summarize_regions.log",
    benchmark:
        "benchmarks/summarize_regions.tsv"
    conda:
        "../envs/kubecall.yaml"
    script:
        "../scripts/summarize_regions.py"
