"""Field management for server-side apply (``metadata.managedFields``), after the API server's
structured-merge-diff for built-in types (kubernetes.io/docs/reference/using-api/server-side-apply).

A field set is a set of paths, each a tuple of FieldsV1 elements: ``f:<field>``,
``k:<json of the key fields>`` (an item of a keyed list, the item itself being a member) and
``v:<json value>`` (an item of a set list). Members are leaves: scalars, atomic lists and
structs, empty maps, and keyed or set list items. Keyed lists are the strategic-merge lists
(``patching.MERGE_KEYS``, as the API server reads ``patchMergeKey`` without a listType), with
the multi-key lists Kubernetes declares; every other list is atomic.

- Apply: the applier's set becomes exactly its configuration's fields. A field it owned before
  and dropped is removed from the object unless another manager owns it; a field whose value
  it changes while another manager owns it is a conflict (409) unless forced, when the others
  lose it. The same value shared is co-owned.
- Update (create, PUT, any other PATCH): the writer's Update entry gains the fields it changed,
  every other manager loses them; removed fields leave every set.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .errors import ApiError
from .patching import MERGE_KEYS, SET_LISTS
from .store import Obj, now_iso

Path = tuple[str, ...]
FieldSet = set[Path]

# Keyed lists whose key has more than one field, and the defaults their keys take.
MULTI_KEYS: dict[str, tuple[str, ...]] = {
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
}
KEY_DEFAULTS = {"protocol": "TCP"}
# Structs and maps owned as a whole (+structType=atomic / +mapType=atomic): label selectors,
# a Service's selector, a pod's nodeSelector.
ATOMIC = {"selector", "podSelector", "namespaceSelector", "labelSelector", "nodeSelector"}
# Never tracked: identity and server-set metadata; status belongs to the status subresource.
UNTRACKED_TOP = {"apiVersion", "kind", "status"}
UNTRACKED_META = {"name", "namespace", "uid", "resourceVersion", "generation",
                  "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                  "selfLink", "managedFields"}
MAX_MANAGER_LENGTH = 128


def _list_keys(field: str, items: list[Any]) -> tuple[str, ...] | None:
    """The key fields of a keyed list, None for an atomic one."""
    if field == "ports":
        first = next((i for i in items if isinstance(i, dict)), {})
        return ("containerPort", "protocol") if "containerPort" in first else ("port", "protocol")
    if field in MULTI_KEYS:
        return MULTI_KEYS[field]
    if field in MERGE_KEYS and not field.endswith("Statuses") and field != "conditions":
        return (MERGE_KEYS[field],)
    return None


def _key(field: str, keys: tuple[str, ...], item: dict[str, Any]) -> str:
    values = {}
    for name in sorted(keys):
        value = item.get(name, KEY_DEFAULTS.get(name))
        if value is None:
            raise ApiError(422, f".{field}: associative list with keys has an element that "
                                f"omits key field \"{name}\" (and doesn't have default value)")
        values[name] = value
    return "k:" + json.dumps(values, separators=(",", ":"))


def _tracked(obj: Obj) -> Obj:
    """``obj`` without what field management ignores."""
    out = {k: v for k, v in obj.items() if k not in UNTRACKED_TOP}
    if isinstance(out.get("metadata"), dict):
        out["metadata"] = {k: v for k, v in out["metadata"].items() if k not in UNTRACKED_META}
        if not out["metadata"]:
            out.pop("metadata")
    return out


def fields(obj: Obj) -> FieldSet:
    """The field set of an object (or an apply configuration)."""
    found: FieldSet = set()
    _walk(_tracked(obj), (), found)
    return found


def _walk(value: dict[str, Any], prefix: Path, found: FieldSet) -> None:
    for field, child in value.items():
        path = prefix + (f"f:{field}",)
        if isinstance(child, dict) and child and field not in ATOMIC:
            _walk(child, path, found)
        elif isinstance(child, list) and child and field in SET_LISTS:
            found.update(path + (f"v:{json.dumps(v)}",) for v in child)
        elif isinstance(child, list) and child and all(isinstance(i, dict) for i in child) \
                and (keys := _list_keys(field, child)):
            for item in child:
                item_path = path + (_key(field, keys, item),)
                found.add(item_path)
                _walk(item, item_path, found)
        else:
            found.add(path)


def to_fields_v1(paths: FieldSet) -> Obj:
    """The FieldsV1 tree of a set: nested maps, ``.`` marking a member that has children."""
    tree: Obj = {}
    for path in paths:
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    for path in paths:
        node = tree
        for element in path:
            node = node[element]
        if node and "." not in node:
            node["."] = {}
    return tree


def from_fields_v1(tree: Obj, prefix: Path = ()) -> FieldSet:
    found: FieldSet = set()
    for element, child in tree.items():
        if element == ".":
            continue
        path = prefix + (element,)
        if not child or "." in child:
            found.add(path)
        found |= from_fields_v1(child, path)
    return found


def path_string(path: Path) -> str:
    """A path as the API server prints it: ``.spec.containers[name="c"].image``."""
    out = ""
    for element in path:
        kind, text = element[0], element[2:]
        if kind == "f":
            out += f".{text}"
        elif kind == "k":
            out += "[" + ",".join(f"{k}={json.dumps(v)}"
                                  for k, v in json.loads(text).items()) + "]"
        else:
            out += f"[={text}]"
    return out


# ---- reading and changing an object by path ---------------------------------------------------
_MISSING = object()


def _step(node: Any, element: str) -> tuple[Any, Any]:
    """(container, key) of one element below ``node``; key None when absent."""
    kind, text = element[0], element[2:]
    if kind == "f":
        return (node, text) if isinstance(node, dict) and text in node else (node, None)
    if not isinstance(node, list):
        return node, None
    for index, item in enumerate(node):
        if kind == "v" and item == json.loads(text):
            return node, index
        if kind == "k" and isinstance(item, dict) and all(
                item.get(k, KEY_DEFAULTS.get(k)) == v for k, v in json.loads(text).items()):
            return node, index
    return node, None


def get(obj: Obj, path: Path) -> Any:
    node: Any = obj
    for element in path:
        container, key = _step(node, element)
        if key is None:
            return _MISSING
        node = container[key]
    return node


def remove(obj: Obj, path: Path) -> None:
    """Remove one member, and the maps its removal leaves empty."""
    trail: list[tuple[Any, Any]] = []
    node: Any = obj
    for element in path:
        container, key = _step(node, element)
        if key is None:
            return
        trail.append((container, key))
        node = container[key]
    container, key = trail.pop()
    del container[key]
    while trail and container == {}:
        container, key = trail.pop()
        del container[key]


def merge(live: Any, applied: Any, field: str = "") -> Any:
    """The applied configuration merged into the live object: keyed lists item by item,
    set lists as sets, atomic lists and structs replaced."""
    if isinstance(applied, dict) and isinstance(live, dict) and field not in ATOMIC:
        result = copy.deepcopy(live)
        for key, value in applied.items():
            result[key] = merge(live.get(key), value, key)
        return result
    if isinstance(applied, list) and isinstance(live, list):
        if field in SET_LISTS:
            return copy.deepcopy(live) + [v for v in applied if v not in live]
        keys = _list_keys(field, applied + live) if all(
            isinstance(i, dict) for i in applied + live) else None
        if keys:
            result = copy.deepcopy(live)
            for item in applied:
                _, index = _step(result, _key(field, keys, item))
                if index is None:
                    result.append(copy.deepcopy(item))
                else:
                    result[index] = merge(result[index], item, field)
            return result
    return copy.deepcopy(applied)


# ---- managedFields entries --------------------------------------------------------------------
def _entries(obj: Obj | None) -> list[Obj]:
    return copy.deepcopy(((obj or {}).get("metadata") or {}).get("managedFields") or [])


def _entry(manager: str, operation: str, api_version: str, paths: FieldSet,
           subresource: str) -> Obj:
    entry = {"manager": manager, "operation": operation, "apiVersion": api_version,
             "time": now_iso(), "fieldsType": "FieldsV1", "fieldsV1": to_fields_v1(paths)}
    if subresource:
        entry["subresource"] = subresource
    return entry


def _is(entry: Obj, manager: str, operation: str, subresource: str) -> bool:
    return (entry.get("manager"), entry.get("operation"), entry.get("subresource", "")) == \
        (manager, operation, subresource)


def _owner(entry: Obj) -> str:
    """A manager as conflict messages name it."""
    text = json.dumps(entry.get("manager", ""))
    if entry.get("subresource"):
        text += f" with subresource {json.dumps(entry['subresource'])}"
    if entry.get("operation") == "Update":
        text += f" using {entry.get('apiVersion')}"
    return text


def _conflict(conflicts: list[tuple[Obj, Path]]) -> ApiError:
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {_owner(e)}",
               "field": path_string(p)} for e, p in conflicts]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        message = f"Apply failed with 1 conflict: conflict with {_owner(entry)}: " \
                  f"{path_string(path)}"
    else:
        lines = []
        for owner in sorted({_owner(e) for e, _ in conflicts}):
            lines.append(f"conflicts with {owner}:")
            lines += [f"- {path_string(p)}" for e, p in conflicts if _owner(e) == owner]
        message = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(lines)
    return ApiError(409, message, "Conflict", details={"causes": causes})


def check_manager(manager: str) -> None:
    if not manager:
        raise ApiError(422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required '
                            "value: is required for apply patch")
    if len(manager) > MAX_MANAGER_LENGTH:
        raise ApiError(422, f'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Too long: '
                            f"may not be more than {MAX_MANAGER_LENGTH} bytes")


def apply(live: Obj | None, applied: Obj, manager: str, force: bool, api_version: str
          ) -> Obj:
    """The object after ``manager`` applies ``applied`` to ``live`` (None: it is created),
    with its managedFields; raises the 409 of an unforced conflict."""
    check_manager(manager)
    if (applied.get("metadata") or {}).get("managedFields"):
        raise ApiError(400, "metadata.managedFields must be nil")
    current = live or {}
    entries = _entries(live)
    mine = next((e for e in entries if _is(e, manager, "Apply", "")), None)
    others = [e for e in entries if e is not mine and not e.get("subresource")]
    owned_by_others = set().union(*(from_fields_v1(e["fieldsV1"]) for e in others))
    wanted = fields(applied)
    result = merge(copy.deepcopy(current), applied) if live else copy.deepcopy(applied)
    previous = from_fields_v1(mine["fieldsV1"]) if mine else set()
    # Parents first: removing a list item takes its fields (found by its key) with it.
    for path in sorted(previous - wanted, key=len):
        if not any(o[:len(path)] == path for o in owned_by_others):
            remove(result, path)
    changed = {p for p in wanted if get(current, p) != get(result, p)}
    conflicts = [(e, p) for e in others
                 for p in sorted(from_fields_v1(e["fieldsV1"]) & changed)]
    if conflicts and not force:
        raise _conflict(conflicts)
    kept = []
    for entry in entries:
        if entry is mine:
            continue
        if not entry.get("subresource"):
            left = from_fields_v1(entry["fieldsV1"]) - changed
            if not left:
                continue
            entry["fieldsV1"] = to_fields_v1(left)
        kept.append(entry)
    if wanted:
        kept.append(_entry(manager, "Apply", api_version, wanted, ""))
    result.setdefault("metadata", {})["managedFields"] = kept
    return result


def update(old: Obj | None, new: Obj, manager: str, api_version: str) -> list[Obj]:
    """The managedFields after ``manager`` writes ``new`` over ``old`` (None: a create)."""
    sent = (new.get("metadata") or {}).get("managedFields")
    if sent == [{}]:
        entries: list[Obj] = []  # the documented reset
    elif sent and sent != ((old or {}).get("metadata") or {}).get("managedFields"):
        entries = copy.deepcopy(sent)
    else:
        entries = _entries(old)
    before, after = fields(old or {}), fields(new)
    changed = {p for p in after if get(old or {}, p) != get(new, p)}
    removed = before - after
    gone = changed | removed
    kept = []
    mine: FieldSet = set()
    for entry in entries:
        owned = {p for p in from_fields_v1(entry["fieldsV1"])
                 if not any(p[:len(g)] == g for g in removed)}
        if _is(entry, manager, "Update", ""):
            mine = owned
            continue
        if not entry.get("subresource"):
            owned -= gone
        if owned:
            entry["fieldsV1"] = to_fields_v1(owned)
            kept.append(entry)
    mine |= changed
    if mine:
        kept.append(_entry(manager, "Update", api_version, mine, ""))
    return kept


def manager_from_user_agent(user_agent: str) -> str:
    """The manager of a write without ``fieldManager``: the User-Agent up to its first ``/``,
    printable characters only, at most 128."""
    name = "".join(c for c in user_agent.split("/")[0] if c.isprintable())
    return name[:MAX_MANAGER_LENGTH]
