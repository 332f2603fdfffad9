"""What kubecall's server-side apply owns on a live object (its ``managedFields`` entry) that
the manifests no longer set: applying again removes exactly those fields."""

from __future__ import annotations

import json
from typing import Any

from kubecall.cluster.contract import Obj
from kubecall.cluster.kube import FIELD_MANAGER


def applied_fields(live: Obj, manager: str = FIELD_MANAGER) -> Obj:
    """The FieldsV1 tree of ``manager``'s Apply entry ({} when it applied nothing)."""
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply" \
                and not entry.get("subresource"):
            return entry.get("fieldsV1") or {}
    return {}


def _item(items: Any, element: str) -> Any:
    """The list item a ``k:`` or ``v:`` element names, or None."""
    if not isinstance(items, list):
        return None
    wanted = json.loads(element[2:])
    for item in items:
        if element.startswith("v:") and item == wanted:
            return item
        # A key field the manifest leaves out (a port's protocol) took its default.
        if element.startswith("k:") and isinstance(item, dict) and all(
                item.get(key, value) == value for key, value in wanted.items()):
            return item
    return None


def _label(element: str) -> str:
    if element.startswith("f:"):
        return "." + element[2:]
    keys = json.loads(element[2:])
    if element.startswith("v:"):
        return f"[={json.dumps(keys)}]"
    return "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]"


def dropped_fields(owned: Obj, desired: Any, prefix: str = "") -> list[str]:
    """Paths in ``owned`` (a FieldsV1 tree) that ``desired`` no longer sets, as the API server
    prints them (``.spec.template.spec.containers[name="c"].args``)."""
    found: list[str] = []
    for element, below in owned.items():
        if element == ".":
            continue
        path = prefix + _label(element)
        if element.startswith("f:"):
            present = isinstance(desired, dict) and element[2:] in desired
            child = desired.get(element[2:]) if present else None
        else:
            child = _item(desired, element)
            present = child is not None
        if not present:
            found.append(path)
        elif below:
            found += dropped_fields(below, child, path)
    return found
