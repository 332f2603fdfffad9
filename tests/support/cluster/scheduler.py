"""The scheduler: binds pending pods to the node when their requests, selector and claims fit."""

from __future__ import annotations

from typing import Any

from .api import Api
from .resources import lookup
from .storage import SELECTED_NODE
from .store import Obj, Store, now_iso
from .volumes import quantity_bytes

PODS = lookup("", "pods")
NODES = lookup("", "nodes")
PVCS = lookup("", "persistentvolumeclaims")
SCS = lookup("storage.k8s.io", "storageclasses")
assert PODS and NODES and PVCS and SCS


def cpu_cores(text: Any) -> float:
    """A CPU quantity ("500m", "2") in cores."""
    if text in (None, ""):
        return 0.0
    text = str(text)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def pod_requests(spec: Obj) -> tuple[float, int]:
    """(cpu cores, memory bytes) a pod asks for: the sum over containers, or the largest init
    container when that is more; a limit stands in for a missing request."""
    def one(c: Obj) -> tuple[float, int]:
        resources = c.get("resources") or {}
        requests = {**(resources.get("limits") or {}), **(resources.get("requests") or {})}
        return cpu_cores(requests.get("cpu")), quantity_bytes(requests.get("memory")) or 0
    mains = [one(c) for c in spec.get("containers") or []]
    inits = [one(c) for c in spec.get("initContainers") or []]
    cpu = max(sum(c for c, _ in mains), max((c for c, _ in inits), default=0.0))
    memory = max(sum(m for _, m in mains), max((m for _, m in inits), default=0))
    return cpu, memory


class Scheduler:
    """Single-node scheduling: nodeSelector, resource fit and immediate-binding claims."""

    def __init__(self, store: Store, api: Api) -> None:
        self.store = store
        self.api = api
        self._reported: dict[str, str] = {}

    def schedule(self) -> None:
        pods, _ = self.store.list(PODS)
        pending = [p for p in pods if not p["spec"].get("nodeName")
                   and not p["metadata"].get("deletionTimestamp")]
        if not pending:
            return
        nodes, _ = self.store.list(NODES)
        if not nodes:
            return
        node = nodes[0]
        allocatable = (node.get("status") or {}).get("allocatable") or {}
        bound = [p for p in pods if p["spec"].get("nodeName") == node["metadata"]["name"]
                 and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        used_cpu = sum(pod_requests(p["spec"])[0] for p in bound)
        used_memory = sum(pod_requests(p["spec"])[1] for p in bound)
        free_pods = int(allocatable.get("pods", 110)) - len(bound)
        for pod in sorted(pending, key=lambda p: p["metadata"]["creationTimestamp"]):
            if self._waits_for_volumes(pod, node["metadata"]["name"]):
                continue
            cpu, memory = pod_requests(pod["spec"])
            reason = self._unschedulable(pod, node, cpu, memory,
                                         cpu_cores(allocatable.get("cpu")) - used_cpu,
                                         (quantity_bytes(allocatable.get("memory")) or 0)
                                         - used_memory, free_pods)
            if reason:
                self._mark_unschedulable(pod, reason)
                continue
            used_cpu, used_memory, free_pods = used_cpu + cpu, used_memory + memory, free_pods - 1
            self._bind(pod, node["metadata"]["name"])

    def _waits_for_volumes(self, pod: Obj, node_name: str) -> bool:
        """Claims of WaitForFirstConsumer classes bind once a pod using them has a node:
        name the node on each unbound one (the provisioner then binds it) and keep the pod
        until they are Bound. False when the pod uses no such claim."""
        namespace = pod["metadata"]["namespace"]
        waiting = False
        for volume in pod["spec"].get("volumes") or []:
            claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            claim = self.store.find(PVCS, namespace, claim_name) if claim_name else None
            if claim is None or (claim.get("status") or {}).get("phase") == "Bound":
                continue
            class_name = (claim.get("spec") or {}).get("storageClassName") or ""
            storage_class = self.store.find(SCS, "", class_name) if class_name else None
            if (storage_class or {}).get("volumeBindingMode") != "WaitForFirstConsumer":
                continue
            waiting = True
            if (claim["metadata"].get("annotations") or {}).get(SELECTED_NODE) != node_name:
                def select(c: Obj) -> None:
                    c["metadata"].setdefault("annotations", {})[SELECTED_NODE] = node_name
                self.store.mutate(PVCS, namespace, claim_name, select)
        return waiting

    def _unschedulable(self, pod: Obj, node: Obj, cpu: float, memory: int, free_cpu: float,
                       free_memory: int, free_pods: int) -> str | None:
        namespace = pod["metadata"]["namespace"]
        for volume in pod["spec"].get("volumes") or []:
            claim_name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if not claim_name:
                continue
            claim = self.store.find(PVCS, namespace, claim_name)
            if claim is None:
                return f'persistentvolumeclaim "{claim_name}" not found'
            if (claim.get("status") or {}).get("phase") != "Bound":
                return "pod has unbound immediate PersistentVolumeClaims"
        labels = node["metadata"].get("labels") or {}
        selector = pod["spec"].get("nodeSelector") or {}
        if any(labels.get(k) != v for k, v in selector.items()):
            return "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
        problems = []
        if cpu > free_cpu + 1e-9:
            problems.append("1 Insufficient cpu")
        if memory > free_memory:
            problems.append("1 Insufficient memory")
        if free_pods <= 0:
            problems.append("1 Too many pods")
        if problems:
            return f"0/1 nodes are available: {', '.join(problems)}."
        return None

    def _mark_unschedulable(self, pod: Obj, message: str) -> None:
        meta = pod["metadata"]
        if self._reported.get(meta["uid"]) == message:
            return
        self._reported[meta["uid"]] = message

        def mark(p: Obj) -> None:
            status = p.setdefault("status", {})
            conditions = [c for c in status.get("conditions") or []
                          if c.get("type") != "PodScheduled"]
            conditions.append({"type": "PodScheduled", "status": "False",
                               "reason": "Unschedulable", "message": message,
                               "lastProbeTime": None, "lastTransitionTime": now_iso()})
            status["conditions"] = conditions
        self.store.mutate(PODS, meta["namespace"], meta["name"], mark, subresource="status")
        self.api.record_event(pod, "FailedScheduling", message, "Warning")

    def _bind(self, pod: Obj, node_name: str) -> None:
        meta = pod["metadata"]

        def bind(p: Obj) -> None:
            if not p["spec"].get("nodeName"):
                p["spec"]["nodeName"] = node_name
        self.store.mutate(PODS, meta["namespace"], meta["name"], bind)
        self._reported.pop(meta["uid"], None)
        where = f"{meta['namespace']}/{meta['name']}"
        self.api.record_event(pod, "Scheduled", f"Successfully assigned {where} to {node_name}")
