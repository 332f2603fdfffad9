"""The workflow library's commands (see kubecall.cluster.cli for the shape)."""

VERB_MODULES: tuple[str, ...] = ("kubecall.pipeline.samplesheet_builder",)
EXAMPLES = """\
  kubecall samplesheet --tree /datasource/1000g/phase3/data --match low_coverage -o samples.tsv
"""
