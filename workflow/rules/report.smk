# Report: results/report.html, one self-contained page (figures inline) that is published
# with the run, and its figures as SVG files for `snakemake --report`. With publishing on,
# results/publish/report.html is rendered again after publication, adding the receipt.
# run.json describes the run (tool versions, config, run id) for the report and publication.


rule describe_run:
    input:
        samples="results/cohort/samples.txt",
        fai=f"{REFERENCE}.fai",
        batches=BATCHES_TSV,
    output:
        report("results/run.json", caption="../report/run_json.rst", category="Run"),
    params:
        config=json.dumps(config),
        snakemake_version=SNAKEMAKE_VERSION,
    log:
        "logs/describe_run.log",
    benchmark:
        "benchmarks/describe_run.tsv"
    conda:
        "../envs/run-info.yaml"
    shell:
        step("describe_run") +
        " --samples {input.samples:q} --fai {input.fai:q} --batches {input.batches:q}"
        " --config {params.config:q} --snakemake-version {params.snakemake_version:q}"
        " --output {output:q} --log {log:q}"


rule render_report:
    input:
        unpack(get_report_inputs),
    output:
        html=report(
            "results/report.html",
            caption="../report/report_html.rst",
            category="Run report",
        ),
        figures=report(
            directory("results/report/figures"),
            patterns=["{name}.svg"],
            caption="../report/figures.rst",
            category="Figures",
            labels={"figure": "{name}"},
        ),
        summary="results/report/call_summary.json",
    params:
        publish=json.dumps(config["publish"]),
    log:
        "logs/render_report.log",
    benchmark:
        "benchmarks/render_report.tsv"
    conda:
        "../envs/kubecall.yaml"
    shell:
        step("render_report", deliverable_options(get_report_inputs())) +
        " --publish {params.publish:q} --html {output.html:q} --figures {output.figures:q}"
        " --summary-out {output.summary:q} --log {log:q}"


rule render_published_report:
    input:
        unpack(get_report_inputs),
        receipt="results/publish/receipt.json",
        # the call-set pass render_report made: the VCF is not read twice
        summary="results/report/call_summary.json",
    output:
        html=report(
            "results/publish/report.html",
            caption="../report/published_report.rst",
            category="Run report",
        ),
    params:
        publish=json.dumps(config["publish"]),
    log:
        "logs/render_published_report.log",
    benchmark:
        "benchmarks/render_published_report.tsv"
    conda:
        "../envs/kubecall.yaml"
    shell:
        step("render_report", deliverable_options(get_report_inputs())) +
        " --publish {params.publish:q} --summary {input.summary:q}"
        " --receipt {input.receipt:q} --html {output.html:q} --log {log:q}"
