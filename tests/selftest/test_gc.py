"""The garbage collector's rules (kube-controller-manager): dangling, solid and waiting owner
references, blockOwnerDeletion in foreground deletion, owners looked up in the dependent's
namespace."""

from __future__ import annotations

from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.support.cluster.helpers import new_namespace, wait_for


def owner_ref(owner: client.V1ConfigMap, block: bool | None = None) -> dict:
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": owner.metadata.name,
           "uid": owner.metadata.uid}
    if block is not None:
        ref["blockOwnerDeletion"] = block
    return ref


def make(core: client.CoreV1Api, ns: str, name: str, *refs: dict,
         finalizers: list[str] | None = None) -> client.V1ConfigMap:
    meta: dict = {"name": name, "ownerReferences": list(refs)}
    if finalizers:
        meta["finalizers"] = finalizers
    return core.create_namespaced_config_map(ns, {"metadata": meta})


def names(core: client.CoreV1Api, ns: str) -> set[str]:
    return {i.metadata.name for i in core.list_namespaced_config_map(ns).items} - \
        {"kube-root-ca.crt"}


def gone(core: client.CoreV1Api, ns: str, name: str) -> bool:
    try:
        core.read_namespaced_config_map(name, ns)
        return False
    except ApiException as exc:
        return exc.status == 404


def release(core: client.CoreV1Api, ns: str, name: str) -> None:
    core.patch_namespaced_config_map(name, ns, {"metadata": {"finalizers": None}})


def test_a_dependent_with_a_solid_owner_stays_and_loses_the_dangling_one(
        api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    first, second = make(core, ns, "first"), make(core, ns, "second")
    make(core, ns, "shared", owner_ref(first), owner_ref(second))
    core.delete_namespaced_config_map("first", ns, propagation_policy="Background")

    def refs() -> list[str] | None:
        found = core.read_namespaced_config_map("shared", ns).metadata.owner_references or []
        names_ = [r.name for r in found]
        return names_ if names_ == ["second"] else None
    assert wait_for(refs, what="the dangling reference to be removed") == ["second"]
    core.delete_namespaced_config_map("second", ns, propagation_policy="Background")
    wait_for(lambda: gone(core, ns, "shared"), what="the dependent of its last owner")


def test_a_dependent_of_an_owner_that_never_existed_is_collected(
        api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_config_map(ns, {"metadata": {"name": "owner"}})
    make(core, ns, "lost", {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                            "uid": "00000000-0000-0000-0000-000000000000"})
    wait_for(lambda: gone(core, ns, "lost"), what="the dependent of a wrong uid")
    assert names(core, ns) == {"owner"}


def test_an_owner_is_looked_for_in_the_dependents_namespace(
        api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    elsewhere = new_namespace(api)
    owner = make(core, elsewhere, "owner")
    make(core, ns, "cross", owner_ref(owner))
    wait_for(lambda: gone(core, ns, "cross"), what="a dependent of another namespace's owner")
    assert names(core, elsewhere) == {"owner"}


def test_foreground_deletion_waits_only_for_blocking_dependents(
        api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    owner = make(core, ns, "owner")
    make(core, ns, "blocking", owner_ref(owner, block=True), finalizers=["test.io/hold"])
    make(core, ns, "free", owner_ref(owner, block=False))
    core.delete_namespaced_config_map("owner", ns, propagation_policy="Foreground")
    wait_for(lambda: gone(core, ns, "free"), what="the non-blocking dependent")
    # Both dependents were deleted; the blocking one is held by its finalizer, and so
    # the owner waits, with its deletionTimestamp and the foregroundDeletion finalizer.
    held = core.read_namespaced_config_map("blocking", ns).metadata
    waiting = core.read_namespaced_config_map("owner", ns).metadata
    assert held.deletion_timestamp and waiting.deletion_timestamp
    assert waiting.finalizers == ["foregroundDeletion"]
    release(core, ns, "blocking")
    wait_for(lambda: gone(core, ns, "owner"), what="the owner once its blocker is gone")


def test_a_non_blocking_dependent_does_not_hold_a_foreground_deletion(
        api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    owner = make(core, ns, "owner")
    make(core, ns, "slow", owner_ref(owner), finalizers=["test.io/hold"])
    core.delete_namespaced_config_map("owner", ns, propagation_policy="Foreground")
    wait_for(lambda: gone(core, ns, "owner"), what="the owner")
    assert core.read_namespaced_config_map("slow", ns).metadata.deletion_timestamp
    release(core, ns, "slow")
    wait_for(lambda: gone(core, ns, "slow"), what="the released dependent")


def test_deleting_an_owner_pod_deletes_the_jobs_it_owns_and_their_pods(
        api: client.ApiClient, ns: str) -> None:
    core, batch = client.CoreV1Api(api), client.BatchV1Api(api)
    driver = core.create_namespaced_pod(ns, {"metadata": {"name": "driver"}, "spec": {
        "restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "main", "image": "debian:12", "command": ["sleep", "600"]}]}})
    ref = {"apiVersion": "v1", "kind": "Pod", "name": "driver", "uid": driver.metadata.uid}
    batch.create_namespaced_job(ns, {"metadata": {"name": "work", "ownerReferences": [ref]},
                                     "spec": {"backoffLimit": 0, "template": {"spec": {
                                         "restartPolicy": "Never", "containers": [{
                                             "name": "main", "image": "debian:12",
                                             "command": ["sleep", "600"]}]}}}})
    wait_for(lambda: core.list_namespaced_pod(ns, label_selector="job-name=work").items,
             what="the Job's pod")
    core.delete_namespaced_pod("driver", ns)

    def all_gone() -> bool:
        return not batch.list_namespaced_job(ns).items and \
            not core.list_namespaced_pod(ns).items
    wait_for(all_gone, timeout=300, what="the owned Job and its pod to be collected")
