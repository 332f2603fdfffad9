"""Every pod-bearing object passes the restricted-profile check; seeded violations are caught."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from kubecall.cluster.driver_job import DriverSpec, driver_job
from kubecall.cluster.stage import stage_job
from tests.manifests.conftest import OVERLAYS
from tests.manifests.restricted import pod_spec, violations


def pod_bearing(objects: list[dict]) -> list[dict]:
    return [o for o in objects if pod_spec(o) is not None]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_bearing_object_passes(rendered: dict, overlay: str) -> None:
    objects = pod_bearing(rendered[overlay])
    assert {o["metadata"]["name"] for o in objects} == {"minio", "minio-bucket",
                                                        "workspace-init"}
    for obj in objects:
        assert violations(obj) == []


def test_the_driver_job_passes() -> None:
    assert violations(driver_job(DriverSpec("r1", "kubecall", "c.yaml", "profiles/x"))) == []


def test_the_stage_job_passes() -> None:
    assert violations(stage_job("kubecall-stage-1", "kubecall", "/workspace", "img")) == []


def container(obj: dict, index: int = 0) -> dict:
    return pod_spec(obj)["containers"][index]  # type: ignore[index]


def set_sc(key: str, value: object) -> Callable[[dict], None]:
    return lambda o: container(o)["securityContext"].__setitem__(key, value)


SEEDED: dict[str, tuple[Callable[[dict], None], str]] = {
    "privileged": (set_sc("privileged", True), "privileged"),
    "escalation": (set_sc("allowPrivilegeEscalation", True), "allowPrivilegeEscalation"),
    "escalation-unset": (lambda o: container(o)["securityContext"].pop(
        "allowPrivilegeEscalation"), "allowPrivilegeEscalation"),
    "no-drop-all": (set_sc("capabilities", {"drop": ["NET_RAW"]}), "drop ALL"),
    "add-cap": (set_sc("capabilities", {"drop": ["ALL"], "add": ["SYS_ADMIN"]}),
                "adds capabilities"),
    "root-allowed": (lambda o: pod_spec(o)["securityContext"].pop("runAsNonRoot"),
                     "runAsNonRoot"),
    "root-user": (set_sc("runAsUser", 0), "runAsUser is 0"),
    "seccomp-unconfined": (set_sc("seccompProfile", {"type": "Unconfined"}), "seccompProfile"),
    "seccomp-unset": (lambda o: pod_spec(o)["securityContext"].pop("seccompProfile"),
                      "seccompProfile"),
    "writable-root": (set_sc("readOnlyRootFilesystem", False), "readOnlyRootFilesystem"),
    "hostpath": (lambda o: pod_spec(o)["volumes"].append(
        {"name": "h", "hostPath": {"path": "/"}}), "hostPath"),
    "inline-nfs": (lambda o: pod_spec(o)["volumes"].append(
        {"name": "n", "nfs": {"server": "x", "path": "/"}}), "nfs"),
    "host-network": (lambda o: pod_spec(o).__setitem__("hostNetwork", True), "hostNetwork"),
    "host-port": (lambda o: container(o)["ports"][0].__setitem__("hostPort", 9000), "hostPort"),
    "no-limits": (lambda o: container(o)["resources"].pop("limits"), "no limits.cpu"),
    "no-memory-request": (lambda o: container(o)["resources"]["requests"].pop("memory"),
                          "no requests.memory"),
}


@pytest.mark.parametrize("name", sorted(SEEDED))
def test_seeded_violation_is_caught(rendered: dict, name: str) -> None:
    minio = next(o for o in rendered["ehk"] if o["kind"] == "Deployment")
    broken = copy.deepcopy(minio)
    mutate, expected = SEEDED[name]
    mutate(broken)
    found = violations(broken)
    assert any(expected in problem for problem in found), found


def test_init_containers_are_checked_too(rendered: dict) -> None:
    job = copy.deepcopy(next(o for o in rendered["ehk"]
                             if o["metadata"]["name"] == "workspace-init"))
    pod_spec(job)["initContainers"][0]["securityContext"]["privileged"] = True
    assert violations(job) == ["Job workspace-init container make-layout: privileged"]
