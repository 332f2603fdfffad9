"""Pure pieces: patch semantics, selectors, quantities, protobuf decoding."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.support.cluster import mountpoints
from tests.support.cluster.errors import ApiError
from tests.support.cluster.patching import json_patch, merge_patch, strategic_merge
from tests.support.cluster.protobuf import decode
from tests.support.cluster.selection import (
    parse_field_selector,
    parse_label_selector,
    selector_from_spec,
)
from tests.support.cluster.volumes import quantity_bytes


def test_merge_patch_deletes_with_null_and_replaces_lists() -> None:
    doc = {"a": {"b": 1, "c": 2}, "l": [1, 2]}
    assert merge_patch(doc, {"a": {"b": None, "d": 3}, "l": [3]}) == \
        {"a": {"c": 2, "d": 3}, "l": [3]}


def test_json_patch_operations_and_failures() -> None:
    doc = {"a": [1, 2], "b": {"c": 1}}
    out = json_patch(doc, [{"op": "add", "path": "/a/-", "value": 3},
                           {"op": "replace", "path": "/b/c", "value": 2},
                           {"op": "move", "from": "/b/c", "path": "/d"},
                           {"op": "test", "path": "/d", "value": 2}])
    assert out == {"a": [1, 2, 3], "b": {}, "d": 2}
    with pytest.raises(ApiError) as err:
        json_patch(doc, [{"op": "remove", "path": "/missing"}])
    assert err.value.code == 422


def test_strategic_merge_keyed_lists_and_directives() -> None:
    spec = {"containers": [{"name": "a", "image": "1", "env": [{"name": "X", "value": "1"}]},
                           {"name": "b", "image": "1"}],
            "finalizers": ["f1"], "volumes": [{"name": "v", "emptyDir": {}}]}
    patch = {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]},
                            {"name": "b", "$patch": "delete"}, {"name": "c", "image": "3"}],
             "finalizers": ["f2"], "volumes": [{"$patch": "replace"}, {"name": "w"}],
             "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}]}
    out = strategic_merge(spec, patch)
    assert [c["name"] for c in out["containers"]] == ["c", "a"]
    assert out["containers"][1]["env"] == [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]
    assert out["finalizers"] == ["f1", "f2"]
    assert out["volumes"] == [{"name": "w"}]
    assert strategic_merge({"a": {"b": 1}}, {"a": {"$patch": "replace", "c": 2}}) == \
        {"a": {"c": 2}}
    assert strategic_merge({"a": 1, "b": 2}, {"$retainKeys": ["a"], "a": 3}) == {"a": 3}


def test_label_and_field_selectors() -> None:
    match = parse_label_selector("app=web,tier in (a, b),!legacy,env!=prod")
    assert match({"app": "web", "tier": "a", "env": "dev"})
    assert not match({"app": "web", "tier": "c"})
    assert not match({"app": "web", "tier": "a", "legacy": "1"})
    pod = {"metadata": {"name": "p"}, "status": {"phase": "Running"}}
    assert parse_field_selector("metadata.name=p,status.phase!=Failed")(pod)
    assert not parse_field_selector("status.phase=Pending")(pod)
    expr = selector_from_spec({"matchLabels": {"a": "1"}, "matchExpressions": [
        {"key": "b", "operator": "NotIn", "values": ["x"]}]})
    assert expr({"a": "1", "b": "y"}) and not expr({"a": "1", "b": "x"})
    with pytest.raises(ApiError):
        parse_label_selector("a in (b")


def test_quantities() -> None:
    assert quantity_bytes("64Mi") == 64 * 2**20
    assert quantity_bytes("1G") == 10**9
    assert quantity_bytes("1500") == 1500
    assert quantity_bytes(None) is None


def _field(number: int, payload: bytes) -> bytes:
    return bytes([(number << 3) | 2, len(payload)]) + payload


def test_protobuf_secret_envelope_decodes() -> None:
    meta = _field(1, b"minio") + _field(11, _field(1, b"app") + _field(2, b"x"))
    secret = _field(1, meta) + _field(2, _field(1, b"user") + _field(2, b"admin")) + \
        _field(3, b"Opaque")
    envelope = b"k8s\x00" + _field(1, _field(1, b"v1") + _field(2, b"Secret")) + \
        _field(2, secret)
    obj = decode(envelope)
    assert obj["kind"] == "Secret" and obj["metadata"] == {"name": "minio",
                                                           "labels": {"app": "x"}}
    assert base64.b64decode(obj["data"]["user"]) == b"admin" and obj["type"] == "Opaque"


def test_mount_points_are_removed_when_the_last_cluster_releases_them(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b"
    mountpoints.claim(1, target)
    target.mkdir(parents=True)  # what the sandbox does inside the pod's namespace
    mountpoints.claim(2, target)
    mountpoints.release(1)
    assert target.exists()
    mountpoints.release(2)
    assert not (tmp_path / "a").exists() and tmp_path.exists()
