# Stats: bcftools stats over the merged call set, per sample (-s -).


rule compute_stats:
    input:
        vcf="results/calls/cohort.vcf.gz",
        reference=REFERENCE,
    output:
        report(
            "results/stats/cohort.stats.txt",
            caption="../report/stats.rst",
            category="Quality control",
        ),
    log:
        "logs/compute_stats.log",
    benchmark:
        "benchmarks/compute_stats.tsv"
    conda:
        "../envs/bcftools.yaml"
    # Paths quoted (a reference path may hold spaces). bcftools does not check its writes
    # (on a full disk it exits 0 with the file cut short), so cat writes the file and fails
    # on a write error; the file gets its name only once complete.
    shell:
        "bcftools stats -F {input.reference:q} -s - {input.vcf:q} 2> {log:q}"
        " | cat > {output:q}.partial && mv {output:q}.partial {output:q}"
        " || {{ rm -f {output:q}.partial; exit 1; }}"
