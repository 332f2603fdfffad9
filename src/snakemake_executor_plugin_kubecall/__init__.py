"""Snakemake executor plugin `kubecall`: one Kubernetes Job per snakemake job, on a shared
ReadWriteMany workspace (no source upload, no storage plugin).

Use: `snakemake --executor kubecall` or `--profile profiles/kubernetes`. Settings are the
`--kubecall-*` flags (profile keys `kubecall-*`), see `ExecutorSettings`.
"""

# snakemake builds argparse options from these annotations at runtime: Optional[str] works,
# `str | None` does not (it is not callable), hence no PEP 604 here.
# ruff: noqa: UP007, UP045
from dataclasses import dataclass, field
from typing import Optional

from snakemake_interface_executor_plugins.settings import (
    CommonSettings,
    ExecutorSettingsBase,
)

from kubecall.cluster import contract

from .executor import Executor


def _setting(help_text: str, default: object = None) -> object:
    return field(default=default, metadata={"help": help_text, "env_var": False,
                                            "required": False})


@dataclass
class ExecutorSettings(ExecutorSettingsBase):
    """`--kubecall-*` settings; comma-separated lists, KEY=VALUE pairs where noted."""

    namespace: str = _setting("Namespace of the run's Jobs.", contract.NAMESPACE)
    kubeconfig: Optional[str] = _setting(
        "Kubeconfig file (default: in-cluster service account, else $KUBECONFIG/~/.kube).")
    context: Optional[str] = _setting("Kubeconfig context to use.")
    workspace_claim: str = _setting(
        "ReadWriteMany claim holding the working directory.", contract.WORKSPACE_CLAIM)
    workspace_path: str = _setting(
        "Where jobs mount the workspace claim: the path the driver sees it at too, so the "
        "working directory is the same everywhere.", contract.WORKSPACE_PATH)
    datasource_claim: Optional[str] = _setting(
        "Read-only data-source claim (always mounted readOnly); 'none' for no data source.",
        contract.DATASOURCE_CLAIM)
    datasource_path: str = _setting("Where jobs mount the data-source claim.",
                                    contract.DATASOURCE_PATH)
    image: str = _setting(
        "Default job image (pin by digest); per rule: resource kubecall_image or the rule's "
        "container:.", contract.IMAGE)
    image_pull_policy: str = _setting("imagePullPolicy of job containers.", "IfNotPresent")
    image_pull_secrets: Optional[str] = _setting("imagePullSecrets, comma-separated names.")
    service_account: Optional[str] = _setting("serviceAccountName of job pods.")
    node_selector: Optional[str] = _setting("nodeSelector as KEY=VALUE,...")
    tolerations: Optional[str] = _setting(
        "Tolerations, kubectl taint syntax, comma-separated: key=value:Effect or key:Effect.")
    labels: Optional[str] = _setting("Extra labels on Jobs and pods, KEY=VALUE,...")
    annotations: Optional[str] = _setting("Extra annotations on Jobs and pods, KEY=VALUE,...")
    run_as_user: int = _setting("runAsUser of job pods (the image's user).", contract.UID)
    run_as_group: int = _setting("runAsGroup of job pods.", contract.GID)
    fs_group: int = _setting("fsGroup of job pods (group owning workspace files).",
                             contract.GID)
    writable_root: bool = _setting(
        "Let jobs write to the root filesystem (default: readOnlyRootFilesystem).", False)
    cpu_scalar: float = _setting(
        "CPU request per thread (limit: 1 per thread); below 1 so jobs pack onto nodes "
        "whose allocatable CPU is a little under the core count.", 0.95)
    memory_growth: float = _setting(
        "Memory after OOMKilled attempts: mem_mb * growth^(OOMKilled attempts), never past the "
        "namespace's LimitRange max (other failures retry with the same memory).", 1.5)
    memory_headroom: int = _setting(
        "MB added to mem_mb in each job container's memory request and limit: the pod also "
        "runs snakemake's own job process (about 150 MB).", 256)
    scratch_memory: bool = _setting(
        "Back /scratch by memory (emptyDir medium Memory, counts against the memory limit); "
        "per rule: resource kubecall_scratch_memory=1.", False)
    ttl_seconds: int = _setting(
        "ttlSecondsAfterFinished of Jobs: how long a failed Job (and its pod's log) stays for "
        "`kubecall status`/`kubecall logs --failed`; the executor deletes the others itself.",
        86400)
    secret_name: Optional[str] = _setting(
        "Existing Secret whose keys reach jobs by secretKeyRef (e.g. S3 credentials).")
    secret_env: Optional[str] = _setting(
        "Environment variables from --kubecall-secret-name, ENV=KEY,... e.g. "
        "AWS_ACCESS_KEY_ID=rootUser,AWS_SECRET_ACCESS_KEY=rootPassword.")
    python: str = _setting(
        "Python that runs snakemake inside the job image.", "python")
    keep_jobs: bool = _setting(
        "Keep the run's Jobs and pods after it ends (for debugging).", False)
    watch_timeout: int = _setting(
        "Seconds a status watch stays open before it is renewed (a silent watch is given "
        "up 30 s after that: a half-open connection cannot stall the run).", 240)
    image_pull_timeout: int = _setting(
        "Seconds a job's pod may keep failing to pull its image (a registry's 429s, "
        "timeouts: the kubelet retries, up to 5 min apart) before the job fails; an image "
        "or tag that does not exist, or a refused pull (credentials), fails at once.", 600)
    api_patience: int = _setting(
        "Seconds of Kubernetes API trouble (an outage, throttling) the run rides out: calls "
        "and the status watch retry that long before the run fails; running Jobs are kept.",
        900)


common_settings = CommonSettings(
    non_local_exec=True,
    # The workspace is shared: jobs read sources and write outputs in place.
    implies_no_shared_fs=False,
    job_deploy_sources=False,
    pass_default_storage_provider_args=True,
    pass_default_resources_args=True,
    # Environment variables go into the Job spec; credentials only by secretKeyRef.
    pass_envvar_declarations_to_cmd=False,
    auto_deploy_default_storage_provider=False,
    init_seconds_before_status_checks=1,
)

__all__ = ["Executor", "ExecutorSettings", "common_settings"]
