"""A restricted Pod Security profile check, plus kubecall's own hardening rules.

Written for the test suite (no admission controller needed): it follows the Kubernetes
"restricted" standard (https://kubernetes.io/docs/concepts/security/pod-security-standards/)
and adds what the project requires of every pod: readOnlyRootFilesystem and requests and limits
for cpu and memory on every container.
"""

from __future__ import annotations

from typing import Any

from tests.support.cluster.podsecurity import restricted_violations

Obj = dict[str, Any]


def pod_spec(obj: Obj) -> Obj | None:
    """The pod spec inside a Pod, Deployment, Job, … or None for objects without pods."""
    kind = obj.get("kind")
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return spec
    if kind == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]["spec"]
    if kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}:
        return spec["template"]["spec"]
    return None


def violations(obj: Obj) -> list[str]:
    """Every way ``obj``'s pods break the profile; empty when they pass."""
    spec = pod_spec(obj)
    if spec is None:
        return []
    name = f"{obj['kind']} {obj['metadata']['name']}"
    found = [f"{name} {v}" if v.startswith("container ") else f"{name}: {v}"
             for v in restricted_violations(spec)]
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        where = f"{name} container {container['name']}"
        sc = container.get("securityContext") or {}
        if sc.get("readOnlyRootFilesystem") is not True:
            found.append(f"{where}: readOnlyRootFilesystem is not true")
        resources = container.get("resources") or {}
        for section in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in (resources.get(section) or {}):
                    found.append(f"{where}: no {section}.{resource}")
    return found
