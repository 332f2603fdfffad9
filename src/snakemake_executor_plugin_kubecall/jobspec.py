"""Build the batch/v1 Job for one snakemake job: pure functions, no API calls."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass, field

from kubecall.cluster import contract
from kubecall.cluster.contract import (
    ATTEMPT_LABEL,
    CACHE_PATH,
    CONTAINER,
    JOBID_LABEL,
    PART_OF,
    RULE_LABEL,
    RUN_LABEL,
    SCRATCH_PATH,
    TMP_PATH,
    WORKDIR_LABEL,
    Obj,
)

COMPONENT = contract.JOB_COMPONENT


@dataclass(frozen=True)
class SpecSettings:
    """Cluster-wide choices for every Job of a run (from the executor settings)."""

    namespace: str = contract.NAMESPACE
    workspace_claim: str = contract.WORKSPACE_CLAIM
    workspace_path: str = contract.WORKSPACE_PATH
    datasource_claim: str | None = contract.DATASOURCE_CLAIM
    datasource_path: str = contract.DATASOURCE_PATH
    image: str = contract.IMAGE
    image_pull_policy: str = "IfNotPresent"
    image_pull_secrets: tuple[str, ...] = ()
    service_account: str | None = None
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[Obj, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    run_as_user: int = contract.UID
    run_as_group: int = contract.GID
    fs_group: int = contract.GID
    read_only_root: bool = True
    cpu_scalar: float = 0.95
    memory_growth: float = 1.5
    # Added to mem_mb in the container's request and limit: the pod also runs snakemake's own
    # job process (about 150 MB), which a rule's mem_mb does not count.
    memory_headroom_mb: int = 256
    # The namespace's LimitRange maximum per container (MB), if any: memory never grows past it.
    memory_max_mb: int | None = None
    ttl_seconds: int = 86400
    scratch_memory: bool = False
    secret_name: str | None = None
    # Environment variable -> key in `secret_name`; values reach pods only by secretKeyRef.
    secret_env: dict[str, str] = field(default_factory=dict)
    # The driver pod's ownerReference (contract.driver_owner_reference) when the driver runs
    # in a pod that says who it is: its Jobs are garbage-collected with it.
    owner: Obj | None = None


@dataclass(frozen=True)
class JobRequest:
    """What one snakemake job needs from Kubernetes."""

    run_id: str
    rule: str
    jobid: int
    attempt: int
    command: str
    workdir: str
    threads: int = 1
    mem_mb: int | None = None
    disk_mb: int | None = None
    runtime_minutes: int | None = None
    image: str | None = None
    scratch_memory: bool | None = None
    env: dict[str, str] = field(default_factory=dict)
    # Earlier attempts of this job that were OOMKilled: only those make memory grow.
    oom_kills: int = 0


class MemoryTooLarge(ValueError):
    """A job's first attempt needs more memory than the namespace's LimitRange allows."""


def grown_memory(mem_mb: int, oom_kills: int, growth: float) -> int:
    """mem_mb * growth^oom_kills, rounded up: memory grows only after an OOMKilled attempt
    (a killed, evicted or failing job is retried with what it had)."""
    return math.ceil(mem_mb * growth ** max(0, oom_kills))


def container_memory_mb(mem_mb: int, oom_kills: int, settings: SpecSettings) -> int:
    """The container's memory request and limit (MB): the grown mem_mb plus the headroom
    for snakemake's job process, never past the LimitRange maximum. MemoryTooLarge when even
    the first attempt does not fit (the pod would be refused)."""
    wanted = grown_memory(mem_mb, oom_kills, settings.memory_growth) + settings.memory_headroom_mb
    cap = settings.memory_max_mb
    if cap is None or wanted <= cap:
        return wanted
    if oom_kills == 0:
        raise MemoryTooLarge(
            f"mem_mb={mem_mb} (+{settings.memory_headroom_mb} MB headroom for snakemake's job "
            f"process) is more than the namespace's LimitRange allows per container "
            f"({cap} MB): lower the rule's mem_mb or raise the LimitRange's max memory")
    return cap


_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
          "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}


def memory_mb(quantity: str) -> int:
    """A memory quantity ("64Gi", "500M", "1e9") in MB (10^6 bytes), rounded down."""
    text = str(quantity).strip()
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * _UNITS[suffix] // 10**6)
    return int(float(text) // 10**6)


def limit_range_max_mb(limit_ranges: list[Obj]) -> int | None:
    """The smallest per-container memory maximum of the namespace's LimitRanges (MB)."""
    caps = [memory_mb(item["max"]["memory"]) for lr in limit_ranges
            for item in (lr.get("spec") or {}).get("limits") or []
            if item.get("type") == "Container" and (item.get("max") or {}).get("memory")]
    return min(caps) if caps else None


def cpu_quantity(cores: float) -> str:
    """A CPU quantity in millicores (at least 1m)."""
    return f"{max(1, math.floor(cores * 1000))}m"


def dns_label(text: str, limit: int = 63) -> str:
    """`text` as a DNS-1123 label: lowercase alphanumerics and '-', at most `limit` chars."""
    slug = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "x"


def label_value(text: str) -> str:
    """`text` as a label value (63 chars of [A-Za-z0-9._-], alphanumeric at both ends)."""
    value = re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:63]
    return value.strip("-._")


def workdir_key(workdir: str) -> str:
    """A short, stable label value naming a working directory."""
    return hashlib.sha256(workdir.encode()).hexdigest()[:16]


def job_name(run_id: str, rule: str, jobid: int, attempt: int = 1) -> str:
    """`kubecall-<run>-<jobid>-<attempt>-<rule>`, cut to 63 chars (pods carry it as a label
    value); a retry gets a new name, so it never meets its failed predecessor."""
    head = f"kubecall-{run_id}-{jobid}-{attempt}-"
    return (head + dns_label(rule, 63 - len(head))).rstrip("-")


def job_labels(request: JobRequest, settings: SpecSettings) -> dict[str, str]:
    """The Job's and its pod's labels: user extras first, so ours always win."""
    return {
        **settings.labels,
        "app.kubernetes.io/name": "kubecall",
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/component": COMPONENT,
        "app.kubernetes.io/managed-by": "snakemake-executor-plugin-kubecall",
        RUN_LABEL: request.run_id,
        RULE_LABEL: label_value(request.rule),
        JOBID_LABEL: str(request.jobid),
        ATTEMPT_LABEL: str(request.attempt),
        WORKDIR_LABEL: workdir_key(request.workdir),
    }


def resources(request: JobRequest, settings: SpecSettings) -> Obj:
    """Requests and limits: cpu from threads, memory from mem_mb (grown after OOMKilled
    attempts, plus headroom), ephemeral storage from disk_mb."""
    threads = max(1, request.threads)
    requests = {"cpu": cpu_quantity(threads * settings.cpu_scalar)}
    limits = {"cpu": cpu_quantity(threads)}
    if request.mem_mb is not None:
        memory = f"{container_memory_mb(request.mem_mb, request.oom_kills, settings)}M"
        requests["memory"] = limits["memory"] = memory
    if request.disk_mb:
        requests["ephemeral-storage"] = limits["ephemeral-storage"] = f"{request.disk_mb}M"
    return {"requests": requests, "limits": limits}


def volumes(request: JobRequest, settings: SpecSettings) -> tuple[list[Obj], list[Obj]]:
    """(volumes, mounts): scratch and /tmp emptyDirs, the workspace read-write at the driver's
    path, the data source always read-only."""
    in_memory = settings.scratch_memory if request.scratch_memory is None \
        else request.scratch_memory
    scratch: Obj = {}
    if in_memory:
        scratch["medium"] = "Memory"
    if request.disk_mb:
        scratch["sizeLimit"] = f"{request.disk_mb}M"
    vols: list[Obj] = [
        {"name": "scratch", "emptyDir": scratch},
        {"name": "tmp", "emptyDir": {}},
        {"name": "workspace",
         "persistentVolumeClaim": {"claimName": settings.workspace_claim}},
    ]
    mounts: list[Obj] = [
        {"name": "scratch", "mountPath": SCRATCH_PATH},
        {"name": "tmp", "mountPath": TMP_PATH},
        {"name": "workspace", "mountPath": settings.workspace_path},
    ]
    if settings.datasource_claim:
        vols.append({"name": "datasource", "persistentVolumeClaim": {
            "claimName": settings.datasource_claim, "readOnly": True}})
        mounts.append({"name": "datasource", "mountPath": settings.datasource_path,
                       "readOnly": True})
    return vols, mounts


class PlainEnvironment(ValueError):
    """A job's environment variable (snakemake --envvars) would go into the Job spec."""


def environment(request: JobRequest, settings: SpecSettings) -> list[Obj]:
    """Fixed variables, then secrets by secretKeyRef (never their values).

    Variables from snakemake's `--envvars`/`envvars:` reach pods only by secretKeyRef
    (`--kubecall-secret-name`/`--kubecall-secret-env`): their values in the spec would be
    readable by whoever can read Jobs. One not mapped raises PlainEnvironment.
    """
    unmapped = sorted(set(request.env) - set(settings.secret_env))
    if unmapped:
        first = unmapped[0]
        raise PlainEnvironment(
            f"environment variable(s) {', '.join(unmapped)} (--envvars) would be plain text "
            "in the Job spec, readable by anyone who can read Jobs: put them in a Secret and "
            f"map them, e.g. --kubecall-secret-name NAME --kubecall-secret-env {first}=KEY")
    plain = {
        # The root filesystem is read-only: tools write caches and temporaries here.
        "HOME": TMP_PATH, "XDG_CACHE_HOME": CACHE_PATH, "TMPDIR": SCRATCH_PATH,
    }
    env: list[Obj] = [{"name": k, "value": v} for k, v in plain.items()]
    if settings.secret_name:
        env += [{"name": var, "valueFrom": {"secretKeyRef": {
                    "name": settings.secret_name, "key": key}}}
                for var, key in settings.secret_env.items()]
    return env


def security_contexts(settings: SpecSettings) -> tuple[Obj, Obj]:
    """(pod, container) security contexts meeting the "restricted" Pod Security Standard."""
    return (contract.pod_security_context(settings.run_as_user, settings.run_as_group,
                                          settings.fs_group),
            contract.container_security_context(settings.read_only_root))


def build_job(request: JobRequest, settings: SpecSettings) -> Obj:
    """The batch/v1 Job running `request.command` in the workspace."""
    labels = job_labels(request, settings)
    vols, mounts = volumes(request, settings)
    pod_security, container_security = security_contexts(settings)
    container: Obj = {
        "name": CONTAINER,
        "image": request.image or settings.image,
        "imagePullPolicy": settings.image_pull_policy,
        "command": ["/bin/sh", "-c", request.command],
        "workingDir": request.workdir,
        "env": environment(request, settings),
        "resources": resources(request, settings),
        "securityContext": container_security,
        "volumeMounts": mounts,
    }
    pod_spec: Obj = {
        "restartPolicy": "Never",
        # Jobs never call the API; only the driver does.
        "automountServiceAccountToken": False,
        "securityContext": pod_security,
        "containers": [container],
        "volumes": vols,
    }
    if request.runtime_minutes:
        # On the pod, not the Job: the pod's deadline counts from its start on a node, so
        # time spent queued (quota, no node free) does not use up the job's runtime.
        pod_spec["activeDeadlineSeconds"] = int(request.runtime_minutes) * 60
    if settings.service_account:
        pod_spec["serviceAccountName"] = settings.service_account
    if settings.image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": n} for n in settings.image_pull_secrets]
    if settings.node_selector:
        pod_spec["nodeSelector"] = dict(settings.node_selector)
    if settings.tolerations:
        pod_spec["tolerations"] = [dict(t) for t in settings.tolerations]
    spec: Obj = {
        # snakemake owns retries (--retries): Kubernetes must not rerun a failed pod.
        "backoffLimit": 0,
        "ttlSecondsAfterFinished": settings.ttl_seconds,
        "template": {"metadata": {"labels": labels,
                                  "annotations": dict(settings.annotations)},
                     "spec": pod_spec},
    }
    metadata: Obj = {"name": job_name(request.run_id, request.rule, request.jobid,
                                      request.attempt),
                     "namespace": settings.namespace, "labels": labels,
                     "annotations": dict(settings.annotations)}
    if settings.owner:
        metadata["ownerReferences"] = [dict(settings.owner)]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}


# ---- parsing of the executor's string settings -----------------------------------------

def parse_pairs(text: str | None, what: str) -> dict[str, str]:
    """"a=1,b=2" -> {"a": "1", "b": "2"}; a malformed item raises ValueError naming `what`."""
    pairs: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{what}: '{item}' is not KEY=VALUE (use a,b: 'k1=v1,k2=v2')")
        pairs[key.strip()] = value.strip()
    return pairs


def parse_list(text: str | None) -> tuple[str, ...]:
    """"a, b" -> ("a", "b")."""
    return tuple(filter(None, (part.strip() for part in (text or "").split(","))))


def parse_tolerations(text: str | None) -> tuple[Obj, ...]:
    """kubectl taint syntax, comma-separated: "key=value:Effect", "key:Effect" (Exists),
    "key=value" (any effect)."""
    tolerations = []
    for item in parse_list(text):
        spec, _, effect = item.partition(":")
        key, sep, value = spec.partition("=")
        toleration: Obj = {"key": key, "operator": "Equal" if sep else "Exists"}
        if sep:
            toleration["value"] = value
        if effect:
            if effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
                raise ValueError(f"toleration '{item}': effect must be NoSchedule, "
                                 "PreferNoSchedule or NoExecute")
            toleration["effect"] = effect
        tolerations.append(toleration)
    return tuple(tolerations)
