"""Unknown-field detection and pruning, from the `kubernetes` client's generated models.

The real API server drops fields its schema does not know (with a warning) or, under
`fieldValidation=Strict` (kubectl's default), rejects the request. The client's models carry
the same schema: `openapi_types` (field -> type) and `attribute_map` (field -> JSON name).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from kubernetes.client import models

from .resources import ResourceType

PRIMITIVES = {"str", "int", "bool", "float", "datetime", "date", "object", "bytes"}


@cache
def _fields(type_name: str) -> dict[str, str] | None:
    """JSON field name -> type name for a model, or None when the model is unknown."""
    model = getattr(models, type_name, None)
    if model is None or not hasattr(model, "openapi_types"):
        return None
    json_names = getattr(model, "attribute_map", {})
    return {json_names.get(attr, attr): kind for attr, kind in model.openapi_types.items()}


def model_for(rt: ResourceType) -> str | None:
    version = rt.version[0].upper() + rt.version[1:]
    for name in (f"{version}{rt.kind}", f"Core{version}{rt.kind}"):
        if _fields(name) is not None:
            return name
    return None


def prune_unknown(value: Any, type_name: str, path: str = "") -> list[str]:
    """Remove fields the schema does not know from `value` (in place); return their paths."""
    if value is None or type_name in PRIMITIVES:
        return []
    if type_name.startswith("List[") and isinstance(value, list):
        inner = type_name[5:-1]
        return [p for n, item in enumerate(value) for p in prune_unknown(item, inner,
                                                                         f"{path}[{n}]")]
    if type_name.startswith("Dict[") and isinstance(value, dict):
        inner = type_name[type_name.index(",") + 1:-1].strip()
        return [p for key, item in value.items() for p in prune_unknown(item, inner,
                                                                        f"{path}.{key}")]
    fields = _fields(type_name)
    if fields is None or not isinstance(value, dict):
        return []
    unknown: list[str] = []
    for key in list(value):
        where = f"{path}.{key}" if path else key
        if key not in fields:
            unknown.append(where)
            del value[key]
        else:
            unknown += prune_unknown(value[key], fields[key], where)
    return unknown


def unknown_fields(rt: ResourceType, obj: dict[str, Any]) -> list[str]:
    """Prune `obj` (in place) to its kind's schema; the pruned field paths."""
    name = model_for(rt)
    return prune_unknown(obj, name) if name else []
