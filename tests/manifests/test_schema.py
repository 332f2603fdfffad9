"""Every rendered object validates offline against the Kubernetes OpenAPI schemas (strict)."""

from __future__ import annotations

import copy

import pytest

from kubecall.cluster.driver_job import DriverSpec, driver_job
from tests.manifests.conftest import OVERLAYS

kubernetes_validate = pytest.importorskip("kubernetes_validate")
from kubernetes_validate import utils as kv  # noqa: E402

OLDEST_SUPPORTED = "1.30.0"
VERSIONS = (OLDEST_SUPPORTED, kv.latest_version())


def validate(obj: dict, version: str) -> None:
    kv.validate(obj, version, strict=True)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_objects_validate_strictly(rendered: dict, overlay: str, version: str) -> None:
    for obj in rendered[overlay]:
        validate(obj, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_driver_job_validates_strictly(version: str) -> None:
    validate(driver_job(DriverSpec("r1", "kubecall", "config.yaml", "profiles/default")),
             version)


@pytest.mark.parametrize("mutate", [
    lambda o: o["spec"].__setitem__("replicaz", 1),                      # unknown field
    lambda o: o["spec"].__setitem__("replicas", "one"),                  # wrong type
    lambda o: o["spec"]["template"]["spec"]["containers"][0].pop("name"),  # required field
], ids=["unknown-field", "wrong-type", "missing-required"])
def test_a_broken_object_is_rejected(rendered: dict, mutate: object) -> None:
    minio = next(o for o in rendered["ehk"] if o["kind"] == "Deployment")
    broken = copy.deepcopy(minio)
    mutate(broken)  # type: ignore[operator]
    with pytest.raises(kv.ValidationError):
        validate(broken, VERSIONS[-1])
