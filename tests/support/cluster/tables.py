"""Server-side printing: `meta.k8s.io/v1 Table` responses for `kubectl get`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .resources import ResourceType

Obj = dict[str, Any]
Column = tuple[str, str, int, Callable[[Obj], Any]]  # name, type, priority, cell

MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
         "ReadWriteOncePod": "RWOP"}


def human_duration(seconds: float) -> str:
    """Like k8s.io/apimachinery/pkg/util/duration.HumanDuration."""
    s = int(seconds)
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    return f"{hours // 24}d"


def _since(timestamp: str | None) -> float:
    if not timestamp:
        return 0.0
    then = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return (datetime.now(UTC) - then).total_seconds()


def age(obj: Obj) -> str:
    return human_duration(_since(obj["metadata"].get("creationTimestamp")))


def _get(obj: Any, *path: str, default: Any = None) -> Any:
    for part in path:
        if not isinstance(obj, dict):
            return default
        obj = obj.get(part)
    return default if obj is None else obj


def pod_status_text(pod: Obj) -> str:
    """The STATUS column of `kubectl get pods`."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Pending"
    inits = pod["spec"].get("initContainers") or []
    for n, cs in enumerate(status.get("initContainerStatuses") or []):
        state = cs.get("state") or {}
        term = state.get("terminated")
        if term and term.get("exitCode") == 0:
            continue
        if term:
            reason = "Init:" + (term.get("reason") or f"ExitCode:{term.get('exitCode')}")
        elif (state.get("waiting") or {}).get("reason") not in (None, "PodInitializing"):
            reason = "Init:" + state["waiting"]["reason"]
        else:
            reason = f"Init:{n}/{len(inits)}"
        return reason
    for cs in status.get("containerStatuses") or []:
        state = cs.get("state") or {}
        if (state.get("waiting") or {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif (state.get("terminated") or {}).get("reason"):
            reason = state["terminated"]["reason"]
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def _pod_ready(pod: Obj) -> str:
    statuses = _get(pod, "status", "containerStatuses", default=[])
    ready = sum(1 for cs in statuses if cs.get("ready"))
    return f"{ready}/{len(pod['spec'].get('containers') or [])}"


def _job_status(job: Obj) -> str:
    for cond in _get(job, "status", "conditions", default=[]):
        if cond.get("status") == "True" and cond.get("type") in ("Complete", "Failed"):
            return cond["type"]
    if _get(job, "spec", "suspend"):
        return "Suspended"
    return "Running"


def _job_duration(job: Obj) -> str:
    start = _get(job, "status", "startTime")
    if not start:
        return ""
    end = _get(job, "status", "completionTime")
    if end:
        return human_duration(_since(start) - _since(end))
    return human_duration(_since(start))


def _ports(svc: Obj) -> str:
    ports = _get(svc, "spec", "ports", default=[])
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _sc_name(sc: Obj) -> str:
    annotations = sc["metadata"].get("annotations") or {}
    default = annotations.get("storageclass.kubernetes.io/is-default-class") == "true"
    return sc["metadata"]["name"] + (" (default)" if default else "")


def _modes(obj: Obj) -> str:
    return ",".join(MODES.get(m, m) for m in _get(obj, "spec", "accessModes", default=[]))


def _claim(pv: Obj) -> str:
    ref = _get(pv, "spec", "claimRef")
    return f"{ref.get('namespace')}/{ref.get('name')}" if ref else ""


def _selector(obj: Obj) -> str:
    labels = _get(obj, "spec", "selector", "matchLabels", default=None)
    if labels is None:
        labels = _get(obj, "spec", "selector", default={})
    return ",".join(f"{k}={v}" for k, v in labels.items()) or "<none>"


def _containers(obj: Obj) -> list[Obj]:
    return _get(obj, "spec", "template", "spec", "containers", default=[])


NAME: Column = ("Name", "string", 0, lambda o: o["metadata"]["name"])
AGE: Column = ("Age", "string", 0, age)
WIDE_TEMPLATE: list[Column] = [
    ("Containers", "string", 1, lambda o: ",".join(c["name"] for c in _containers(o))),
    ("Images", "string", 1, lambda o: ",".join(c.get("image", "") for c in _containers(o))),
    ("Selector", "string", 1, _selector),
]

COLUMNS: dict[str, list[Column]] = {
    "Pod": [NAME, ("Ready", "string", 0, _pod_ready), ("Status", "string", 0, pod_status_text),
            ("Restarts", "integer", 0, lambda o: sum(
                cs.get("restartCount", 0) for cs in _get(o, "status", "containerStatuses",
                                                            default=[]))),
            AGE,
            ("IP", "string", 1, lambda o: _get(o, "status", "podIP", default="<none>")),
            ("Node", "string", 1, lambda o: _get(o, "spec", "nodeName", default="<none>"))],
    "Deployment": [NAME,
                   ("Ready", "string", 0,
                    lambda o: f"{_get(o, 'status', 'readyReplicas', default=0)}"
                    f"/{_get(o, 'spec', 'replicas', default=0)}"),
                   ("Up-to-date", "integer", 0,
                    lambda o: _get(o, "status", "updatedReplicas", default=0)),
                   ("Available", "integer", 0,
                    lambda o: _get(o, "status", "availableReplicas", default=0)),
                   AGE, *WIDE_TEMPLATE],
    "ReplicaSet": [NAME,
                   ("Desired", "integer", 0, lambda o: _get(o, "spec", "replicas", default=0)),
                   ("Current", "integer", 0, lambda o: _get(o, "status", "replicas", default=0)),
                   ("Ready", "integer", 0,
                    lambda o: _get(o, "status", "readyReplicas", default=0)),
                   AGE, *WIDE_TEMPLATE],
    "Job": [NAME, ("Status", "string", 0, _job_status),
            ("Completions", "string", 0, lambda o: f"{_get(o, 'status', 'succeeded', default=0)}"
             f"/{_get(o, 'spec', 'completions', default=1)}"),
            ("Duration", "string", 0, _job_duration), AGE, *WIDE_TEMPLATE],
    "Service": [NAME, ("Type", "string", 0, lambda o: _get(o, "spec", "type", default="ClusterIP")),
                ("Cluster-IP", "string", 0, lambda o: _get(o, "spec", "clusterIP", default="")),
                ("External-IP", "string", 0, lambda o: "<none>"),
                ("Port(s)", "string", 0, _ports), AGE,
                ("Selector", "string", 1, _selector)],
    "PersistentVolume": [
        NAME, ("Capacity", "string", 0, lambda o: _get(o, "spec", "capacity", "storage",
                                                       default="")),
        ("Access Modes", "string", 0, _modes),
        ("Reclaim Policy", "string", 0,
         lambda o: _get(o, "spec", "persistentVolumeReclaimPolicy", default="")),
        ("Status", "string", 0, lambda o: _get(o, "status", "phase", default="")),
        ("Claim", "string", 0, _claim),
        ("StorageClass", "string", 0, lambda o: _get(o, "spec", "storageClassName", default="")),
        ("VolumeAttributesClass", "string", 0, lambda o: "<unset>"),
        ("Reason", "string", 0, lambda o: _get(o, "status", "reason", default="")),
        AGE],
    "PersistentVolumeClaim": [
        NAME, ("Status", "string", 0, lambda o: _get(o, "status", "phase", default="")),
        ("Volume", "string", 0, lambda o: _get(o, "spec", "volumeName", default="")),
        ("Capacity", "string", 0, lambda o: _get(o, "status", "capacity", "storage", default="")),
        ("Access Modes", "string", 0,
         lambda o: ",".join(MODES.get(m, m) for m in _get(o, "status", "accessModes",
                                                          default=[]))),
        ("StorageClass", "string", 0, lambda o: _get(o, "spec", "storageClassName", default="")),
        ("VolumeAttributesClass", "string", 0, lambda o: "<unset>"),
        AGE],
    "StorageClass": [
        ("Name", "string", 0, _sc_name),
        ("Provisioner", "string", 0, lambda o: o.get("provisioner", "")),
        ("ReclaimPolicy", "string", 0, lambda o: o.get("reclaimPolicy", "Delete")),
        ("VolumeBindingMode", "string", 0, lambda o: o.get("volumeBindingMode", "Immediate")),
        ("AllowVolumeExpansion", "string", 0,
         lambda o: "true" if o.get("allowVolumeExpansion") else "false"),
        AGE],
    "Secret": [NAME, ("Type", "string", 0, lambda o: o.get("type", "Opaque")),
               ("Data", "integer", 0, lambda o: len(o.get("data") or {})), AGE],
    "ConfigMap": [NAME, ("Data", "integer", 0,
                         lambda o: len(o.get("data") or {}) + len(o.get("binaryData") or {})), AGE],
    "ServiceAccount": [NAME, ("Secrets", "integer", 0, lambda o: len(o.get("secrets") or [])),
                       AGE],
    "Namespace": [NAME, ("Status", "string", 0, lambda o: _get(o, "status", "phase",
                                                               default="Active")), AGE],
    "Node": [NAME, ("Status", "string", 0, lambda o: "Ready"),
             ("Roles", "string", 0, lambda o: "control-plane"), AGE,
             ("Version", "string", 0, lambda o: _get(o, "status", "nodeInfo", "kubeletVersion",
                                                     default=""))],
    "Event": [("Last Seen", "string", 0, lambda o: human_duration(_since(
        o.get("lastTimestamp") or o["metadata"].get("creationTimestamp")))),
              ("Type", "string", 0, lambda o: o.get("type", "")),
              ("Reason", "string", 0, lambda o: o.get("reason", "")),
              ("Object", "string", 0, lambda o: f"{_get(o, 'involvedObject', 'kind', default='')}"
               f"/{_get(o, 'involvedObject', 'name', default='')}".lower()),
              ("Message", "string", 0, lambda o: o.get("message", ""))],
}


def _partial(obj: Obj) -> Obj:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj["metadata"]}


def to_table(rt: ResourceType, items: list[Obj], resource_version: str,
             include_object: str = "Metadata") -> Obj:
    """Render objects as a Table (kubectl's default `get` output)."""
    columns = COLUMNS.get(rt.kind, [NAME, AGE])
    rows = []
    for obj in items:
        if include_object == "None":
            embedded: Obj | None = None
        elif include_object == "Object":
            embedded = obj
        else:
            embedded = _partial(obj)
        row: Obj = {"cells": [cell(obj) for _, _, _, cell in columns]}
        if embedded is not None:
            row["object"] = embedded
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version},
        "columnDefinitions": [
            {"name": name, "type": typ, "format": "name" if name == "Name" else "",
             "description": name, "priority": priority}
            for name, typ, priority, _ in columns
        ],
        "rows": rows,
    }
