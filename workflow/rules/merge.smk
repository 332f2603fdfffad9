# Merge: a call set's region VCFs concatenated in plan order, checked sorted and duplicate-free;
# in modes per_group/per_sample the call sets are then merged sample-wise into the cohort's.
# The per-region runtimes and runaway regions are collected for QC.


rule merge_calls:
    input:
        batch_dirs=get_batch_dirs,
        batches="results/regions/batches.tsv",
        samples="results/cohort/callsets/{callset}.samples.txt",
        fai=f"{REFERENCE}.fai",
    output:
        vcf="results/calls/{callset}.vcf.gz",
        tbi="results/calls/{callset}.vcf.gz.tbi",
    log:
        "logs/merge_calls/{callset}.log",
    benchmark:
        "benchmarks/merge_calls/{callset}.tsv"
    conda:
        "../envs/bcftools.yaml"
    script:
        "../scripts/merge_calls.py"


if not JOINT:

    rule merge_callsets:
        input:
            vcfs=get_callset_vcfs(),
            samples="results/cohort/samples.txt",
            fai=f"{REFERENCE}.fai",
        output:
            vcf="results/calls/cohort.vcf.gz",
            tbi="results/calls/cohort.vcf.gz.tbi",
        log:
            "logs/merge_callsets.log",
        benchmark:
            "benchmarks/merge_callsets.tsv"
        conda:
            "../envs/bcftools.yaml"
        script:
            "../scripts/merge_callsets.py"


rule summarize_regions:
    input:
        batch_dirs=get_all_batch_dirs(),
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
