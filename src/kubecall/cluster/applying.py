"""Applying rendered objects in dependency order, changing only what differs.

Each object is compared with its live copy first: when every field kubecall sets already has
that value and kubecall's apply owns no field the manifests dropped, nothing is sent, so a
second ``bootstrap`` makes no write request at all. Otherwise the object is server-side
applied (field manager ``kubecall``), which also removes the fields it dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kubecall.cluster.contract import Obj
from kubecall.cluster.kube import Kube, kind_of
from kubecall.cluster.managed import applied_fields, dropped_fields
from kubecall.errors import KubecallError

# Lower ranks first: what others refer to (namespace, classes, volumes, identities, policies),
# then claims, then what mounts them (Deployments), then Jobs that need the Deployments' Services.
RANKS: dict[str, int] = {
    "Namespace": 0, "StorageClass": 0, "PersistentVolume": 0,
    "ServiceAccount": 1, "Role": 1, "RoleBinding": 1, "LimitRange": 1, "ResourceQuota": 1,
    "ConfigMap": 1, "Secret": 1, "NetworkPolicy": 1,
    "PersistentVolumeClaim": 2,
    "Service": 3, "Deployment": 3,
    "Job": 4,
    "HorizontalPodAutoscaler": 5, "PodDisruptionBudget": 5,
}


def rank(obj: Obj) -> int:
    kind_of(obj["apiVersion"], obj["kind"])  # unsupported kinds fail before anything is sent
    return RANKS.get(obj["kind"], 5)


def in_dependency_order(objects: Iterable[Obj]) -> list[Obj]:
    """Objects sorted by rank; the manifests' order is kept within a rank."""
    return sorted(objects, key=rank)


def describe(obj: Obj) -> str:
    meta = obj["metadata"]
    where = f" in {meta['namespace']}" if meta.get("namespace") else ""
    return f"{obj['kind']} {meta['name']}{where}"


def contains(live: Any, desired: Any) -> bool:
    """Whether ``live`` already holds every field and value of ``desired``.

    Lists must match item by item; scalars compare by their text, since the API server may
    return 9000 where the manifest says "9000".
    """
    if isinstance(desired, dict):
        return isinstance(live, dict) and all(
            contains(live.get(key), value) for key, value in desired.items())
    if isinstance(desired, list):
        return isinstance(live, list) and len(live) == len(desired) and all(
            contains(have, want) for have, want in zip(live, desired, strict=True))
    if live is None:
        return desired is None or desired == "" or desired == {} or desired == []
    return live == desired or str(live) == str(desired)


@dataclass
class Step:
    """What applying one object does: create, update or nothing."""

    obj: Obj
    action: str  # "create" | "update" | "unchanged"
    dropped: list[str] = field(default_factory=list)  # fields the update removes

    def what(self) -> str:
        drops = f" (drops {', '.join(self.dropped)})" if self.dropped else ""
        return f"{describe(self.obj)}{drops}"

    def __str__(self) -> str:
        return f"{self.action:9} {self.what()}"


def plan(kube: Kube, objects: Iterable[Obj]) -> list[Step]:
    """Compare each object with the cluster (reads only)."""
    steps = []
    for obj in in_dependency_order(objects):
        meta = obj["metadata"]
        live = kube.get(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        if live is None:
            steps.append(Step(obj, "create"))
            continue
        dropped = sorted(dropped_fields(applied_fields(live), obj))
        if not dropped and contains(live, {k: v for k, v in obj.items()
                                           if k not in ("apiVersion", "kind")}):
            steps.append(Step(obj, "unchanged"))
        else:
            steps.append(Step(obj, "update", dropped))
    return steps


def apply_steps(kube: Kube, steps: Iterable[Step], dry_run: bool,
                report: Callable[[str], None]) -> int:
    """Apply the steps that change something; returns how many did."""
    changed = 0
    for step in steps:
        if dry_run and step.action != "unchanged":
            report(f"would {step.action} {step.what()}")
        else:
            report(str(step))
        if step.action == "unchanged" or dry_run:
            continue
        try:
            kube.apply(step.obj)
        except KubecallError as exc:
            if step.obj["kind"] == "Job" and "immutable" in str(exc):
                meta = step.obj["metadata"]
                raise KubecallError(
                    f"{exc}\nA Job's pod template cannot change once created; delete the old "
                    f"one (kubectl -n {meta.get('namespace')} delete job {meta['name']}) and "
                    "run bootstrap again") from exc
            raise
        changed += 1
    return changed
