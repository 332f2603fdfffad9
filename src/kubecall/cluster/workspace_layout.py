"""What workspace-init's first container runs (k8s/base/storage/workspace-init-job.yaml): lay out
the shared workspace, or stop with what to do when its volume is not writable by the pods'
uid. NFS ignores a pod's fsGroup, and the restricted Pod Security Standard allows no root
container to chown it, so the export itself must let the pods' uid write."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from kubecall.cluster.contract import GID, UID, WORKSPACE_CLAIM, WORKSPACE_PATH

# result/ as the seed's init container made it, plus what kubecall uses.
LAYOUT = ("result", "runs", "results", "logs")
UNWRITABLE = 3  # exit code: the volume's owner or mode must change; retrying cannot help


def unwritable_message(root: Path) -> str:
    info = root.stat()
    return (
        f"error: the shared workspace (claim {WORKSPACE_CLAIM}, mounted at {root}) is owned by "
        f"{info.st_uid}:{info.st_gid} with mode {info.st_mode & 0o7777:04o}: uid {os.getuid()} "
        "cannot write it. NFS volumes ignore the pod's fsGroup, so the export must allow it: "
        f"on the NFS server, chown {UID}:{GID} the directory behind this claim (or give group "
        f"{GID} write); with csi-driver-nfs, set the StorageClass parameter mountPermissions: "
        '"0777"; with nfs-subdir-external-provisioner, make the export root writable by '
        f"{UID} (its volumes are created 0777 under it). Then delete this Job "
        "(kubectl -n <namespace> delete job workspace-init) and run kubecall bootstrap again.")


def lay_out(root: Path) -> int:
    if not os.access(root, os.W_OK | os.X_OK):
        print(unwritable_message(root), file=sys.stderr)
        return UNWRITABLE
    for name in LAYOUT:
        (root / name).mkdir(exist_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(lay_out(Path(WORKSPACE_PATH)))
