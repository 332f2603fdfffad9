"""The developer tools' commands (see kubecall.cluster.cli for the shape)."""

VERB_MODULES: tuple[str, ...] = ("kubecall.devtools.simulate", "kubecall.devtools.accuracy")
EXAMPLES = """\
  kubecall simulate --samples 4 --length 200000 --depth 20 --seed 1 cohort/
"""
