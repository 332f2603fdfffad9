"""The "restricted" Pod Security Standard, as Pod Security admission enforces it
(https://kubernetes.io/docs/concepts/security/pod-security-standards/), over a pod spec.

Used by the test cluster's admission (namespaces labelled
`pod-security.kubernetes.io/enforce: restricted`) and by tests/manifests/restricted.py, which
adds kubecall's own rules on top.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
# Volume types the restricted profile allows (hostPath, nfs and other inline volumes are not).
ALLOWED_VOLUME_TYPES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                        "persistentVolumeClaim", "projected", "secret"}
VOLUME_META_KEYS = {"name"}
ALLOWED_CAPABILITIES_ADD = {"NET_BIND_SERVICE"}
SECCOMP_OK = {"RuntimeDefault", "Localhost"}


def restricted_violations(spec: Obj) -> list[str]:
    """Every way a pod spec breaks the restricted standard; empty when it passes."""
    found: list[str] = []
    pod_sc = spec.get("securityContext") or {}
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(flag):
            found.append(f"{flag} is set")
    for volume in spec.get("volumes") or []:
        kinds = set(volume) - VOLUME_META_KEYS
        if not kinds <= ALLOWED_VOLUME_TYPES:
            found.append(f"volume {volume.get('name')} has type(s) "
                         f"{sorted(kinds - ALLOWED_VOLUME_TYPES)}")
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        where = f"container {container.get('name')}"
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
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                found.append(f"{where}: hostPort {port['hostPort']}")
    return found
