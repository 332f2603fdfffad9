"""A restricted Pod Security profile check, plus kubecall's own hardening rules.

Written for the test suite (no admission controller needed): it follows the Kubernetes
"restricted" standard (https://kubernetes.io/docs/concepts/security/pod-security-standards/)
and adds what the project requires of every pod: readOnlyRootFilesystem and requests and limits
for cpu and memory on every container.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
# Volume types the restricted profile allows (hostPath, nfs and other inline volumes are not).
ALLOWED_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                        "persistentVolumeClaim", "projected", "secret"}
VOLUME_META_KEYS = {"name"}
ALLOWED_CAPABILITIES_ADD = {"NET_BIND_SERVICE"}
SECCOMP_OK = {"RuntimeDefault", "Localhost"}


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
    found: list[str] = []
    pod_sc = spec.get("securityContext") or {}
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(flag):
            found.append(f"{name}: {flag} is set")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - VOLUME_META_KEYS
        if not kinds <= ALLOWED_VOLUME_TYPES:
            found.append(f"{name}: volume {volume['name']} has type(s) "
                         f"{sorted(kinds - ALLOWED_VOLUME_TYPES)}")
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    for container in containers:
        where = f"{name} container {container['name']}"
        sc = container.get("securityContext") or {}

        def setting(key: str, sc: Obj = sc) -> Any:
            return sc.get(key, pod_sc.get(key))

        if sc.get("privileged"):
            found.append(f"{where}: privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            found.append(f"{where}: allowPrivilegeEscalation is not false")
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            found.append(f"{where}: capabilities do not drop ALL")
        if set(caps.get("add") or []) - ALLOWED_CAPABILITIES_ADD:
            found.append(f"{where}: adds capabilities {caps['add']}")
        if setting("runAsNonRoot") is not True:
            found.append(f"{where}: runAsNonRoot is not true")
        if setting("runAsUser") == 0:
            found.append(f"{where}: runAsUser is 0")
        if ((setting("seccompProfile") or {}).get("type")) not in SECCOMP_OK:
            found.append(f"{where}: seccompProfile is not RuntimeDefault/Localhost")
        if sc.get("readOnlyRootFilesystem") is not True:
            found.append(f"{where}: readOnlyRootFilesystem is not true")
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                found.append(f"{where}: hostPort {port['hostPort']}")
        resources = container.get("resources") or {}
        for section in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in (resources.get(section) or {}):
                    found.append(f"{where}: no {section}.{resource}")
    return found
