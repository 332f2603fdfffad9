"""The cluster contract: what the executor plugin, the cluster commands and the manifests
agree on. Names, labels, paths, the image, the pods' user and their hardening are defined
here and nowhere else (k8s/ holds the same names as YAML; tests check they agree).

Pure data and functions: the executor plugin imports this on every snakemake start.
"""

from __future__ import annotations

from typing import Any

# A Kubernetes object as the API returns it, decoded from JSON.
Obj = dict[str, Any]

NAMESPACE = "kubecall"
PART_OF = "kubecall"  # app.kubernetes.io/part-of of everything kubecall creates
WORKSPACE_CLAIM = "shared-workspace"  # ReadWriteMany: runs, results, logs
DATASOURCE_CLAIM = "pv1000g"  # ReadOnlyMany: the 1000 Genomes data, always mounted readOnly
WORKSPACE_PATH = "/workspace"  # the same path in the driver and every job
DATASOURCE_PATH = "/datasource"
SCRATCH_PATH = "/scratch"
TMP_PATH = "/tmp"
# HOME and XDG_CACHE_HOME of every kubecall pod: the root filesystem is read-only, /tmp an
# emptyDir, so tools (snakemake's source cache among them) write their caches there.
CACHE_PATH = f"{TMP_PATH}/.cache"
# Where a job's snakemake keeps its runtime source cache (its private copy of the workflow's
# scripts); never the driver's own path, which a pod may not be able to create.
JOB_SOURCE_CACHE_PATH = f"{CACHE_PATH}/snakemake/kubecall-runtime-source-cache"
IMAGE = "ghcr.io/kubecall/kubecall:0.1.0"  # pin by digest in profiles and overlays
# The image's user: every kubecall pod runs as it.
UID = 10001
GID = 10001
# The driver's identity; k8s/base/driver/kubecall-driver-role.yaml grants its calls.
DRIVER_SERVICE_ACCOUNT = "kubecall-driver"
CONTAINER = "snakemake"  # the container of a job or driver pod that decides its outcome
# The driver pod's native sidecar (kubecall.cluster.reaper): once the driver container ended,
# it deletes the run's Jobs that have not finished.
REAPER_CONTAINER = "reaper"
# kubectl logs/exec pick this container of a pod when none is named (a mesh may add others).
DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"

RUN_LABEL = "kubecall.io/run-id"
RULE_LABEL = "kubecall.io/rule"
JOBID_LABEL = "kubecall.io/jobid"
ATTEMPT_LABEL = "kubecall.io/attempt"
# Which working directory a Job belongs to: a rerun there deletes the Jobs a killed driver left.
WORKDIR_LABEL = "kubecall.io/workdir"
# On every object `kubecall bootstrap` applies, valued with its namespace: a later bootstrap
# deletes (prunes) the objects so labelled that the manifests no longer hold.
BOOTSTRAP_LABEL = "kubecall.io/bootstrap"
COMPONENT_LABEL = "app.kubernetes.io/component"
JOB_COMPONENT = "snakemake-job"  # the executor's Jobs (the driver Job's component is "driver")
# Set by the driver Job (`kubecall launch`): the executor labels its Jobs with this run id, so
# `kubecall status RUN` and `kubecall logs --failed RUN` find them.
RUN_ID_ENV = "KUBECALL_RUN_ID"
# Set by the driver Job from the downward API (its pod's name and uid): the executor makes
# that pod the owner of every Job it creates, so Kubernetes' garbage collector deletes them
# whenever the driver pod goes (its Job deleted by hand or TTL, eviction, a lost node).
DRIVER_POD_ENV = "KUBECALL_DRIVER_POD"
DRIVER_POD_UID_ENV = "KUBECALL_DRIVER_POD_UID"
NAMESPACE_ENV = "KUBECALL_NAMESPACE"  # the driver pod's namespace (the reaper's Jobs are there)


def driver_owner_reference(pod_name: str, pod_uid: str) -> Obj:
    """The ownerReference of an executor Job to its driver pod. No blockOwnerDeletion: that
    would need `update` on pods/finalizers where OwnerReferencesPermissionEnforcement is
    on, and nothing needs the driver pod to wait for its Jobs' deletion."""
    return {"apiVersion": "v1", "kind": "Pod", "name": pod_name, "uid": pod_uid}


def jobs_selector(run_id: str) -> str:
    """Label selector for the executor's Jobs and pods of one run (never its driver)."""
    return f"{RUN_LABEL}={run_id},{COMPONENT_LABEL}={JOB_COMPONENT}"


def pod_security_context(uid: int = UID, gid: int = GID, fs_group: int = GID) -> Obj:
    """The "restricted" Pod Security Standard's pod-level settings, as the image's user."""
    return {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": gid, "fsGroup": fs_group,
            "seccompProfile": {"type": "RuntimeDefault"}}


def container_security_context(read_only_root: bool = True) -> Obj:
    """The restricted profile's container settings, with a read-only root filesystem
    unless asked otherwise (pods write only to emptyDirs and claims)."""
    return {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": read_only_root,
            "seccompProfile": {"type": "RuntimeDefault"}}


def condition(obj: Obj, kind: str) -> Obj | None:
    """The status condition of type ``kind`` (Complete, Failed, PodScheduled…), if any."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return None
