"""``kubecall stage``: put the workflow from a local checkout onto the shared workspace claim.

No ``kubectl cp`` or exec: the files go into a ConfigMap (a tar.gz in binaryData, with the
stdlib-only unpacker :mod:`kubecall.cluster.stage_unpack` beside it) and a short hardened Job
mounts it with the workspace claim and unpacks into --workdir. The Job and the ConfigMap are deleted
afterwards, whatever happened; the ConfigMap is owned by the Job, so the Job's TTL cleans up
both even when this command is killed mid-way.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import io
import secrets
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

import kubecall.cluster.stage_unpack as unpacker
from kubecall.cluster.contract import (
    IMAGE,
    NAMESPACE,
    TMP_PATH,
    WORKSPACE_CLAIM,
    WORKSPACE_PATH,
    Obj,
    container_security_context,
    pod_security_context,
)
from kubecall.cluster.driver_job import (
    validate_workdir,
)
from kubecall.cluster.kube import Kube, add_connection_arguments
from kubecall.cluster.launch import check_bootstrapped
from kubecall.cluster.waiting import wait_ready
from kubecall.errors import KubecallError

# What a workflow checkout is, relative to its root.
WORKFLOW_PATHS = ("Snakefile", "workflow", "config", "profiles")
PROTECTED_DIRS = unpacker.PROTECTED_DIRS
SKIPPED_NAMES = frozenset({"__pycache__", ".snakemake", ".pytest_cache", ".ruff_cache"})
# A ConfigMap holds at most 1 MiB; binaryData is base64 (4/3 larger) and the unpacker rides
# along, so the compressed archive must stay under 3/4 of that with some room to spare.
MAX_ARCHIVE_BYTES = 740 * 1024
STAGE_DIR = "/var/run/kubecall/stage"
ARCHIVE_KEY, UNPACKER_KEY = "workflow.tar.gz", "unpack.py"

EPILOG = """examples:
  kubecall stage                                   # this checkout into /workspace
  kubecall stage --include config/my-cohort.yaml --include config/my-samples.tsv
  kubecall stage --source ~/kubecall --workdir /workspace/cohort1 --dry-run

Staged: Snakefile, workflow/, config/, profiles/ and every --include (files or directories,
relative to --source; they land at the same relative path under --workdir). results/, logs/
and .snakemake/ under --workdir are never touched; files whose content did not change keep
their modification time (snakemake sees no change). The archive must fit a ConfigMap (about
740 KiB compressed): alignments and references belong on the data source (/datasource).
"""


@dataclass(frozen=True)
class StagedFile:
    name: str  # relative POSIX path, inside the archive and under --workdir
    path: Path
    size: int


def _walk(root: Path, relative: PurePosixPath) -> list[StagedFile]:
    """Files under ``root`` (a file or directory), named relative to the checkout."""
    if root.is_file():
        return [StagedFile(relative.as_posix(), root, root.stat().st_size)]
    found = []
    for child in sorted(root.iterdir()):
        if child.name in SKIPPED_NAMES or child.suffix == ".pyc":
            continue
        found += _walk(child, relative / child.name)
    return found


def collect(source: Path, includes: list[str]) -> list[StagedFile]:
    """The workflow's files plus the includes; a user error for anything missing or misplaced."""
    source = source.resolve()
    missing = [name for name in WORKFLOW_PATHS if not (source / name).exists()]
    if missing:
        raise KubecallError(f"--source {source}: no {', '.join(missing)}; run from a kubecall "
                            "checkout or pass --source DIR")
    wanted: list[str] = list(WORKFLOW_PATHS)
    for include in includes:
        path = (source / include).resolve()
        if not path.exists():
            raise KubecallError(f"--include {include}: no such file or directory "
                                f"(relative to --source {source})")
        if source not in path.parents:
            raise KubecallError(f"--include {include}: not inside --source {source}; staged "
                                "files keep their path relative to it under --workdir")
        relative = path.relative_to(source)
        if relative.parts[0] in PROTECTED_DIRS:
            raise KubecallError(f"--include {include}: {relative.parts[0]}/ belongs to the "
                                "runs in --workdir and is never staged")
        wanted.append(relative.as_posix())
    files: dict[str, StagedFile] = {}
    for name in wanted:
        for staged in _walk(source / name, PurePosixPath(name)):
            files[staged.name] = staged
    return [files[name] for name in sorted(files)]


def build_archive(files: list[StagedFile]) -> bytes:
    """A gzipped tar of the files: regular members only, owner-neutral, byte-stable."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped, \
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for staged in files:
            stat = staged.path.stat()
            info = tarfile.TarInfo(staged.name)
            info.size, info.mtime = stat.st_size, int(stat.st_mtime)
            info.mode = 0o755 if stat.st_mode & 0o111 else 0o644
            with open(staged.path, "rb") as handle:
                archive.addfile(info, handle)
    return buffer.getvalue()


def _human(size: float) -> str:
    for unit in ("bytes", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def check_size(archive: bytes, files: list[StagedFile], limit: int = MAX_ARCHIVE_BYTES) -> None:
    if len(archive) <= limit:
        return
    biggest = sorted(files, key=lambda f: f.size, reverse=True)[:5]
    listed = ", ".join(f"{f.name} ({_human(f.size)})" for f in biggest)
    raise KubecallError(
        f"the staged files compress to {_human(len(archive))}, over the {_human(limit)} a "
        f"ConfigMap can carry; biggest: {listed}. Put alignments, references and other large "
        "inputs on the data source and name them by /datasource paths in the config and sheet")


def labels() -> dict[str, str]:
    return {"app.kubernetes.io/name": "kubecall-stage", "app.kubernetes.io/part-of": "kubecall",
            "app.kubernetes.io/component": "stage"}


def stage_job(name: str, namespace: str, workdir: str, image: str) -> Obj:
    """The Job that unpacks the ConfigMap ``name`` into ``workdir``."""
    validate_workdir(workdir)
    small = {"cpu": "250m", "memory": "256Mi"}
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": labels()},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": 300,
            # Only for when `kubecall stage` dies before deleting it (the ConfigMap goes too).
            "ttlSecondsAfterFinished": 600,
            "template": {
                "metadata": {"labels": labels()},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(),
                    "containers": [{
                        "name": "unpack",
                        "image": image,
                        # Only the standard library: works with any image's python.
                        "command": ["python", f"{STAGE_DIR}/{UNPACKER_KEY}",
                                    f"{STAGE_DIR}/{ARCHIVE_KEY}", workdir],
                        "env": [{"name": "HOME", "value": TMP_PATH},
                                {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"}],
                        "securityContext": container_security_context(),
                        "resources": {"requests": dict(small), "limits": dict(small)},
                        "volumeMounts": [
                            {"name": "workspace", "mountPath": WORKSPACE_PATH},
                            {"name": "stage", "mountPath": STAGE_DIR, "readOnly": True},
                            {"name": "tmp", "mountPath": TMP_PATH},
                        ],
                    }],
                    "volumes": [
                        {"name": "workspace",
                         "persistentVolumeClaim": {"claimName": WORKSPACE_CLAIM}},
                        {"name": "stage", "configMap": {"name": name, "defaultMode": 0o444}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                    ],
                },
            },
        },
    }


def stage_configmap(name: str, namespace: str, archive: bytes) -> Obj:
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": labels()},
        "data": {UNPACKER_KEY: Path(unpacker.__file__).read_text()},
        "binaryData": {ARCHIVE_KEY: base64.b64encode(archive).decode()},
    }


def owned_by(configmap: Obj, job: Obj) -> Obj:
    """``configmap`` with ``job`` as its owner, so deleting the Job deletes it."""
    meta = configmap["metadata"]
    meta["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "Job",
                                "name": job["metadata"]["name"],
                                "uid": job["metadata"]["uid"]}]
    return configmap


def printable(configmap: Obj, files: list[StagedFile], archive: bytes) -> Obj:
    """The ConfigMap as --dry-run shows it: sizes instead of the archive and unpacker."""
    unpacker_size = len(configmap["data"][UNPACKER_KEY])
    return {**configmap,
            "data": {UNPACKER_KEY: f"<kubecall/cluster/stage_unpack.py, {unpacker_size} bytes>"},
            "binaryData": {ARCHIVE_KEY: f"<tar.gz, {len(archive)} bytes: {len(files)} files, "
                                        f"{sum(f.size for f in files)} bytes>"}}


def say_why_waiting(problem: str) -> None:
    """While the staging Job runs: why it is not done yet (its pod's state), on stderr."""
    if "has no pods yet" not in problem:
        print(f"[kubecall] {problem}", file=sys.stderr)


def pod_summary(kube: Kube, namespace: str, job: str) -> str:
    """The unpacking pod's own summary line; empty when its log cannot be read (the files
    are staged all the same: the Job completed)."""
    try:
        pods = kube.list("v1", "Pod", namespace, f"job-name={job}")
        return kube.pod_log(namespace, pods[-1]["metadata"]["name"]).strip() if pods else ""
    except KubecallError:
        return ""


def clean_up(kube: Kube, namespace: str, name: str) -> None:
    """Delete the ConfigMap and the Job; a failure here is reported, never hides the outcome."""
    for api_version, kind in (("v1", "ConfigMap"), ("batch/v1", "Job")):
        try:
            kube.delete(api_version, kind, name, namespace)
        except KubecallError as exc:
            print(f"[kubecall] warning: {exc}; delete {kind} {name} by hand (its TTL removes "
                  "it within 10 minutes otherwise)", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    validate_workdir(args.workdir)
    files = collect(args.source, args.include)
    archive = build_archive(files)
    check_size(archive, files)
    name = f"kubecall-stage-{secrets.token_hex(3)}"
    job = stage_job(name, args.namespace, args.workdir, args.image)
    configmap = stage_configmap(name, args.namespace, archive)
    total = sum(f.size for f in files)
    what = f"{len(files)} files ({total} bytes) from {args.source.resolve()} into {args.workdir}"
    if args.dry_run:
        print(yaml.safe_dump_all([printable(configmap, files, archive), job], sort_keys=False),
              end="")
        print(f"[kubecall] dry run: would stage {what}; nothing created", file=sys.stderr)
        return 0
    kube = Kube.from_args(args)
    try:
        check_bootstrapped(kube, args.namespace)
        created = kube.create(job)
        try:
            kube.create(owned_by(configmap, created))
            # Raises JobFailed with the pod's reason, or naming what hangs after the timeout.
            wait_ready(kube, [job], args.timeout, lambda _ready: None, say_why_waiting)
            summary = pod_summary(kube, args.namespace, name)
        finally:
            clean_up(kube, args.namespace, name)
    finally:
        kube.close()
    if summary:
        print(f"[kubecall] {summary}", file=sys.stderr)
    print(f"staged {what}")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "stage", help="copy the workflow (and your config and sheet) onto the workspace claim",
        description="Pack the workflow of a local checkout (Snakefile, workflow/, config/, "
                    "profiles/) and the files named by --include into a ConfigMap, unpack it "
                    "into --workdir on the shared workspace with a short Job, then delete both.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=Path("."),
                        help="the local checkout to stage (default: the current directory)")
    parser.add_argument("--include", action="append", default=[], metavar="PATH",
                        help="an extra file or directory under --source (repeatable), e.g. "
                             "config/my-cohort.yaml")
    parser.add_argument("--workdir", default=WORKSPACE_PATH,
                        help="where to put it in the workspace (default /workspace; the same "
                             "as launch's --workdir)")
    parser.add_argument("--namespace", default=NAMESPACE)
    parser.add_argument("--image", default=IMAGE,
                        help="image of the unpacking pod (any image with python 3.8+)")
    parser.add_argument("--timeout", type=float, default=180,
                        help="seconds to wait for the unpacking Job (default 180)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the ConfigMap (sizes, not bytes) and the Job; create nothing")
    add_connection_arguments(parser)
    parser.set_defaults(func=run)

