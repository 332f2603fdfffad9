"""Moving a Snakemake-on-Kubernetes setup to kubecall: `kubecall profile convert`.

Reads a profile for `--executor kubernetes` (snakemake-executor-plugin-kubernetes) or a
Snakemake 7 `--kubernetes` command line and writes a kubecall profile, every key commented
with where it came from; what cannot be translated is reported, never dropped.
"""
