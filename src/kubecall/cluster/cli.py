"""The cluster commands: each verb's module (with its ``register``) and the examples the
top-level help shows. A new verb is one module and one line here."""

VERB_MODULES: tuple[str, ...] = (
    "kubecall.cluster.bootstrap",
    "kubecall.cluster.credentials",
    "kubecall.cluster.stage",
    "kubecall.cluster.launch",
    "kubecall.cluster.status",
    "kubecall.cluster.logs",
    "kubecall.cluster.teardown",
)
EXAMPLES = """\
  kubecall bootstrap --overlay minikube            # namespace, claims, MinIO, driver RBAC
  kubecall stage --include config/my-cohort.yaml   # the workflow onto the shared workspace
  kubecall launch --configfile config/config.yaml  # snakemake as a Job in the cluster
  kubecall status; kubecall logs RUN; kubecall teardown
"""
