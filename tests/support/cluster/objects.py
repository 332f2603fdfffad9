"""Helpers shared by the controllers: resource types, ownership, conditions, finalizers."""

from __future__ import annotations

from datetime import UTC, datetime

from .resources import ResourceType, lookup
from .store import Obj, Store

NS = lookup("", "namespaces")
PODS = lookup("", "pods")
SAS = lookup("", "serviceaccounts")
SECRETS = lookup("", "secrets")
PVS = lookup("", "persistentvolumes")
PVCS = lookup("", "persistentvolumeclaims")
SCS = lookup("storage.k8s.io", "storageclasses")
JOBS = lookup("batch", "jobs")
DEPLOYMENTS = lookup("apps", "deployments")
REPLICASETS = lookup("apps", "replicasets")
EVENTS = lookup("", "events")
assert NS and PODS and SAS and SECRETS and PVS and PVCS and SCS and JOBS and DEPLOYMENTS
assert REPLICASETS and EVENTS


def seconds_since(stamp: str | None) -> float:
    if not stamp:
        return 0.0
    then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return (datetime.now(UTC) - then).total_seconds()


def owned_by(obj: Obj, uid: str) -> bool:
    return any(r.get("uid") == uid for r in obj["metadata"].get("ownerReferences") or [])


def owner_ref(owner: Obj) -> Obj:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
            "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


def pod_ready(pod: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])

def set_condition(status: Obj, kind: str, value: str, reason: str, message: str,
                   stamp: str, time_field: str = "lastProbeTime") -> None:
    """Set a condition; `time_field` is the kind's second timestamp (jobs: lastProbeTime,
    deployments: lastUpdateTime, updated whenever reason or message change)."""
    conditions = status.setdefault("conditions", [])
    for cond in conditions:
        if cond["type"] == kind:
            if cond.get("status") != value:
                cond["lastTransitionTime"] = stamp
            if (cond.get("reason"), cond.get("message")) != (reason, message):
                cond[time_field] = stamp
            cond.update(status=value, reason=reason, message=message)
            return
    conditions.append({"type": kind, "status": value, "reason": reason, "message": message,
                       time_field: stamp, "lastTransitionTime": stamp})



def drop_finalizer(store: Store, rt: ResourceType, namespace: str, name: str,
                   finalizer: str) -> None:
    def drop(o: Obj) -> None:
        o["metadata"]["finalizers"] = [f for f in o["metadata"].get("finalizers") or []
                                       if f != finalizer]
    store.mutate(rt, namespace, name, drop)
