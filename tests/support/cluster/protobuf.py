"""Decode the protobuf request bodies kubectl sends for `kubectl create secret|configmap|…`.

kubectl's typed clients post `application/vnd.kubernetes.protobuf`; only the few kinds those
commands create are described here (other kinds get 415 and the caller can use JSON).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from .errors import ApiError

MAGIC = b"k8s\x00"
Schema = dict[int, tuple[str, Any]]  # field number -> (json name, type)

STRING, BYTES, INT, BOOL = "string", "bytes", "int", "bool"
MAP_STR = ("map", STRING)
MAP_BYTES = ("map", BYTES)

OWNER_REF: Schema = {1: ("kind", STRING), 3: ("name", STRING), 4: ("uid", STRING),
                     5: ("apiVersion", STRING), 6: ("controller", BOOL),
                     7: ("blockOwnerDeletion", BOOL)}
OBJECT_META: Schema = {1: ("name", STRING), 2: ("generateName", STRING),
                       3: ("namespace", STRING), 5: ("uid", STRING),
                       6: ("resourceVersion", STRING), 7: ("generation", INT),
                       11: ("labels", MAP_STR), 12: ("annotations", MAP_STR),
                       13: ("ownerReferences", ("repeated", OWNER_REF)),
                       14: ("finalizers", ("repeated", STRING))}
OBJECT_REF: Schema = {1: ("kind", STRING), 2: ("namespace", STRING), 3: ("name", STRING),
                      4: ("uid", STRING), 5: ("apiVersion", STRING)}
SCHEMAS: dict[str, Schema] = {
    "Secret": {1: ("metadata", OBJECT_META), 2: ("data", MAP_BYTES), 3: ("type", STRING),
               4: ("stringData", MAP_STR), 5: ("immutable", BOOL)},
    "ConfigMap": {1: ("metadata", OBJECT_META), 2: ("data", MAP_STR),
                  3: ("binaryData", MAP_BYTES), 4: ("immutable", BOOL)},
    "Namespace": {1: ("metadata", OBJECT_META),
                  2: ("spec", {1: ("finalizers", ("repeated", STRING))})},
    "ServiceAccount": {1: ("metadata", OBJECT_META), 2: ("secrets", ("repeated", OBJECT_REF)),
                       3: ("imagePullSecrets", ("repeated", {1: ("name", STRING)})),
                       4: ("automountServiceAccountToken", BOOL)},
    "TokenRequest": {1: ("metadata", OBJECT_META),
                     2: ("spec", {1: ("audiences", ("repeated", STRING)),
                                  3: ("boundObjectRef", OBJECT_REF),
                                  4: ("expirationSeconds", INT)})},
}
SCHEMAS["SelfSubjectAccessReview"] = {
    1: ("metadata", OBJECT_META),
    2: ("spec", {1: ("resourceAttributes", {1: ("namespace", STRING), 2: ("verb", STRING),
                                            3: ("group", STRING), 4: ("version", STRING),
                                            5: ("resource", STRING), 6: ("subresource", STRING),
                                            7: ("name", STRING)}),
                 2: ("nonResourceAttributes", {1: ("path", STRING), 2: ("verb", STRING)})})}
_RULE: Schema = {1: ("verbs", ("repeated", STRING)), 2: ("apiGroups", ("repeated", STRING)),
                 3: ("resources", ("repeated", STRING)),
                 4: ("resourceNames", ("repeated", STRING)),
                 5: ("nonResourceURLs", ("repeated", STRING))}
_BINDING: Schema = {1: ("metadata", OBJECT_META),
                    2: ("subjects", ("repeated", {1: ("kind", STRING), 2: ("apiGroup", STRING),
                                                  3: ("name", STRING),
                                                  4: ("namespace", STRING)})),
                    3: ("roleRef", {1: ("apiGroup", STRING), 2: ("kind", STRING),
                                    3: ("name", STRING)})}
SCHEMAS["Role"] = SCHEMAS["ClusterRole"] = {1: ("metadata", OBJECT_META),
                                            2: ("rules", ("repeated", _RULE))}
SCHEMAS["RoleBinding"] = SCHEMAS["ClusterRoleBinding"] = _BINDING
SCHEMAS["DeleteOptions"] = {1: ("gracePeriodSeconds", INT),
                            2: ("preconditions", {1: ("uid", STRING),
                                                  2: ("resourceVersion", STRING)}),
                            3: ("orphanDependents", BOOL), 4: ("propagationPolicy", STRING),
                            5: ("dryRun", ("repeated", STRING))}
UNKNOWN: Schema = {1: ("typeMeta", {1: ("apiVersion", STRING), 2: ("kind", STRING)}),
                   2: ("raw", BYTES), 3: ("contentEncoding", STRING), 4: ("contentType", STRING)}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _fields(data: bytes) -> Iterator[tuple[int, Any]]:
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 1:
            value, pos = data[pos:pos + 8], pos + 8
        elif wire == 5:
            value, pos = data[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, value


def _scalar(kind: str, value: Any) -> Any:
    if kind == STRING:
        return value.decode()
    if kind == BYTES:
        return base64.b64encode(value).decode()
    if kind == BOOL:
        return bool(value)
    return int(value)


def decode_message(data: bytes, schema: Schema) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, value in _fields(data):
        if number not in schema:
            continue
        name, kind = schema[number]
        if isinstance(kind, dict):
            out[name] = decode_message(value, kind)
        elif isinstance(kind, tuple) and kind[0] == "map":
            entry = dict(_fields(value))
            key = entry.get(1, b"").decode()
            out.setdefault(name, {})[key] = _scalar(kind[1], entry.get(2, b""))
        elif isinstance(kind, tuple) and kind[0] == "repeated":
            item = decode_message(value, kind[1]) if isinstance(kind[1], dict) \
                else _scalar(kind[1], value)
            out.setdefault(name, []).append(item)
        else:
            out[name] = _scalar(kind, value)
    return out


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf-encoded object (with the `k8s\\0` envelope) as its JSON form."""
    if not body.startswith(MAGIC):
        raise ApiError(400, "protobuf body lacks the k8s envelope")
    envelope = decode_message(body[len(MAGIC):], UNKNOWN)
    type_meta = envelope.get("typeMeta") or {}
    kind = type_meta.get("kind", "")
    schema = SCHEMAS.get(kind)
    if schema is None:
        raise ApiError(415, f"the test cluster cannot decode protobuf for kind {kind!r}; "
                            "send application/json", "UnsupportedMediaType")
    obj = decode_message(base64.b64decode(envelope.get("raw", "")), schema)
    obj["apiVersion"] = type_meta.get("apiVersion", "v1")
    obj["kind"] = kind
    return obj
