# Merge: a call set's region VCFs concatenated in plan order, checked sorted and duplicate-free;
# in modes per_group/per_sample the call sets are then merged sample-wise into the cohort's.


rule merge_calls:
    input:
        batch_dirs=get_batch_dirs,
        batches=BATCHES_TSV,
        samples=CALLSET_SAMPLES,
        fai=f"{REFERENCE}.fai",
    output:
        vcf=CALLSET_VCF,
        tbi=f"{CALLSET_VCF}.tbi",
    # the region VCFs are joined as they are, no record decoded or compressed again
    # (kubecall.pipeline.merge.merge_region_vcfs): one thread, the disk's speed
    threads: 1
    log:
        "logs/merge_calls/{callset}.log",
    benchmark:
        "benchmarks/merge_calls/{callset}.tsv"
    conda:
        "../envs/bcftools.yaml"
    # the batch directories by name (kubecall.layout.BATCH_DIR), not listed: bash gets the
    # command as one argument, at most 128 KiB, and 3,000 batch directories take 110 KB
    shell:
        step("merge_calls") +
        " --callset {wildcards.callset} --batches {input.batches:q}"
        " --samples {input.samples:q} --fai {input.fai:q} --output {output.vcf:q}"
        " --threads {threads} --log {log:q}"


if not JOINT:

    rule merge_callsets:
        input:
            vcfs=get_callset_vcfs(),
            samples="results/cohort/samples.txt",
            fai=f"{REFERENCE}.fai",
        output:
            vcf="results/calls/cohort.vcf.gz",
            tbi="results/calls/cohort.vcf.gz.tbi",
        params:
            callsets=list(CALLSETS),
        threads: 2  # bcftools view's compression threads: the merge re-encodes every record
        log:
            "logs/merge_callsets.log",
        benchmark:
            "benchmarks/merge_callsets.tsv"
        conda:
            "../envs/bcftools.yaml"
        # the call sets' VCFs by name (kubecall.layout.CALLSET_VCF)
        shell:
            step("merge_callsets") +
            " --callsets {params.callsets:q} --samples {input.samples:q}"
            " --fai {input.fai:q} --output {output.vcf:q} --threads {threads} --log {log:q}"
