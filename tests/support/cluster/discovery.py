"""Discovery documents and a minimal OpenAPI v3 (enough for kubectl's field validation)."""

from __future__ import annotations

from typing import Any

from .resources import RESOURCE_TYPES, ResourceType, group_versions

VERSION = {
    "major": "1", "minor": "32", "gitVersion": "v1.32.0-kubecall-test", "gitCommit": "test",
    "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23",
    "compiler": "gc", "platform": "linux/amd64",
}
SUBRESOURCE_VERBS = {
    "status": ["get", "patch", "update"], "scale": ["get", "patch", "update"],
    "log": ["get"], "eviction": ["create"], "binding": ["create"], "token": ["create"],
}
SUBRESOURCE_KINDS = {"scale": ("autoscaling", "v1", "Scale"), "log": ("", "v1", "Pod"),
                     "eviction": ("policy", "v1", "Eviction"), "binding": ("", "v1", "Binding"),
                     "token": ("authentication.k8s.io", "v1", "TokenRequest")}


def api_versions(address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]}


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_list() -> dict[str, Any]:
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group(g, vs) for g, vs in group_versions().items()]}


def api_group(name: str) -> dict[str, Any] | None:
    versions = group_versions().get(name)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def _resource_entries(rt: ResourceType) -> list[dict[str, Any]]:
    entries = [{
        "name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
        "kind": rt.kind, "verbs": list(rt.verbs), "shortNames": list(rt.short_names),
        "storageVersionHash": f"{rt.kind[:8]}hash",
    }]
    if rt.categories:
        entries[0]["categories"] = list(rt.categories)
    for sub in rt.subresources:
        group, version, kind = SUBRESOURCE_KINDS.get(sub, (rt.group, rt.version, rt.kind))
        entry: dict[str, Any] = {"name": f"{rt.plural}/{sub}", "singularName": "",
                                 "namespaced": rt.namespaced, "kind": kind,
                                 "verbs": SUBRESOURCE_VERBS.get(sub, ["get"])}
        if sub in SUBRESOURCE_KINDS and group != rt.group:
            entry.update(group=group, version=version)
        entries.append(entry)
    return entries


def api_resource_list(group_version: str) -> dict[str, Any] | None:
    types = [rt for rt in RESOURCE_TYPES if rt.group_version == group_version]
    if not types:
        return None
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": [e for rt in types for e in _resource_entries(rt)]}


def _url_prefix(group_version: str) -> str:
    return "api/v1" if group_version == "v1" else f"apis/{group_version}"


def openapi_v3_root() -> dict[str, Any]:
    gvs = {rt.group_version for rt in RESOURCE_TYPES}
    return {"paths": {_url_prefix(gv): {"serverRelativeURL": f"/openapi/v3/{_url_prefix(gv)}"
                                                             "?hash=kubecalltest"}
                      for gv in sorted(gvs)}}


def openapi_v3_document(prefix: str) -> dict[str, Any] | None:
    """Operations per resource advertising `fieldValidation`, so kubectl defers validation
    to the server instead of downloading schemas."""
    types = [rt for rt in RESOURCE_TYPES if _url_prefix(rt.group_version) == prefix]
    if not types:
        return None
    params = [{"name": n, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
              for n in ("fieldValidation", "fieldManager", "dryRun")]
    paths: dict[str, Any] = {}
    for rt in types:
        gvk = {"group": rt.group, "version": rt.version, "kind": rt.kind}
        base = f"/{prefix}/" + ("namespaces/{namespace}/" if rt.namespaced else "")
        op = {"x-kubernetes-group-version-kind": gvk, "parameters": params,
              "responses": {"200": {"description": "OK"}}}
        paths[f"{base}{rt.plural}"] = {"post": op}
        paths[f"{base}{rt.plural}/{{name}}"] = {"put": op, "patch": op}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": paths, "components": {"schemas": {}}}
