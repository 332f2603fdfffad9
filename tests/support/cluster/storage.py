"""The persistent-volume controller: binding, provisioning, reclaiming, in-use protection."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

from .api import Api
from .errors import ApiError
from .objects import PODS, PVCS, PVS, SCS, drop_finalizer
from .store import Obj, Store
from .volumes import quantity_bytes

PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"


# Set on a WaitForFirstConsumer claim by the scheduler when a pod using it has a node.
SELECTED_NODE = "volume.kubernetes.io/selected-node"


class VolumeController:
    """Binds claims to volumes, provisions for storage classes, reclaims."""

    def __init__(self, store: Store, api: Api, state_dir: Path,
                 class_modes: dict[str, list[str]],
                 root_owned: frozenset[str] = frozenset()) -> None:
        self.store = store
        self.api = api
        self.state_dir = state_dir
        self.class_modes = class_modes
        # NFS-style classes: their volumes are root:root 0755 (the export's root as the NFS
        # server has it) and fsGroup never applies to them, as for real NFS.
        self.root_owned = root_owned
        self._reported: set[tuple[str, str]] = set()

    def reconcile(self) -> None:
        claims, _ = self.store.list(PVCS)
        volumes, _ = self.store.list(PVS)
        self._release_protection(claims, volumes)
        claims, _ = self.store.list(PVCS)
        volumes, _ = self.store.list(PVS)
        claim_uids = {c["metadata"]["uid"] for c in claims}
        for pv in volumes:
            self._reclaim(pv, claim_uids)
        for claim in claims:
            if (claim.get("status") or {}).get("phase") == "Bound" or \
                    claim["metadata"].get("deletionTimestamp"):
                continue
            try:
                self._bind_claim(claim)
            except _Unbindable as exc:
                key = (claim["metadata"]["uid"], str(exc))
                if key not in self._reported:
                    self._reported.add(key)
                    self.api.record_event(claim, exc.reason, str(exc), "Warning")

    def _release_protection(self, claims: list[Obj], volumes: list[Obj]) -> None:
        """Storage-object-in-use protection: a deleted claim stays Terminating while a pod
        uses it; a deleted volume while a claim is bound to it."""
        pods, _ = self.store.list(PODS)
        in_use = {(p["metadata"]["namespace"], v["persistentVolumeClaim"]["claimName"])
                  for p in pods if (p.get("status") or {}).get("phase")
                  not in ("Succeeded", "Failed")
                  for v in p["spec"].get("volumes") or [] if v.get("persistentVolumeClaim")}
        for claim in claims:
            meta = claim["metadata"]
            if meta.get("deletionTimestamp") and PVC_PROTECTION in (meta.get("finalizers") or []) \
                    and (meta["namespace"], meta["name"]) not in in_use:
                drop_finalizer(self.store, PVCS, meta["namespace"], meta["name"], PVC_PROTECTION)
        live_claims = {c["metadata"]["uid"] for c in claims
                       if not c["metadata"].get("deletionTimestamp")}
        for pv in volumes:
            meta = pv["metadata"]
            bound_to = ((pv["spec"].get("claimRef") or {}).get("uid"))
            if meta.get("deletionTimestamp") and PV_PROTECTION in (meta.get("finalizers") or []) \
                    and bound_to not in live_claims:
                drop_finalizer(self.store, PVS, "", meta["name"], PV_PROTECTION)

    def _reclaim(self, pv: Obj, claim_uids: set[str]) -> None:
        ref = pv["spec"].get("claimRef")
        phase = (pv.get("status") or {}).get("phase")
        if not ref or not ref.get("uid") or ref["uid"] in claim_uids or phase == "Released":
            return
        if pv["spec"].get("persistentVolumeReclaimPolicy") == "Delete":
            if (pv["metadata"].get("annotations") or {}).get(PROVISIONED_BY):
                path = (pv["spec"].get("hostPath") or {}).get("path")
                if path and Path(path).is_relative_to(self.state_dir):
                    shutil.rmtree(path, ignore_errors=True)
            with contextlib.suppress(ApiError):
                drop_finalizer(self.store, PVS, "", pv["metadata"]["name"], PV_PROTECTION)
                self.store.remove(PVS, "", pv["metadata"]["name"])
            return

        def release(o: Obj) -> None:
            o.setdefault("status", {})["phase"] = "Released"
        self.store.mutate(PVS, "", pv["metadata"]["name"], release, subresource="status")

    def _bind_claim(self, claim: Obj) -> None:
        spec = claim["spec"]
        wanted_modes = set(spec.get("accessModes") or [])
        wanted_size = _size(((spec.get("resources") or {}).get("requests") or {}).get("storage"))
        class_name = spec.get("storageClassName") or ""
        volumes, _ = self.store.list(PVS)
        if spec.get("volumeName"):
            pv = next((v for v in volumes if v["metadata"]["name"] == spec["volumeName"]), None)
            if pv is None:
                raise _Unbindable("VolumeMismatch",
                                  f'volume "{spec["volumeName"]}" not found')
            problem = _mismatch(pv, claim, wanted_modes, wanted_size, class_name)
            if problem:
                raise _Unbindable("VolumeMismatch", problem)
            self._bind(pv, claim)
            return
        candidates = [v for v in volumes
                      if not _mismatch(v, claim, wanted_modes, wanted_size, class_name)]
        if candidates:
            candidates.sort(key=lambda v: _size(v["spec"]["capacity"]["storage"]))
            self._bind(candidates[0], claim)
            return
        storage_class = self.store.find(SCS, "", class_name) if class_name else None
        if storage_class is None:
            if class_name:
                raise _Unbindable("ProvisioningFailed",
                                  f'storageclass.storage.k8s.io "{class_name}" not found')
            raise _Unbindable("FailedBinding", "no persistent volumes available for this claim "
                                               "and no storage class is set")
        if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer" and \
                not self._claim_in_use(claim):
            raise _Unbindable("WaitForFirstConsumer",
                              "waiting for first consumer to be created before binding")
        supported = set(self.class_modes.get(class_name,
                                             ["ReadWriteOnce", "ReadWriteOncePod"]))
        unsupported = sorted(wanted_modes - supported)
        if unsupported:
            raise _Unbindable("ProvisioningFailed",
                              f"failed to provision volume with StorageClass \"{class_name}\": "
                              f"access mode(s) {unsupported} not supported (supported: "
                              f"{sorted(supported)})")
        self._bind(self._provision(claim, storage_class), claim)

    def _claim_in_use(self, claim: Obj) -> bool:
        """A pod using the claim has been scheduled: the scheduler names its node on the
        claim (as kube-scheduler's VolumeBinding plugin does); a pod merely created is not."""
        return bool((claim["metadata"].get("annotations") or {}).get(SELECTED_NODE))

    def _provision(self, claim: Obj, storage_class: Obj) -> Obj:
        name = f"pvc-{claim['metadata']['uid']}"
        path = self.state_dir / "volumes" / name
        path.mkdir(parents=True, exist_ok=True)
        if storage_class["metadata"]["name"] in self.root_owned:
            os.chown(path, 0, 0)
            path.chmod(0o755)
        else:
            path.chmod(0o777)
        pv = {"apiVersion": "v1", "kind": "PersistentVolume",
              "metadata": {"name": name,
                           "annotations": {PROVISIONED_BY: storage_class.get("provisioner", "")}},
              "spec": {"capacity": {"storage": claim["spec"]["resources"]["requests"]["storage"]},
                       "accessModes": claim["spec"]["accessModes"],
                       "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy",
                                                                          "Delete"),
                       "storageClassName": storage_class["metadata"]["name"],
                       "volumeMode": "Filesystem",
                       "hostPath": {"path": str(path)},
                       "claimRef": _claim_ref(claim)}}
        created = self.api.create(PVS, "", pv)
        self.api.record_event(claim, "ProvisioningSucceeded",
                              f"Successfully provisioned volume {name}")
        return created

    def _bind(self, pv: Obj, claim: Obj) -> None:
        cmeta = claim["metadata"]

        def bind_pv(o: Obj) -> None:
            o["spec"]["claimRef"] = _claim_ref(claim)

        def pv_bound(o: Obj) -> None:
            o.setdefault("status", {})["phase"] = "Bound"

        def bind_claim(o: Obj) -> None:
            o["spec"]["volumeName"] = pv["metadata"]["name"]
            annotations = o["metadata"].setdefault("annotations", {})
            annotations["pv.kubernetes.io/bind-completed"] = "yes"
            if not claim["spec"].get("volumeName"):
                annotations["pv.kubernetes.io/bound-by-controller"] = "yes"

        def claim_bound(o: Obj) -> None:
            o["status"] = {"phase": "Bound", "accessModes": pv["spec"]["accessModes"],
                           "capacity": dict(pv["spec"]["capacity"])}

        self.store.mutate(PVS, "", pv["metadata"]["name"], bind_pv)
        self.store.mutate(PVS, "", pv["metadata"]["name"], pv_bound, subresource="status")
        self.store.mutate(PVCS, cmeta["namespace"], cmeta["name"], bind_claim)
        self.store.mutate(PVCS, cmeta["namespace"], cmeta["name"], claim_bound,
                          subresource="status")



class _Unbindable(Exception):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _claim_ref(claim: Obj) -> Obj:
    meta = claim["metadata"]
    return {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": meta["namespace"],
            "name": meta["name"], "uid": meta["uid"],
            "resourceVersion": meta.get("resourceVersion", "")}


def _mismatch(pv: Obj, claim: Obj, modes: set[str], size: int, class_name: str) -> str | None:
    """Why `pv` cannot serve `claim`, or None when it can."""
    spec = pv["spec"]
    ref = spec.get("claimRef")
    cmeta = claim["metadata"]
    if ref and (ref.get("namespace") != cmeta["namespace"] or ref.get("name") != cmeta["name"]
                or (ref.get("uid") and ref["uid"] != cmeta["uid"])):
        return f'volume "{pv["metadata"]["name"]}" is already bound to a different claim'
    if (pv.get("status") or {}).get("phase") in ("Released", "Failed"):
        return f'volume "{pv["metadata"]["name"]}" is {pv["status"]["phase"]}'
    if (spec.get("storageClassName") or "") != class_name:
        return "storageClassName does not match"
    missing = modes - set(spec.get("accessModes") or [])
    if missing:
        return f"requested access modes {sorted(missing)} are not offered by the volume"
    if _size(spec.get("capacity", {}).get("storage")) < size:
        return "requested PV is too small"
    return None


def _size(text: Any) -> int:
    return quantity_bytes(text) or 0

