"""Pruning: deleting what an earlier ``kubecall bootstrap`` applied and the manifests no longer
hold. Only objects labelled ``BOOTSTRAP_LABEL=<namespace>`` (bootstrap labels what it applies)
of the kinds bootstrap applies; never the namespace or the MinIO Secret, and the data (claims,
volumes, storage classes) only when asked."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kubecall.cluster.applying import RANKS, describe, in_dependency_order
from kubecall.cluster.contract import BOOTSTRAP_LABEL, Obj
from kubecall.cluster.credentials import SECRET_NAME
from kubecall.cluster.kube import KINDS, Kube

# Kept unless --prune-data: deleting them deletes data (or what binds it).
DATA_KINDS = {"PersistentVolumeClaim", "PersistentVolume", "StorageClass"}
# Never pruned: deleting the namespace deletes everything in it.
NEVER_PRUNED = {"Namespace"}


def labelled(objects: Iterable[Obj], namespace: str) -> list[Obj]:
    """The objects with ``BOOTSTRAP_LABEL`` set, so a later bootstrap can find them."""
    out = []
    for obj in objects:
        meta = dict(obj["metadata"])
        meta["labels"] = {**(meta.get("labels") or {}), BOOTSTRAP_LABEL: namespace}
        out.append({**obj, "metadata": meta})
    return out


def _key(obj: Obj) -> tuple[str, str, str, str]:
    meta = obj["metadata"]
    return (obj["apiVersion"], obj["kind"], meta.get("namespace") or "", meta["name"])


def _protected(obj: Obj) -> bool:
    return obj["kind"] == "Secret" and obj["metadata"]["name"] == SECRET_NAME


def leftovers(kube: Kube, objects: list[Obj], namespace: str) -> list[Obj]:
    """Live objects bootstrap applied earlier that ``objects`` no longer hold (one labelled
    list per kind bootstrap applies), in dependency order."""
    wanted = {_key(o) for o in objects}
    selector = f"{BOOTSTRAP_LABEL}={namespace}"
    found = []
    for kind in KINDS.values():
        if kind.kind not in RANKS or kind.kind in NEVER_PRUNED:
            continue
        for live in kube.list(kind.api_version, kind.kind,
                              namespace if kind.namespaced else None, selector):
            live = {**live, "apiVersion": kind.api_version, "kind": kind.kind}
            if _key(live) not in wanted and not _protected(live):
                found.append(live)
    return in_dependency_order(found)


def prune(kube: Kube, objects: list[Obj], namespace: str, data: bool, dry_run: bool,
          report: Callable[[str], None]) -> int:
    """Delete the leftovers, dependents first (data kinds only with ``data``); returns how
    many were (or, dry run, would be) deleted."""
    deleted = 0
    for obj in reversed(leftovers(kube, objects, namespace)):
        if obj["kind"] in DATA_KINDS and not data:
            report(f"kept      {describe(obj)} (no longer in the manifests; --prune-data "
                   "deletes it)")
            continue
        if dry_run:
            report(f"would prune {describe(obj)}")
        else:
            meta = obj["metadata"]
            kube.delete(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
            report(f"prune     {describe(obj)}")
        deleted += 1
    return deleted
