"""Resolve a pod's volumes to host directories (PV backing dirs, emptyDirs, secrets, configmaps)."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .resources import lookup
from .store import Store

Obj = dict[str, Any]
PVCS = lookup("", "persistentvolumeclaims")
PVS = lookup("", "persistentvolumes")
SECRETS = lookup("", "secrets")
CONFIGMAPS = lookup("", "configmaps")
assert PVCS and PVS and SECRETS and CONFIGMAPS


class NotReady(Exception):
    """A volume cannot be set up yet (claim unbound, secret missing); retry later."""


@dataclass
class Volume:
    """A pod volume resolved to a directory on the host."""

    source: Path
    read_only: bool = False
    tmpfs_size: str | None = None  # for emptyDir medium: Memory


def quantity_bytes(text: str | int | None) -> int | None:
    """Parse a Kubernetes quantity ("64Mi", "1G", "500000") into bytes."""
    if text is None or text == "":
        return None
    text = str(text)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
             "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
             "E": 10**18, "m": 1}
    for suffix in sorted(units, key=len, reverse=True):
        if text.endswith(suffix):
            number = float(text[: -len(suffix)])
            if suffix == "m":
                return int(number / 1000)
            return int(number * units[suffix])
    return int(float(text))


def backing_dir(pv: Obj, state_dir: Path, nfs_exports: dict[str, Path]) -> Path:
    """Where a PersistentVolume's data lives on this host."""
    spec = pv.get("spec") or {}
    if spec.get("hostPath"):
        path = Path(spec["hostPath"]["path"])
    elif spec.get("local"):
        path = Path(spec["local"]["path"])
    elif spec.get("nfs"):
        server, export = spec["nfs"].get("server", ""), spec["nfs"].get("path", "/")
        mapped = nfs_exports.get(f"{server}:{export}")
        path = Path(mapped) if mapped else state_dir / "nfs" / server / export.strip("/")
    elif spec.get("csi"):
        path = state_dir / "csi" / spec["csi"].get("volumeHandle", pv["metadata"]["name"])
    else:
        path = state_dir / "volumes" / pv["metadata"]["name"]
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_items(target: Path, data: dict[str, bytes], items: list[Obj] | None,
                 mode: int, fs_group: int | None = None) -> None:
    """Write a secret's or configmap's keys as files.

    With a pod fsGroup, the kubelet makes such read-only volumes group-owned by it and adds
    group read (its ro mask 0440), so ``defaultMode: 0400/0440`` still lets the pod's uid read
    them through the group.
    """
    target.mkdir(parents=True, exist_ok=True)
    if fs_group is not None:
        mode |= 0o440
    mapping = {i["key"]: i["path"] for i in items} if items else {k: k for k in data}
    for key, rel in mapping.items():
        if key not in data:
            continue
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data[key])
        if fs_group is not None:
            os.chown(path, -1, fs_group)
        os.chmod(path, mode)


def resolve(pod: Obj, store: Store, state_dir: Path, pod_dir: Path,
            nfs_exports: dict[str, Path]) -> dict[str, Volume]:
    """Resolve every volume of `pod`; raises NotReady with a reason when one is not ready."""
    namespace = pod["metadata"]["namespace"]
    resolved: dict[str, Volume] = {}
    for vol in pod["spec"].get("volumes") or []:
        name = vol["name"]
        own_dir = pod_dir / "volumes" / name
        if "persistentVolumeClaim" in vol:
            claim_name = vol["persistentVolumeClaim"]["claimName"]
            claim = store.find(PVCS, namespace, claim_name)
            if claim is None:
                raise NotReady(f'persistentvolumeclaim "{claim_name}" not found')
            if (claim.get("status") or {}).get("phase") != "Bound":
                raise NotReady(f'pod has unbound immediate PersistentVolumeClaims ("{claim_name}")')
            pv = store.find(PVS, "", claim["spec"]["volumeName"])
            if pv is None:
                raise NotReady(f'persistentvolume "{claim["spec"]["volumeName"]}" not found')
            modes = set(pv["spec"].get("accessModes") or [])
            read_only = bool(vol["persistentVolumeClaim"].get("readOnly")) or \
                modes == {"ReadOnlyMany"}
            resolved[name] = Volume(backing_dir(pv, state_dir, nfs_exports), read_only)
        elif "emptyDir" in vol:
            empty = vol["emptyDir"] or {}
            own_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(own_dir, 0o777)
            size = None
            if empty.get("medium") == "Memory":
                size = str(quantity_bytes(empty.get("sizeLimit")) or "") or "50%"
            resolved[name] = Volume(own_dir, False, size)
        elif "secret" in vol or "configMap" in vol:
            is_secret = "secret" in vol
            src = vol["secret" if is_secret else "configMap"]
            obj_name = src.get("secretName" if is_secret else "name")
            obj = store.find(SECRETS if is_secret else CONFIGMAPS, namespace, obj_name)
            if obj is None:
                if src.get("optional"):
                    own_dir.mkdir(parents=True, exist_ok=True)
                    resolved[name] = Volume(own_dir, True)
                    continue
                kind = "secret" if is_secret else "configmap"
                raise NotReady(f'{kind} "{obj_name}" not found')
            if is_secret:
                data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
            else:
                data = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
                data.update({k: base64.b64decode(v)
                             for k, v in (obj.get("binaryData") or {}).items()})
            fs_group = (pod["spec"].get("securityContext") or {}).get("fsGroup")
            _write_items(own_dir, data, src.get("items"), int(src.get("defaultMode", 0o644)),
                         fs_group)
            resolved[name] = Volume(own_dir, True)
        elif "hostPath" in vol:
            path = Path(vol["hostPath"]["path"])
            if vol["hostPath"].get("type") in ("DirectoryOrCreate", None, ""):
                path.mkdir(parents=True, exist_ok=True)
            resolved[name] = Volume(path)
        else:
            own_dir.mkdir(parents=True, exist_ok=True)
            resolved[name] = Volume(own_dir, True)
    return resolved
