# Preflight: every input checked before any calling job; the cohort manifest is the one
# file calling jobs depend on (not each alignment), so the DAG stays small for 2,504 samples.

# What each alignment's header says, cached by (path, size, mtime) between runs; safe to delete.
PREFLIGHT_CACHE = ".kubecall-cache/preflight-headers.json"


rule index_reference:
    input:
        REFERENCE,
    output:
        f"{REFERENCE}.fai",
    log:
        "logs/index_reference.log",
    benchmark:
        "benchmarks/index_reference.tsv"
    conda:
        "../envs/samtools.yaml"
    # Paths quoted (a reference path may hold spaces); written under a temporary name and
    # renamed, so a failure never leaves an index that looks finished.
    shell:
        "samtools faidx {input:q} --fai-idx {output:q}.partial 2> {log:q}"
        " && mv {output:q}.partial {output:q} || {{ rm -f {output:q}.partial; exit 1; }}"


rule preflight_cohort:
    input:
        sheet=config["samples"],
        reference=REFERENCE,
        fai=f"{REFERENCE}.fai",
    output:
        manifest="results/cohort/alignments.txt",
        samples="results/cohort/samples.txt",
        report="results/cohort/preflight.tsv",
        callsets=expand(CALLSET_MANIFEST, callset=CALLSETS),
        callset_samples=expand(CALLSET_SAMPLES, callset=CALLSETS),
    params:
        schema=SCHEMAS / "samples.schema.yaml",
        # A changed selection changes the cohort: params are a rerun trigger.
        cohort=json.dumps(config["cohort"]),
        # the call sets (one file each above), as common.smk makes them
        mode=config["calling"]["mode"],
        group_by=config["calling"]["group_by"],
        # Header facts by (path, size, mtime), kept outside results/ so they survive a
        # clean rerun (config/README.md, "Preflight at scale").
        cache=PREFLIGHT_CACHE,
        # IUPAC codes in the reference: refuse or keep (config/README.md)
        iupac=config["reference_iupac"],
    log:
        "logs/preflight_cohort.log",
    benchmark:
        "benchmarks/preflight_cohort.tsv"
    conda:
        "../envs/kubecall.yaml"
    shell:
        step("preflight_cohort") +
        " --sheet {input.sheet:q} --schema {params.schema:q} --cohort {params.cohort:q}"
        " --mode={params.mode:q} --group-by={params.group_by:q}"
        " --reference {input.reference:q} --fai {input.fai:q} --cache {params.cache:q}"
        " --iupac={params.iupac:q} --manifest {output.manifest:q}"
        " --samples {output.samples:q} --report {output.report:q}"
        " --threads {threads} --log {log:q}"
