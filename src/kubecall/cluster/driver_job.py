"""The driver Job: snakemake itself, run in the cluster by ``kubecall launch``.

It runs under the ``kubecall-driver`` ServiceAccount (whose Role grants exactly the executor's
calls), with the workspace claim at /workspace, the data source read-only at /datasource and the
MinIO Secret's files read-only at MINIO_CREDENTIALS_DIR (publish_results runs in the driver),
hardened like every other kubecall pod (restricted Pod Security profile).
"""

from __future__ import annotations

import secrets
import shlex
import time
from dataclasses import dataclass
from pathlib import PurePosixPath

from kubecall.cluster.contract import (
    CACHE_PATH,
    CONTAINER,
    DATASOURCE_CLAIM,
    DATASOURCE_PATH,
    DEFAULT_CONTAINER_ANNOTATION,
    DRIVER_POD_ENV,
    DRIVER_POD_UID_ENV,
    DRIVER_SERVICE_ACCOUNT,
    IMAGE,
    NAMESPACE_ENV,
    PART_OF,
    REAPER_CONTAINER,
    RUN_ID_ENV,
    RUN_LABEL,
    SCRATCH_PATH,
    TMP_PATH,
    WORKSPACE_CLAIM,
    WORKSPACE_PATH,
    Obj,
    container_security_context,
    pod_security_context,
)
from kubecall.cluster.credentials import SECRET_NAME as MINIO_SECRET
from kubecall.errors import KubecallError

DEFAULT_DRIVER_COMMAND = "snakemake"
# The MinIO Secret (kubecall.cluster.credentials.SECRET_NAME), mounted as files where a
# cluster config's publish.credentials_dir points (config/kubernetes.yaml): publish_results
# runs in the driver.
MINIO_CREDENTIALS_DIR = "/var/run/secrets/kubecall/minio"
# The pod's termination grace period: the driver's own cleanup on SIGTERM (eviction, deletion),
# then the reaper's (kubecall.cluster.reaper.PATIENCE_SECONDS of API retries at most).
GRACE_SECONDS = 60
# The reaper is Python with the kubernetes client (about 50 MB) waiting for a signal; memory
# request = limit, so it is never what the kubelet evicts or the kernel kills first.
REAPER_RESOURCES = {"requests": {"cpu": "50m", "memory": "128Mi"},
                    "limits": {"cpu": "500m", "memory": "128Mi"}}


def new_run_id(now: float | None = None) -> str:
    """A sortable, unique run id: UTC time plus four random hex digits."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now))
    return f"{stamp}-{secrets.token_hex(2)}"


def job_name(run_id: str) -> str:
    return f"kubecall-run-{run_id}"


def run_labels(run_id: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": "kubecall-run", "app.kubernetes.io/part-of": PART_OF,
            "app.kubernetes.io/component": "driver", RUN_LABEL: run_id}


def validate_workdir(workdir: str) -> None:
    path = PurePosixPath(workdir)
    if not path.is_relative_to(WORKSPACE_PATH) or ".." in path.parts:
        raise KubecallError(f"--workdir {workdir}: must be {WORKSPACE_PATH} or a directory "
                            "under it (the shared workspace claim)")


@dataclass(frozen=True)
class DriverSpec:
    """What the user chose for one launch."""

    run_id: str
    namespace: str
    configfile: str
    profile: str
    workdir: str = WORKSPACE_PATH
    image: str = IMAGE
    driver_command: str = DEFAULT_DRIVER_COMMAND
    extra_args: tuple[str, ...] = ()
    cpu: str = "1"
    memory: str = "2Gi"

    def validate(self) -> None:
        validate_workdir(self.workdir)
        for flag, value in (("--configfile", self.configfile), ("--profile", self.profile)):
            path = PurePosixPath(value)
            if not value or (path.is_absolute() and not any(
                    path.is_relative_to(root) for root in (WORKSPACE_PATH, DATASOURCE_PATH))):
                raise KubecallError(f"{flag} {value!r}: give a path relative to --workdir "
                                    f"({self.workdir}) or under {WORKSPACE_PATH}; the driver pod "
                                    "sees only the workspace and the data source")
        if not shlex.split(self.driver_command):
            raise KubecallError("--driver-command is empty")

    def command(self) -> list[str]:
        # "--configfile=X": snakemake's --configfile takes one or more values, so a separate
        # X would also take the targets that may follow in extra_args.
        return [*shlex.split(self.driver_command), "--profile", self.profile,
                f"--configfile={self.configfile}", *self.extra_args]


def downward(path: str) -> Obj:
    """An env var's valueFrom: a field of the pod itself (the downward API)."""
    return {"fieldRef": {"fieldPath": path}}


def reaper_container(spec: DriverSpec) -> Obj:
    """The native sidecar that deletes the run's unfinished Jobs once the driver container
    ended (kubecall.cluster.reaper), from the driver's image, hardened like it."""
    return {
        "name": REAPER_CONTAINER,
        "image": spec.image,
        "restartPolicy": "Always",
        "command": ["python", "-m", "kubecall.cluster.reaper"],
        "env": [{"name": RUN_ID_ENV, "value": spec.run_id},
                {"name": DRIVER_POD_ENV, "valueFrom": downward("metadata.name")},
                {"name": NAMESPACE_ENV, "valueFrom": downward("metadata.namespace")}],
        "securityContext": container_security_context(),
        "resources": REAPER_RESOURCES,
    }


def driver_job(spec: DriverSpec) -> Obj:
    """The Job manifest for one run."""
    spec.validate()
    labels = run_labels(spec.run_id)
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": job_name(spec.run_id), "namespace": spec.namespace,
                     "labels": labels},
        "spec": {
            # A failed driver is reported, not silently restarted: snakemake resumes on the
            # next launch (--rerun-incomplete in the profiles) once the cause is fixed.
            "backoffLimit": 0,
            "template": {
                # kubectl logs shows the driver's log when a mesh adds a container.
                "metadata": {"labels": dict(labels),
                             "annotations": {DEFAULT_CONTAINER_ANNOTATION: CONTAINER}},
                "spec": {
                    "serviceAccountName": DRIVER_SERVICE_ACCOUNT,
                    "restartPolicy": "Never",
                    "terminationGracePeriodSeconds": GRACE_SECONDS,
                    "securityContext": pod_security_context(),
                    "initContainers": [reaper_container(spec)],
                    "containers": [{
                        "name": CONTAINER,
                        "image": spec.image,
                        "command": spec.command(),
                        "workingDir": spec.workdir,
                        "env": [
                            {"name": RUN_ID_ENV, "value": spec.run_id},
                            # The executor's Jobs are owned by this pod (garbage-collected
                            # with it), by the downward API.
                            {"name": DRIVER_POD_ENV, "valueFrom": downward("metadata.name")},
                            {"name": DRIVER_POD_UID_ENV,
                             "valueFrom": downward("metadata.uid")},
                            {"name": NAMESPACE_ENV, "value": spec.namespace},
                            # snakemake writes caches under $HOME; the root filesystem is
                            # read-only, /tmp is an emptyDir.
                            {"name": "HOME", "value": TMP_PATH},
                            {"name": "XDG_CACHE_HOME", "value": CACHE_PATH},
                            # uid 10001 has no passwd entry in the image; snakemake asks
                            # getpass.getuser(), which reads these first.
                            {"name": "USER", "value": "kubecall"},
                            {"name": "LOGNAME", "value": "kubecall"},
                        ],
                        "securityContext": container_security_context(),
                        "resources": {
                            "requests": {"cpu": spec.cpu, "memory": spec.memory},
                            "limits": {"cpu": spec.cpu, "memory": spec.memory}},
                        "volumeMounts": [
                            {"name": "workspace", "mountPath": WORKSPACE_PATH},
                            {"name": "datasource", "mountPath": DATASOURCE_PATH,
                             "readOnly": True},
                            {"name": "tmp", "mountPath": TMP_PATH},
                            {"name": "scratch", "mountPath": SCRATCH_PATH},
                            {"name": "minio-credentials", "mountPath": MINIO_CREDENTIALS_DIR,
                             "readOnly": True},
                        ],
                    }],
                    "volumes": [
                        {"name": "workspace",
                         "persistentVolumeClaim": {"claimName": WORKSPACE_CLAIM}},
                        {"name": "datasource",
                         "persistentVolumeClaim": {"claimName": DATASOURCE_CLAIM,
                                                   "readOnly": True}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
                        {"name": "scratch", "emptyDir": {"sizeLimit": "10Gi"}},
                        # By reference: the values never enter the spec, the environment or
                        # the log. Optional, so a run that does not publish needs no Secret.
                        {"name": "minio-credentials",
                         "secret": {"secretName": MINIO_SECRET, "defaultMode": 0o440,
                                    "optional": True}},
                    ],
                },
            },
        },
    }
