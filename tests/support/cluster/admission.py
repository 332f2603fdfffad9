"""Defaulting and validation applied to objects written through the API (422 on bad input)."""

from __future__ import annotations

import base64
import copy
import itertools
import re
from typing import Any

from .errors import ApiError, invalid
from .resources import ResourceType
from .selection import selector_from_spec

Obj = dict[str, Any]
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_CLUSTER_IPS = itertools.count(10)
ACCESS_MODES = {"ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"}
# Kinds whose names need only be valid path segments (rbac) rather than DNS subdomains.
_PATH_SEGMENT_KINDS = {"Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"}


def _check_name(rt: ResourceType, obj: Obj) -> None:
    meta = obj.get("metadata") or {}
    name = meta.get("name") or meta.get("generateName")
    if not name:
        raise invalid(rt.kind, "", [("metadata.name", "Required value: name or generateName is "
                                                      "required")], rt.group)
    if rt.kind in _PATH_SEGMENT_KINDS:
        if "/" in name or name in (".", ".."):
            raise invalid(rt.kind, name, [("metadata.name", "Invalid value: may not contain '/'")])
        return
    probe = name if meta.get("name") else name + "x"
    pattern = _DNS_SUBDOMAIN
    limit = 253
    if rt.kind == "Namespace":
        pattern, limit = _DNS_LABEL, 63
    elif rt.kind == "Service":
        pattern, limit = _DNS_1035, 63
    if len(probe) > limit or not pattern.match(probe):
        raise invalid(rt.kind, name, [("metadata.name", f'Invalid value: "{name}": a lowercase '
                                       "RFC 1123 name must consist of lower case alphanumeric "
                                       "characters, '-' or '.'")], rt.group)


_LABEL_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


def _label_problems(labels: Any, where: str) -> list[tuple[str, str]]:
    """Kubernetes label syntax: keys `[prefix/]name`, values ≤ 63 characters."""
    causes: list[tuple[str, str]] = []
    if not isinstance(labels, dict):
        return causes
    for key, value in labels.items():
        prefix, _, label = str(key).rpartition("/")
        if (prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix))) or \
                len(label) > 63 or not _LABEL_NAME.match(label):
            causes.append((where, f'Invalid value: "{key}": name part must consist of '
                                  "alphanumeric characters, '-', '_' or '.', and must start "
                                  "and end with an alphanumeric character (at most 63)"))
        text = "" if value is None else str(value)
        if len(text) > 63:
            causes.append((where, f'Invalid value: "{text}": must be no more than 63 '
                                  "characters"))
        elif text and not _LABEL_NAME.match(text):
            causes.append((where, f'Invalid value: "{text}": a valid label must be an empty '
                                  "string or consist of alphanumeric characters, '-', '_' or "
                                  "'.', and must start and end with an alphanumeric character"))
    return causes


def check_labels(rt: ResourceType, obj: Obj) -> None:
    """422 for malformed labels on the object, its pod template and its selector."""
    meta = obj.get("metadata") or {}
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    template_meta = (spec.get("template") or {}).get("metadata") or {}
    selector = spec.get("selector") if isinstance(spec.get("selector"), dict) else {}
    causes = _label_problems(meta.get("labels"), "metadata.labels")
    causes += _label_problems(template_meta.get("labels"), "spec.template.labels")
    causes += _label_problems(selector.get("matchLabels") if "matchLabels" in selector
                              else (selector if rt.kind == "Service" else None),
                              "spec.selector")
    if causes:
        name = meta.get("name") or meta.get("generateName", "")
        raise invalid(rt.kind, name, causes, rt.group)


def _default_pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("securityContext", {})
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        c.setdefault("imagePullPolicy", "Always" if str(c.get("image", "")).endswith(":latest")
                     else "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
        for port in c.get("ports") or []:
            port.setdefault("protocol", "TCP")


def _validate_pod_spec(kind: str, name: str, spec: Obj, prefix: str,
                       allowed_restart: tuple[str, ...]) -> None:
    causes: list[tuple[str, str]] = []
    containers = spec.get("containers") or []
    if not containers:
        causes.append((f"{prefix}.containers", "Required value"))
    volumes = {v.get("name") for v in spec.get("volumes") or []}
    seen: set[str] = set()
    for group in ("initContainers", "containers"):
        for n, c in enumerate(spec.get(group) or []):
            where = f"{prefix}.{group}[{n}]"
            if not c.get("name"):
                causes.append((f"{where}.name", "Required value"))
            elif len(c["name"]) > 63 or not _DNS_LABEL.match(c["name"]):
                causes.append((f"{where}.name", f'Invalid value: "{c["name"]}": a lowercase '
                                                "RFC 1123 label must consist of lower case "
                                                "alphanumeric characters or '-'"))
            elif c["name"] in seen:
                causes.append((f"{where}.name", f'Duplicate value: "{c["name"]}"'))
            seen.add(c.get("name", ""))
            if not c.get("image"):
                causes.append((f"{where}.image", "Required value"))
            # A container's own restartPolicy: only "Always", only on init containers
            # (native sidecars).
            if "restartPolicy" in c and group == "containers":
                causes.append((f"{where}.restartPolicy",
                               "Forbidden: may not be set for non-init containers"))
            elif "restartPolicy" in c and c["restartPolicy"] != "Always":
                causes.append((f"{where}.restartPolicy", f'Unsupported value: '
                                                         f'"{c["restartPolicy"]}": supported '
                                                         'values: "Always"'))
            for e, var in enumerate(c.get("env") or []):
                if not _ENV_NAME.match(str(var.get("name", ""))):
                    causes.append((f"{where}.env[{e}].name",
                                   f'Invalid value: "{var.get("name", "")}": a valid '
                                   "environment variable name must consist of alphabetic "
                                   "characters, digits, '_', '-', or '.', and must not start "
                                   "with a digit"))
            for m, mount in enumerate(c.get("volumeMounts") or []):
                if mount.get("name") not in volumes:
                    causes.append((f"{where}.volumeMounts[{m}].name",
                                   f'Not found: "{mount.get("name")}"'))
                if not str(mount.get("mountPath", "")).startswith("/"):
                    causes.append((f"{where}.volumeMounts[{m}].mountPath",
                                   "Invalid value: must be an absolute path"))
    if spec.get("restartPolicy") not in allowed_restart:
        causes.append((f"{prefix}.restartPolicy",
                       f'Unsupported value: "{spec.get("restartPolicy")}": supported values: '
                       + ", ".join(f'"{v}"' for v in allowed_restart)))
    if causes:
        raise invalid(kind, name, causes)


def _decode_string_data(obj: Obj) -> None:
    for key, value in (obj.pop("stringData", None) or {}).items():
        obj.setdefault("data", {})[key] = base64.b64encode(str(value).encode()).decode()


def prepare_create(rt: ResourceType, obj: Obj, default_storage_class: str | None,
                   uid: str = "") -> Obj:
    """Default and validate a new object; raise ApiError(422) when invalid."""
    obj = copy.deepcopy(obj)
    _check_name(rt, obj)
    meta = obj["metadata"]
    name = meta.get("name") or meta.get("generateName", "")
    kind = rt.kind
    if kind == "Pod":
        spec = obj.setdefault("spec", {})
        _default_pod_spec(spec)
        spec.setdefault("serviceAccountName", spec.get("serviceAccount") or "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        _validate_pod_spec(kind, name, spec, "spec", ("Always", "OnFailure", "Never"))
        obj["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
    elif kind == "Job":
        spec = obj.setdefault("spec", {})
        template = spec.setdefault("template", {})
        _default_pod_spec(template.setdefault("spec", {}))
        template["spec"].setdefault("restartPolicy", "")
        _validate_pod_spec(kind, name, template["spec"], "spec.template.spec",
                           ("OnFailure", "Never"))
        spec.setdefault("backoffLimit", 6)
        spec.setdefault("completions", 1)
        spec.setdefault("parallelism", 1)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        if not spec.get("manualSelector"):
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            labels = template.setdefault("metadata", {}).setdefault("labels", {})
            labels.update({"batch.kubernetes.io/controller-uid": uid,
                           "batch.kubernetes.io/job-name": name, "controller-uid": uid,
                           "job-name": name})
        obj.setdefault("status", {})
    elif kind == "Deployment":
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        spec.setdefault("strategy", {"type": "RollingUpdate", "rollingUpdate": {
            "maxSurge": "25%", "maxUnavailable": "25%"}})
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("progressDeadlineSeconds", 600)
        template = spec.setdefault("template", {})
        _default_pod_spec(template.setdefault("spec", {}))
        _validate_deployment(name, spec)
        obj.setdefault("status", {})
    elif kind == "ReplicaSet":
        spec = obj.setdefault("spec", {})
        spec.setdefault("replicas", 1)
        _default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
        _validate_pod_spec(kind, name, spec["template"]["spec"], "spec.template.spec",
                           ("Always",))
        obj.setdefault("status", {"replicas": 0})
    elif kind == "PersistentVolumeClaim":
        spec = obj.setdefault("spec", {})
        spec.setdefault("volumeMode", "Filesystem")
        if "storageClassName" not in spec and default_storage_class:
            spec["storageClassName"] = default_storage_class
        _validate_claim(name, spec)
        _add_finalizer(obj, "kubernetes.io/pvc-protection")
        obj["status"] = {"phase": "Pending"}
    elif kind == "PersistentVolume":
        spec = obj.setdefault("spec", {})
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
        causes = []
        if not (spec.get("capacity") or {}).get("storage"):
            causes.append(("spec.capacity", "Required value"))
        if not spec.get("accessModes"):
            causes.append(("spec.accessModes", "Required value"))
        if causes:
            raise invalid(kind, name, causes)
        _add_finalizer(obj, "kubernetes.io/pv-protection")
        obj["status"] = {"phase": "Available"}
    elif kind == "Service":
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        if spec.get("clusterIP") != "None":
            n = next(_CLUSTER_IPS)
            spec["clusterIP"] = f"10.96.{n // 250}.{n % 250 + 1}"
            spec["clusterIPs"] = [spec["clusterIP"]]
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
        obj.setdefault("status", {"loadBalancer": {}})
    elif kind in ("Secret", "ConfigMap"):
        if kind == "Secret":
            _decode_string_data(obj)
            obj.setdefault("type", "Opaque")
    elif kind == "Namespace":
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta.get("name", "")
        obj["spec"] = {"finalizers": ["kubernetes"]}
        obj["status"] = {"phase": "Active"}
    elif kind == "StorageClass":
        obj.setdefault("reclaimPolicy", "Delete")
        obj.setdefault("volumeBindingMode", "Immediate")
    elif kind in ("RoleBinding", "ClusterRoleBinding"):
        if not (obj.get("roleRef") or {}).get("name"):
            raise invalid(kind, name, [("roleRef.name", "Required value")], rt.group)
    check_labels(rt, obj)
    return obj


def _add_finalizer(obj: Obj, finalizer: str) -> None:
    finalizers = obj["metadata"].setdefault("finalizers", [])
    if finalizer not in finalizers:
        finalizers.append(finalizer)


def _validate_deployment(name: str, spec: Obj) -> None:
    selector = spec.get("selector")
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        raise invalid("Deployment", name, [("spec.selector", "Required value")], "apps")
    if not selector_from_spec(selector)(labels):
        raise invalid("Deployment", name, [("spec.template.metadata.labels",
                                            f"Invalid value: {labels}: `selector` does not match "
                                            "template `labels`")], "apps")
    _validate_pod_spec("Deployment", name, spec["template"]["spec"], "spec.template.spec",
                       ("Always",))
    if int(spec.get("replicas", 1)) < 0:
        raise invalid("Deployment", name, [("spec.replicas", "Invalid value: must be greater "
                                                              "than or equal to 0")], "apps")


def _validate_claim(name: str, spec: Obj) -> None:
    causes = []
    modes = spec.get("accessModes") or []
    if not modes:
        causes.append(("spec.accessModes", "Required value: at least 1 access mode is required"))
    for mode in modes:
        if mode not in ACCESS_MODES:
            causes.append(("spec.accessModes", f'Unsupported value: "{mode}"'))
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
        causes.append(("spec.resources[storage]", "Required value"))
    if causes:
        raise invalid("PersistentVolumeClaim", name, causes)


def prepare_update(rt: ResourceType, old: Obj, new: Obj) -> Obj:
    """Validate an update of the main resource (immutable fields → 422)."""
    new = copy.deepcopy(new)
    name = old["metadata"]["name"]
    kind = rt.kind

    def immutable(path: str, a: Any, b: Any) -> None:
        if a != b:
            raise invalid(kind, name, [(path, "Invalid value: field is immutable")], rt.group)

    if kind == "Secret":
        _decode_string_data(new)
    elif kind == "Pod":
        old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
        strip = ("image", "activeDeadlineSeconds", "tolerations")
        a = {k: v for k, v in old_spec.items() if k not in strip and k != "containers"}
        b = {k: v for k, v in new_spec.items() if k not in strip and k != "containers"}
        ca = [{k: v for k, v in c.items() if k != "image"} for c in old_spec.get("containers", [])]
        cb = [{k: v for k, v in c.items() if k != "image"} for c in new_spec.get("containers", [])]
        if a != b or ca != cb:
            raise invalid(kind, name, [("spec", "Forbidden: pod updates may not change fields "
                                                "other than `spec.containers[*].image`, "
                                                "`spec.activeDeadlineSeconds` or "
                                                "`spec.tolerations`")])
    elif kind == "Job":
        spec = new.setdefault("spec", {})
        _default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
        immutable("spec.template", old["spec"].get("template"), spec.get("template"))
        immutable("spec.selector", old["spec"].get("selector"), spec.get("selector"))
        immutable("spec.completions", old["spec"].get("completions"), spec.get("completions"))
    elif kind == "Deployment":
        spec = new.setdefault("spec", {})
        _default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))
        immutable("spec.selector", old["spec"].get("selector"), spec.get("selector"))
        _validate_deployment(name, spec)
    elif kind == "PersistentVolumeClaim":
        a = {k: v for k, v in old.get("spec", {}).items() if k not in ("resources", "volumeName")}
        b = {k: v for k, v in new.get("spec", {}).items() if k not in ("resources", "volumeName")}
        if a != b:
            raise invalid(kind, name, [("spec", "Forbidden: spec is immutable after creation "
                                                "except resources.requests")])
    elif kind == "PersistentVolume":
        immutable("spec.persistentvolumesource", _pv_source(old), _pv_source(new))
    if kind == "Namespace":
        new["spec"] = old.get("spec")
    check_labels(rt, new)
    return new


def _pv_source(pv: Obj) -> Any:
    spec = pv.get("spec") or {}
    return {k: spec.get(k) for k in ("nfs", "hostPath", "local", "csi")}


def check_namespace_usable(namespace: Obj | None, name: str) -> None:
    if namespace is None:
        raise ApiError(404, f'namespaces "{name}" not found',
                       details={"name": name, "kind": "namespaces"})
    if namespace["metadata"].get("deletionTimestamp"):
        raise ApiError(403, f"unable to create new content in namespace {name} because it is "
                            "being terminated", "Forbidden")
