"""kubecall: joint variant calling with Snakemake and freebayes, laptop to Kubernetes."""

__version__ = "0.1.0"
