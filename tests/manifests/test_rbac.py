"""RBAC: no wildcards, nothing cluster-wide for the driver, exactly the executor's calls."""

from __future__ import annotations

import pytest

from tests.manifests.conftest import OVERLAYS

# What src/snakemake_executor_plugin_kubecall/k8s_api.py calls; tests/executor runs the whole
# workflow with this Role's token, so a call outside it fails there.
DRIVER_RULES = {
    ("batch", "jobs"): {"create", "get", "list", "delete", "deletecollection"},
    ("", "pods"): {"list", "watch", "deletecollection"},
    ("", "pods/log"): {"get"},
    ("", "events"): {"list"},
    ("", "limitranges"): {"list"},
}


def granted(role: dict) -> dict[tuple[str, str], set[str]]:
    result: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for group in rule.get("apiGroups") or []:
            for resource in rule.get("resources") or []:
                result.setdefault((group, resource), set()).update(rule.get("verbs") or [])
    return result


def wildcards(role: dict) -> list[str]:
    """Every wildcard (or non-resource URL) grant in a Role's rules."""
    found = []
    for rule in role["rules"]:
        for key in ("apiGroups", "resources", "verbs", "resourceNames"):
            found += [f"{key}: {value}" for value in rule.get(key) or [] if "*" in value]
        found += [f"nonResourceURLs: {url}" for url in rule.get("nonResourceURLs") or []]
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_wildcards_in_any_rule(rendered: dict, overlay: str) -> None:
    roles = [o for o in rendered[overlay] if o["kind"] in ("Role", "ClusterRole")]
    assert roles
    for role in roles:
        assert wildcards(role) == [], role["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_nothing_cluster_wide_for_the_driver(rendered: dict, overlay: str) -> None:
    kinds = {o["kind"] for o in rendered[overlay]}
    assert not kinds & {"ClusterRole", "ClusterRoleBinding"}
    (binding,) = [o for o in rendered[overlay] if o["kind"] == "RoleBinding"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": "kubecall-driver"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kubecall-driver",
                                    "namespace": "kubecall"}]


def test_driver_role_grants_exactly_the_executor_calls(rendered: dict) -> None:
    (role,) = [o for o in rendered["ehk"] if o["kind"] == "Role"]
    assert granted(role) == DRIVER_RULES


@pytest.mark.parametrize("rule,expected", [
    ({"apiGroups": ["batch"], "resources": ["*"], "verbs": ["get"]}, "resources: *"),
    ({"apiGroups": ["*"], "resources": ["jobs"], "verbs": ["get"]}, "apiGroups: *"),
    ({"apiGroups": [""], "resources": ["pods"], "verbs": ["*"]}, "verbs: *"),
    ({"nonResourceURLs": ["/metrics"], "verbs": ["get"]}, "nonResourceURLs: /metrics"),
])
def test_wildcard_detector_catches_seeded_wildcards(rule: dict, expected: str) -> None:
    assert wildcards({"rules": [rule]}) == [expected]
