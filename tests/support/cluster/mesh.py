"""A service mesh's sidecar injector, as Istio's mutating webhook does it: a pod created in a
namespace labelled `istio-injection: enabled` gets an `istio-proxy` container, unless the pod
opts out (label or annotation `sidecar.istio.io/inject: "false"`).

Two modes, as Istio has: "regular" adds it to `containers` (the classic injection: the proxy
runs until the pod is deleted, so the pod stays Running after the app container ended);
"native" adds it to `initContainers` with `restartPolicy: Always` (a native sidecar, Istio's
ENABLE_NATIVE_SIDECARS: the kubelet stops it once the main containers have ended).
The proxy is hardened like Istio's CNI-mode proxy, so a "restricted" namespace admits it.
"""

from __future__ import annotations

import copy

from .store import Obj

INJECT_LABEL = "istio-injection"
OPT_OUT = "sidecar.istio.io/inject"
PROXY_NAME = "istio-proxy"
PROXY_IMAGE = "docker.io/istio/proxyv2:1.24.0"
MODES = ("regular", "native")

_PROXY: Obj = {
    "name": PROXY_NAME,
    "image": PROXY_IMAGE,
    # The stand-in proxy: runs until stopped (the node runs it with host tools).
    "command": ["sleep", "infinity"],
    "resources": {"requests": {"cpu": "10m", "memory": "40Mi"},
                  "limits": {"cpu": "100m", "memory": "128Mi"}},
    "securityContext": {"runAsNonRoot": True, "runAsUser": 1337, "runAsGroup": 1337,
                        "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                        "readOnlyRootFilesystem": True,
                        "seccompProfile": {"type": "RuntimeDefault"}},
    "imagePullPolicy": "IfNotPresent",
    "terminationMessagePath": "/dev/termination-log",
    "terminationMessagePolicy": "File",
}


def wants_injection(namespace: Obj | None, pod: Obj) -> bool:
    """Whether the injector adds the proxy to `pod` (namespace label, pod opt-out)."""
    labels = ((namespace or {}).get("metadata") or {}).get("labels") or {}
    meta = pod.get("metadata") or {}
    opted_out = "false" in ((meta.get("labels") or {}).get(OPT_OUT),
                            (meta.get("annotations") or {}).get(OPT_OUT))
    return labels.get(INJECT_LABEL) == "enabled" and not opted_out


def inject(pod: Obj, mode: str) -> None:
    """Add the proxy to `pod` (mutates it), as a regular or a native sidecar."""
    spec = pod.setdefault("spec", {})
    names = {c["name"] for c in (spec.get("initContainers") or []) +
             (spec.get("containers") or [])}
    if PROXY_NAME in names:
        return
    proxy = copy.deepcopy(_PROXY)
    if mode == "native":
        proxy["restartPolicy"] = "Always"
        # First, as Istio puts it: the app's other init containers get the network.
        spec["initContainers"] = [proxy, *(spec.get("initContainers") or [])]
    else:
        spec["containers"] = [*(spec.get("containers") or []), proxy]
