"""Old settings to kubecall profile keys: one handler per key of the two old setups."""

from __future__ import annotations

from collections.abc import Callable

from kubecall.migration import volumes
from kubecall.migration.model import (
    PLUGIN_SOURCE,
    S3_PLUGIN_SOURCE,
    SNAKEMAKE7_SOURCE,
    Conversion,
)
from kubecall.migration.options import SNAKEMAKE7_ONLY, is_snakemake_option
from kubecall.migration.resources import as_mapping, per_rule, translate_resources

Handler = Callable[[Conversion, str, object], None]
STAGING = ("kubecall jobs read and write the shared ReadWriteMany workspace in place, so no "
           "file is staged through remote storage; publish results with the config's "
           "publish: section (config/kubernetes.yaml)")
IMAGE_TOOLS = ("kubecall's job image already holds every tool the rules run, pinned in one "
               "environment (container/README.md); per-rule environments would be built in "
               "each job; add it back by hand only for rules of your own")
SECRETS = ("kubecall never copies the driver's environment into pods; put the values in a "
           "Secret and set kubecall-secret-name and kubecall-secret-env (ENV=KEY,...)")


def renamed(new: str, source: str, note: str = "") -> Handler:
    """A key kubecall has under another name, with the same meaning."""
    def handle(out: Conversion, key: str, value: object) -> None:
        out.add(new, value, f"From {key} ({source}).{' ' + note if note else ''}")
    return handle


def untranslatable(reason: str) -> Handler:
    """A key with no kubecall equivalent, for ``reason``."""
    def handle(out: Conversion, key: str, value: object) -> None:
        out.untranslatable(key, reason)
    return handle


def secret_value(reason: str) -> Handler:
    """Like `untranslatable`, for a credential: the value is never repeated."""
    return untranslatable(f"{reason} (value not shown)")


def executor(out: Conversion, key: str, value: object) -> None:
    if value == "kubernetes":
        out.add("executor", "kubecall", f"From executor: kubernetes ({PLUGIN_SOURCE}): one "
                "batch/v1 Job per snakemake job, status from one watch over the run's pods.")
    else:
        out.untranslatable(key, f"executor {value!r} is not Kubernetes; convert a profile "
                           "written for --executor kubernetes")


def kubernetes7(out: Conversion, key: str, value: object) -> None:
    namespace = "default" if value is True else value
    out.add("executor", "kubecall", f"From --kubernetes ({SNAKEMAKE7_SOURCE}): one batch/v1 "
            "Job per snakemake job instead of one bare Pod.")
    out.add("kubecall-namespace", namespace, f"From --kubernetes {namespace} "
            f"({SNAKEMAKE7_SOURCE}; 'default' when given without a value).")


def privileged(out: Conversion, key: str, value: object) -> None:
    if value:
        out.untranslatable(key, "kubecall pods are never privileged (restricted Pod Security "
                           "Standard); run rule tools from the job image, not apptainer")
    else:
        out.notes.append(f"{key}: false - kubecall pods are never privileged; nothing to set.")


def envvars(out: Conversion, key: str, value: object) -> None:
    names = value.split() if isinstance(value, str) else value
    out.untranslatable(key, f"{', '.join(map(str, names))}: {SECRETS}")  # type: ignore[arg-type]


def persistent_volumes(out: Conversion, key: str, value: object) -> None:
    volumes.translate_volumes(volumes.parse_volumes(value, key), key, out,
                              out.workspace_claim)


def default_resources(out: Conversion, key: str, value: object) -> None:
    kept = translate_resources(as_mapping(value, key), key, out)
    note = " runtime (minutes) becomes activeDeadlineSeconds: a job past it is stopped." \
        if "runtime" in kept else ""
    out.add(key, kept, f"From {key}: mem_mb is the memory request and limit, disk_mb the "
            f"ephemeral storage and /scratch size.{note}")


def set_resources(out: Conversion, key: str, value: object) -> None:
    rules = {rule: translate_resources(as_mapping(res, f"{key}: {rule}"), key, out, rule)
             for rule, res in per_rule(value, key).items()}
    out.add(key, rules, f"From {key}: per-rule resources, read as under default-resources.")


def set_threads(out: Conversion, key: str, value: object) -> None:
    out.add(key, per_rule(value, key), f"From {key}: cpu request = threads * "
            "kubecall-cpu-scalar, cpu limit = threads.")


HANDLERS: dict[str, Handler] = {
    # snakemake-executor-plugin-kubernetes v0.5.1 (ExecutorSettings) and Snakemake 8/9.
    "executor": executor,
    "kubernetes-namespace": renamed("kubecall-namespace", PLUGIN_SOURCE),
    "kubernetes-cpu-scalar": renamed("kubecall-cpu-scalar", PLUGIN_SOURCE,
                                     "kubecall also sets the cpu limit to the threads."),
    "kubernetes-service-account-name": renamed(
        "kubecall-service-account", PLUGIN_SOURCE,
        "Job pods run under it, but kubecall does not mount its API token."),
    "kubernetes-privileged": privileged,
    "kubernetes-persistent-volumes": persistent_volumes,
    "kubernetes-omit-job-cleanup": renamed("kubecall-keep-jobs", PLUGIN_SOURCE,
                                           "Cancelled runs are still cleaned up."),
    "container-image": renamed("kubecall-image", "Snakemake's remote execution setting",
                               "It must hold kubecall's tools (container/README.md)."),
    "envvars": envvars,
    "use-conda": untranslatable(IMAGE_TOOLS),
    "software-deployment-method": untranslatable(IMAGE_TOOLS),
    "default-storage-provider": untranslatable(STAGING),
    "default-storage-prefix": untranslatable(STAGING),
    "shared-fs-usage": untranslatable("kubecall always shares the workspace between the "
                                      "driver and the jobs"),
    "local-storage-prefix": untranslatable(STAGING),
    "remote-job-local-storage-prefix": untranslatable(STAGING),
    "storage-s3-endpoint-url": untranslatable(f"{S3_PLUGIN_SOURCE}: {STAGING}; the "
                                              "endpoint goes to publish.endpoint"),
    "storage-s3-region": untranslatable(f"{S3_PLUGIN_SOURCE}: {STAGING}"),
    "storage-s3-signature-version": untranslatable(f"{S3_PLUGIN_SOURCE}: {STAGING}"),
    "storage-s3-retries": untranslatable(f"{S3_PLUGIN_SOURCE}: {STAGING}"),
    "storage-s3-access-key": secret_value(f"{S3_PLUGIN_SOURCE}: {SECRETS}"),
    "storage-s3-secret-key": secret_value(f"{S3_PLUGIN_SOURCE}: {SECRETS}"),
    "storage-s3-token": secret_value(f"{S3_PLUGIN_SOURCE}: {SECRETS}"),
    "default-resources": default_resources,
    "set-resources": set_resources,
    "set-threads": set_threads,
    # Snakemake v7.32.4's --kubernetes family (removed in Snakemake 8).
    "kubernetes": kubernetes7,
    "k8s-cpu-scalar": renamed("kubecall-cpu-scalar", SNAKEMAKE7_SOURCE,
                              "kubecall also sets the cpu limit to the threads."),
    "k8s-service-account-name": renamed(
        "kubecall-service-account", SNAKEMAKE7_SOURCE,
        "Job pods run under it, but kubecall does not mount its API token."),
    "default-remote-provider": untranslatable(f"{SNAKEMAKE7_SOURCE}: {STAGING}"),
    "default-remote-prefix": untranslatable(f"{SNAKEMAKE7_SOURCE}: {STAGING}"),
    "no-shared-fs": untranslatable("kubecall needs the shared workspace; there is no "
                                   "no-shared-fs mode"),
    "restart-times": renamed("retries", f"{SNAKEMAKE7_SOURCE}; renamed in Snakemake 8",
                             "Each retry asks for kubecall-memory-growth times more memory."),
    "use-singularity": untranslatable("Snakemake 7 made such pods privileged to run "
                                      "singularity; kubecall runs a rule's container: as "
                                      "the pod's image instead"),
}
# Keys passed through unchanged get this comment (snakemake reads them the same way).
SAME = {
    "jobs": "Jobs pending or running at once.",
    "retries": "Each retry asks for kubecall-memory-growth times more memory.",
    "latency-wait": "kubecall jobs write on NFS; the driver's attribute cache can lag.",
}


def translate(settings: dict[str, object], out: Conversion) -> None:
    """Every key of ``settings`` into ``out``: a kubecall key, or a named finding."""
    for raw, value in settings.items():
        key = raw.lstrip("-").replace("_", "-")
        handler = HANDLERS.get(key)
        if handler is not None:
            handler(out, key, value)
        elif key.startswith("kubecall-"):
            out.add(key, value, f"From {key}: already a kubecall setting.")
        elif key.startswith("storage-"):
            out.untranslatable(key, f"a storage plugin setting: {STAGING}")
        elif key in SNAKEMAKE7_ONLY:
            out.untranslatable(key, f"a {SNAKEMAKE7_SOURCE} option of another executor, "
                               "removed in Snakemake 8; kubecall has no counterpart")
        elif is_snakemake_option(key):
            out.add(key, value, f"From {key}: a snakemake option, the same under kubecall. "
                    f"{SAME.get(key, '')}".rstrip())
        else:
            out.unknown(key, "neither a snakemake option nor a setting of "
                        f"{PLUGIN_SOURCE} or {SNAKEMAKE7_SOURCE}; check its spelling, or "
                        "add it by hand if it belongs to another plugin")
