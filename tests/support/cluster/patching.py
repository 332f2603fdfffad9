"""Patch semantics: JSON merge patch, JSON patch and strategic merge patch (common cases)."""

from __future__ import annotations

import copy
from typing import Any

from .errors import ApiError

# Lists merged element-wise by key in strategic merge patches (field name -> merge key).
MERGE_KEYS: dict[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "volumeDevices": "devicePath",
    "imagePullSecrets": "name",
    "conditions": "type",
    "ownerReferences": "uid",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "containerStatuses": "name",
    "initContainerStatuses": "name",
}
# Primitive lists that strategic merge treats as sets.
SET_LISTS = {"finalizers"}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(doc, list):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            if part not in doc:
                raise KeyError(part)
            doc = doc[part]
        else:
            raise KeyError(part)
    return doc


def json_patch(doc: Any, operations: list[dict[str, Any]]) -> Any:
    """RFC 6902 JSON patch (add, remove, replace, move, copy, test)."""
    doc = copy.deepcopy(doc)
    if not isinstance(operations, list):
        raise ApiError(400, "JSON patch must be a list of operations")
    for op in operations:
        try:
            doc = _apply_op(doc, op)
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise ApiError(422, f"the JSON patch operation {op} failed: {exc}") from exc
    return doc


def _apply_op(doc: Any, op: dict[str, Any]) -> Any:
    kind = op.get("op")
    parts = _pointer(op.get("path", ""))
    if kind == "test":
        if _walk(doc, parts) != op.get("value"):
            raise ValueError("test failed")
        return doc
    if kind in ("move", "copy"):
        value = copy.deepcopy(_walk(doc, _pointer(op["from"])))
        if kind == "move":
            doc = _apply_op(doc, {"op": "remove", "path": op["from"]})
        return _apply_op(doc, {"op": "add", "path": op["path"], "value": value})
    if not parts:
        if kind in ("add", "replace"):
            return copy.deepcopy(op["value"])
        raise ValueError("cannot remove the document root")
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if kind == "add":
        if isinstance(parent, list):
            index = len(parent) if last == "-" else int(last)
            if index > len(parent):
                raise IndexError(last)
            parent.insert(index, copy.deepcopy(op["value"]))
        else:
            parent[last] = copy.deepcopy(op["value"])
    elif kind == "remove":
        if isinstance(parent, list):
            del parent[int(last)]
        else:
            del parent[last]
    elif kind == "replace":
        if isinstance(parent, list):
            parent[int(last)] = copy.deepcopy(op["value"])
        else:
            if last not in parent:
                raise KeyError(last)
            parent[last] = copy.deepcopy(op["value"])
    else:
        raise ValueError(f"unknown op {kind!r}")
    return doc


def _merge_key(field: str, items: list[Any]) -> str | None:
    if field == "ports":
        sample = next((i for i in items if isinstance(i, dict)), {})
        return "containerPort" if "containerPort" in sample else "port"
    return MERGE_KEYS.get(field)


def strategic_merge(target: Any, patch: Any) -> Any:
    """Strategic merge patch for the common cases: keyed lists, `$patch`, `$retainKeys`,
    `$setElementOrder/…` and `$deleteFromPrimitiveList/…` directives."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys") or key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        elif isinstance(value, list):
            result[key] = _merge_list(key, result.get(key), value)
        elif isinstance(value, dict):
            merged = strategic_merge(result.get(key), value)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        else:
            result[key] = value
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    for key in patch:
        if key.startswith("$setElementOrder/"):
            _reorder(result, key.split("/", 1)[1], patch[key])
    return result


def _merge_list(field: str, current: Any, patch: list[Any]) -> list[Any]:
    current = copy.deepcopy(current) if isinstance(current, list) else []
    if field in SET_LISTS:
        return current + [v for v in patch if v not in current]
    key = _merge_key(field, patch + current)
    if key is None or not all(isinstance(i, dict) for i in patch):
        if any(isinstance(i, dict) and i.get("$patch") == "replace" for i in patch):
            return [i for i in patch if not (isinstance(i, dict) and "$patch" in i)]
        return copy.deepcopy(patch)
    for item in patch:
        if item.get("$patch") == "replace" and len(item) == 1:
            current = []
            continue
        index = next((n for n, c in enumerate(current)
                      if isinstance(c, dict) and c.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del current[index]
        elif index is None:
            current.append({k: v for k, v in item.items() if k != "$patch"})
        else:
            current[index] = strategic_merge(current[index], item)
    return current


def _reorder(result: dict[str, Any], field: str, order: list[Any]) -> None:
    items = result.get(field)
    if not isinstance(items, list):
        return
    key = _merge_key(field, items)

    def position(item: Any) -> int:
        probe = {key: item.get(key)} if key and isinstance(item, dict) else item
        for n, wanted in enumerate(order):
            if wanted == probe or (key and isinstance(wanted, dict)
                                   and wanted.get(key) == probe.get(key)):
                return n
        return len(order)

    result[field] = sorted(items, key=position)
