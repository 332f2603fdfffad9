"""Admission of pods by their namespace's policies, as the real API server's admission
plugins do: Pod Security (namespace label `pod-security.kubernetes.io/enforce`),
LimitRanger (container defaults and maxima) and ResourceQuota (requests/limits/pods summed
over the namespace's live pods). A refusal is a 403 Forbidden with the real message shapes.
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError
from .podsecurity import ENFORCE_LABEL, restricted_violations
from .resources import lookup
from .store import Obj, Store
from .volumes import quantity_bytes

NS = lookup("", "namespaces")
PODS = lookup("", "pods")
LIMIT_RANGES = lookup("", "limitranges")
QUOTAS = lookup("", "resourcequotas")
assert NS and PODS and LIMIT_RANGES and QUOTAS
# Quota keys this admission understands: (section, resource) of each container's resources.
QUOTA_KEYS = {"requests.cpu": ("requests", "cpu"), "cpu": ("requests", "cpu"),
              "requests.memory": ("requests", "memory"), "memory": ("requests", "memory"),
              "limits.cpu": ("limits", "cpu"), "limits.memory": ("limits", "memory")}


def _amount(resource: str, text: Any) -> float:
    """A quantity in cores (cpu) or bytes."""
    if resource != "cpu":
        return float(quantity_bytes(text) or 0)
    if text in (None, ""):
        return 0.0
    text = str(text)
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def _forbidden(pod: Obj, message: str) -> ApiError:
    name = pod["metadata"].get("name") or pod["metadata"].get("generateName", "")
    return ApiError(403, f'pods "{name}" is forbidden: {message}', "Forbidden",
                    details={"name": name, "kind": "pods"})


def admit_pod(store: Store, pod: Obj) -> None:
    """Default and check a new pod against its namespace's policies (mutates `pod`)."""
    namespace = pod["metadata"]["namespace"]
    ns = store.find(NS, "", namespace)
    labels = ((ns or {}).get("metadata") or {}).get("labels") or {}
    spec = pod.get("spec") or {}
    if labels.get(ENFORCE_LABEL) == "restricted":
        found = restricted_violations(spec)
        if found:
            raise _forbidden(pod, 'violates PodSecurity "restricted:latest": '
                                  + "; ".join(found))
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    limit_ranges, _ = store.list(LIMIT_RANGES, namespace)
    for limit_range in limit_ranges:
        for item in (limit_range.get("spec") or {}).get("limits") or []:
            if item.get("type") == "Container":
                _limit_containers(pod, containers, item)
    _check_quota(store, pod, namespace, containers)


def _limit_containers(pod: Obj, containers: list[Obj], item: Obj) -> None:
    for container in containers:
        resources = container.setdefault("resources", {})
        limits = resources.setdefault("limits", {})
        requests = resources.setdefault("requests", {})
        # API defaulting first (a limit without request is also the request), then the
        # LimitRange's defaultRequest and default.
        for resource, value in limits.items():
            requests.setdefault(resource, value)
        for resource, value in (item.get("defaultRequest") or {}).items():
            requests.setdefault(resource, value)
        for resource, value in (item.get("default") or {}).items():
            limits.setdefault(resource, value)
            requests.setdefault(resource, value)
        for resource, cap in (item.get("max") or {}).items():
            limit = limits.get(resource)
            if limit is None:
                raise _forbidden(pod, f"maximum {resource} usage per Container is {cap}.  No "
                                      "limit is specified")
            if _amount(resource, limit) > _amount(resource, cap):
                raise _forbidden(pod, f"maximum {resource} usage per Container is {cap}, but "
                                      f"limit is {limit}")


def _pod_usage(spec: Obj, key: str) -> float:
    if key == "pods":
        return 1.0
    section, resource = QUOTA_KEYS[key]
    return sum(_amount(resource, ((c.get("resources") or {}).get(section) or {}).get(resource))
               for c in spec.get("containers") or [])


def _check_quota(store: Store, pod: Obj, namespace: str, containers: list[Obj]) -> None:
    quotas, _ = store.list(QUOTAS, namespace)
    if not quotas:
        return
    live = [p for p in store.list(PODS, namespace)[0]
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
    for quota in quotas:
        hard = (quota.get("spec") or {}).get("hard") or {}
        keys = [k for k in hard if k in QUOTA_KEYS or k == "pods"]
        for key in keys:
            if key == "pods":
                continue
            section, resource = QUOTA_KEYS[key]
            if any(resource not in ((c.get("resources") or {}).get(section) or {})
                   for c in containers):
                raise _forbidden(pod, f"failed quota: {quota['metadata']['name']}: must "
                                      f"specify {key}")
        over = []
        for key in keys:
            asked = _pod_usage(pod["spec"], key)
            used = sum(_pod_usage(p.get("spec") or {}, key) for p in live)
            resource = "cpu" if key == "pods" else QUOTA_KEYS[key][1]
            if used + asked > (float(hard[key]) if key == "pods"
                               else _amount(resource, hard[key])):
                over.append((key, asked, used, hard[key]))
        if over:
            def show(key: str, amount: float) -> str:
                if key == "pods":
                    return f"{key}={int(amount)}"
                if QUOTA_KEYS[key][1] == "cpu":
                    return f"{key}={int(amount * 1000)}m"
                return f"{key}={int(amount)}"
            raise _forbidden(pod, f"exceeded quota: {quota['metadata']['name']}, requested: "
                             + ",".join(show(k, a) for k, a, _, _ in over) + ", used: "
                             + ",".join(show(k, u) for k, _, u, _ in over) + ", limited: "
                             + ",".join(f"{k}={h}" for k, _, _, h in over))
