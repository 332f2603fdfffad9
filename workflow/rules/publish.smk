# Publish: upload the deliverables to S3 (MinIO), verified, manifest.json then _SUCCESS last.
# Runs on the driver (localrule): it holds the credentials, jobs never see them.


localrules:
    publish_results,


rule publish_results:
    input:
        unpack(get_deliverables),
    output:
        receipt=report(
            "results/publish/receipt.json", caption="../report/receipt.rst", category="Run"
        ),
    log:
        "logs/publish_results.log",
    benchmark:
        "benchmarks/publish_results.tsv"
    params:
        publish=json.dumps(config["publish"]),
    conda:
        "../envs/kubecall.yaml"
    shell:
        step("publish_results") +
        " --run {input.run:q} --publish {params.publish:q} --receipt {output.receipt:q}"
        " --log {log:q}"
