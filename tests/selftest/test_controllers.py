"""Controllers: jobs, deployments and persistent-volume binding/provisioning."""

from __future__ import annotations

from collections.abc import Callable

from kubernetes import client

from tests.support.cluster.cluster import Cluster
from tests.support.cluster.helpers import api_client, assert_schema_clean, wait_for
from tests.support.cluster.plugin import ClusterFactory


def job(name: str, command: list[str], **spec: object) -> dict:
    body = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [
                {"name": "main", "image": "debian:12", "command": command}]}}}}
    body["spec"].update(spec)
    return body


def finished(batch: client.BatchV1Api, ns: str, name: str) -> client.V1Job:
    def check() -> client.V1Job | None:
        got = batch.read_namespaced_job_status(name, ns)
        types = {c.type for c in got.status.conditions or [] if c.status == "True"}
        return got if types & {"Complete", "Failed"} else None
    return wait_for(check, 30, f"job {name} to finish")


def condition(j: client.V1Job, kind: str) -> client.V1JobCondition:
    return next(c for c in j.status.conditions if c.type == kind)


def job_pods(core: client.CoreV1Api, ns: str, name: str) -> list[client.V1Pod]:
    return core.list_namespaced_pod(ns, label_selector=f"job-name={name}").items


def test_job_completes_and_its_pod_is_owned(api: client.ApiClient, ns: str) -> None:
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job(ns, job("ok", ["sh", "-c", "echo done"]))
    got = finished(batch, ns, "ok")
    assert condition(got, "Complete").status == "True"
    assert got.status.succeeded == 1 and got.status.start_time and got.status.completion_time
    pods = job_pods(core, ns, "ok")
    assert len(pods) == 1 and pods[0].metadata.owner_references[0].uid == got.metadata.uid
    assert core.read_namespaced_pod_log(pods[0].metadata.name, ns) == "done\n"


def test_job_parallelism_completions_and_suspend(api: client.ApiClient, ns: str) -> None:
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job(ns, job("multi", ["true"], completions=3, parallelism=2))
    got = finished(batch, ns, "multi")
    assert got.status.succeeded == 3 and len(job_pods(core, ns, "multi")) == 3
    batch.create_namespaced_job(ns, job("paused", ["true"], suspend=True))

    def suspended() -> bool:
        status = batch.read_namespaced_job_status("paused", ns).status
        return any(c.type == "Suspended" and c.status == "True" for c in status.conditions or [])
    wait_for(suspended, what="the Suspended condition")
    assert job_pods(core, ns, "paused") == []
    batch.patch_namespaced_job("paused", ns, {"spec": {"suspend": False}})
    got = finished(batch, ns, "paused")
    assert got.status.succeeded == 1
    assert condition(got, "Suspended").status == "False"


def test_job_backoff_limit(api: client.ApiClient, ns: str) -> None:
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job(ns, job("bad", ["false"], backoffLimit=1))
    got = finished(batch, ns, "bad")
    assert condition(got, "Failed").reason == "BackoffLimitExceeded"
    assert got.status.failed == 2
    assert len(job_pods(core, ns, "bad")) == 2


def test_job_active_deadline_kills_its_pods(api: client.ApiClient, ns: str) -> None:
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job(ns, job("slow", ["sleep", "300"], activeDeadlineSeconds=1))
    got = finished(batch, ns, "slow")
    assert condition(got, "Failed").reason == "DeadlineExceeded"
    wait_for(lambda: all(p.status.phase == "Failed" for p in job_pods(core, ns, "slow")),
             what="the deadline-exceeded job's pods to stop")


def test_job_ttl_after_finished_deletes_job_and_pods(api: client.ApiClient, ns: str) -> None:
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job(ns, job("ttl", ["true"], ttlSecondsAfterFinished=0))

    def gone() -> bool:
        return not batch.list_namespaced_job(ns).items and not job_pods(core, ns, "ttl")
    wait_for(gone, 30, "the finished job and its pods to be deleted")


def test_pod_failure_policy_fail_job_and_ignore_disruption(
        k8s_cluster_module: Cluster, api: client.ApiClient, ns: str) -> None:
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    policy = {"rules": [
        {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}},
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}]}
    batch.create_namespaced_job(ns, job("fatal", ["sh", "-c", "exit 42"], backoffLimit=5,
                                        podFailurePolicy=policy))
    got = finished(batch, ns, "fatal")
    assert condition(got, "Failed").reason == "PodFailurePolicy"
    assert len(job_pods(core, ns, "fatal")) == 1

    batch.create_namespaced_job(ns, job("evicted", ["sleep", "300"], backoffLimit=0,
                                        podFailurePolicy=policy))

    def running_pod() -> str | None:
        pods = [p for p in job_pods(core, ns, "evicted") if p.status.phase == "Running"]
        return pods[0].metadata.name if pods else None
    first = wait_for(running_pod, what="the job's pod to run")
    k8s_cluster_module.evict_pod(ns, first)
    second = wait_for(lambda: (name := running_pod()) and name != first and name,
                      what="a replacement pod after the eviction")
    got = batch.read_namespaced_job_status("evicted", ns)
    assert not got.status.failed and not any(c.type == "Failed"
                                             for c in got.status.conditions or [])
    assert second != first
    batch.delete_namespaced_job("evicted", ns, propagation_policy="Foreground")
    wait_for(lambda: not job_pods(core, ns, "evicted"), what="foreground job deletion")


def test_background_deletion_of_a_running_job_removes_its_pods(
        api: client.ApiClient, ns: str) -> None:
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job(ns, job("bg", ["sleep", "300"]))
    wait_for(lambda: any(p.status.phase == "Running" for p in job_pods(core, ns, "bg")),
             what="the job's pod to run")
    batch.delete_namespaced_job("bg", ns, propagation_policy="Background")
    wait_for(lambda: not job_pods(core, ns, "bg") and not batch.list_namespaced_job(ns).items,
             what="the job and its running pod to be deleted")


def test_job_deletion_orphans_pods_by_default(api: client.ApiClient, ns: str) -> None:
    batch, core = client.BatchV1Api(api), client.CoreV1Api(api)
    batch.create_namespaced_job(ns, job("orphan", ["true"]))
    finished(batch, ns, "orphan")
    batch.delete_namespaced_job("orphan", ns)
    wait_for(lambda: not batch.list_namespaced_job(ns).items, what="job deletion")
    pods = job_pods(core, ns, "orphan")
    assert len(pods) == 1 and not pods[0].metadata.owner_references


def deployment(name: str, replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": {
                         "containers": [{"name": "c", "image": "srv:1",
                                         "command": ["sleep", "300"]}]}}}}


def test_deployment_keeps_replicas_and_scales(api: client.ApiClient, ns: str) -> None:
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    apps.create_namespaced_deployment(ns, deployment("web", 2))

    def ready(count: int) -> Callable[[], bool]:
        def check() -> bool:
            d = apps.read_namespaced_deployment_status("web", ns)
            running = [p for p in core.list_namespaced_pod(ns, label_selector="app=web").items
                       if p.status.phase == "Running" and not p.metadata.deletion_timestamp]
            return (d.status.observed_generation == d.metadata.generation
                    and (d.status.ready_replicas or 0) == count and len(running) == count
                    and (d.status.replicas or 0) == count)
        return check
    wait_for(ready(2), what="2 ready replicas")
    victim = core.list_namespaced_pod(ns, label_selector="app=web").items[0].metadata.name
    core.delete_namespaced_pod(victim, ns)
    wait_for(ready(2), what="the deleted pod to be replaced")
    assert victim not in {p.metadata.name for p in core.list_namespaced_pod(ns).items}
    apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 3}})
    wait_for(ready(3), what="scale up to 3")
    apps.patch_namespaced_deployment_scale("web", ns, {"spec": {"replicas": 1}})
    wait_for(ready(1), what="scale down to 1")
    apps.patch_namespaced_deployment("web", ns, {"spec": {"template": {"spec": {
        "containers": [{"name": "c", "image": "srv:2"}]}}}})

    def rolled() -> bool:
        pods = [p for p in core.list_namespaced_pod(ns, label_selector="app=web").items
                if not p.metadata.deletion_timestamp]
        return len(pods) == 1 and pods[0].spec.containers[0].image == "srv:2" and ready(1)()
    wait_for(rolled, what="the new template to roll out")
    sets = {rs.spec.template.spec.containers[0].image: rs for rs in
            apps.list_namespaced_replica_set(ns, label_selector="app=web").items}
    assert sets["srv:2"].spec.replicas == 1 and sets["srv:1"].spec.replicas == 0
    assert sets["srv:2"].metadata.annotations["deployment.kubernetes.io/revision"] == "2"
    pod = core.list_namespaced_pod(ns, label_selector="app=web").items[0]
    assert pod.metadata.owner_references[0].name == sets["srv:2"].metadata.name


def pvc(name: str, modes: list[str], storage_class: str | None, **spec: object) -> dict:
    body: dict = {"metadata": {"name": name}, "spec": {
        "accessModes": modes, "resources": {"requests": {"storage": "1Gi"}}}}
    if storage_class is not None:
        body["spec"]["storageClassName"] = storage_class
    body["spec"].update(spec)
    return body


def claim_phase(core: client.CoreV1Api, ns: str, name: str) -> str:
    return core.read_namespaced_persistent_volume_claim(name, ns).status.phase


def test_dynamic_provisioning_respects_class_access_modes(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_persistent_volume_claim(ns, pvc("rwx", ["ReadWriteMany"],
                                                           "nfs-client"))
    core.create_namespaced_persistent_volume_claim(ns, pvc("rwo", ["ReadWriteOnce"], None))
    core.create_namespaced_persistent_volume_claim(ns, pvc("bad", ["ReadWriteMany"],
                                                           "standard"))
    wait_for(lambda: claim_phase(core, ns, "rwx") == "Bound" == claim_phase(core, ns, "rwo"),
             what="dynamic claims to bind")
    rwo = core.read_namespaced_persistent_volume_claim("rwo", ns)
    assert rwo.spec.storage_class_name == "standard"
    pv = core.read_persistent_volume(rwo.spec.volume_name)
    assert pv.spec.claim_ref.name == "rwo" and pv.status.phase == "Bound"

    def failure_event() -> list:
        return [e for e in core.list_namespaced_event(
            ns, field_selector="involvedObject.name=bad").items
                if e.reason == "ProvisioningFailed"]
    events = wait_for(failure_event, what="a ProvisioningFailed event for the RWX claim")
    assert "ReadWriteMany" in events[0].message
    assert claim_phase(core, ns, "bad") == "Pending"
    core.delete_namespaced_persistent_volume_claim("rwo", ns)
    wait_for(lambda: pv.metadata.name not in {v.metadata.name
                                              for v in core.list_persistent_volume().items},
             what="the provisioned volume to be reclaimed")


def test_claims_in_use_are_protected_from_deletion(api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    core.create_namespaced_persistent_volume_claim(ns, pvc("used", ["ReadWriteOnce"], None))
    core.create_namespaced_pod(ns, {"metadata": {"name": "user"}, "spec": {
        "restartPolicy": "Never",
        "containers": [{"name": "c", "image": "x", "command": ["sleep", "300"],
                        "volumeMounts": [{"name": "v", "mountPath": "/v"}]}],
        "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "used"}}]}})
    wait_for(lambda: core.read_namespaced_pod("user", ns).status.phase == "Running",
             what="the pod using the claim to run")
    core.delete_namespaced_persistent_volume_claim("used", ns)
    claim = core.read_namespaced_persistent_volume_claim("used", ns)
    assert claim.metadata.deletion_timestamp and \
        "kubernetes.io/pvc-protection" in claim.metadata.finalizers
    core.delete_namespaced_pod("user", ns, grace_period_seconds=0)

    def claim_gone() -> bool:
        return not core.list_namespaced_persistent_volume_claim(ns).items
    wait_for(claim_gone, what="the claim to go once its pod is gone")


def test_static_volumes_bind_by_volume_name_and_by_empty_class(
        api: client.ApiClient, ns: str) -> None:
    core = client.CoreV1Api(api)
    for name, modes in ((f"{ns}-rox", ["ReadOnlyMany"]), (f"{ns}-rwo", ["ReadWriteOnce"])):
        core.create_persistent_volume({"metadata": {"name": name}, "spec": {
            "capacity": {"storage": "5Gi"}, "accessModes": modes, "storageClassName": "",
            "claimRef": {"namespace": ns, "name": "by-ref"} if "rwo" in name else None,
            "hostPath": {"path": f"/tmp/{name}"}}})
    core.create_namespaced_persistent_volume_claim(
        ns, pvc("by-name", ["ReadOnlyMany"], "", volumeName=f"{ns}-rox"))
    core.create_namespaced_persistent_volume_claim(ns, pvc("by-ref", ["ReadWriteOnce"], ""))
    core.create_namespaced_persistent_volume_claim(
        ns, pvc("wrong-mode", ["ReadWriteMany"], "", volumeName=f"{ns}-rox"))
    wait_for(lambda: claim_phase(core, ns, "by-name") == "Bound"
             == claim_phase(core, ns, "by-ref"), what="static claims to bind")
    assert core.read_namespaced_persistent_volume_claim("by-ref", ns).spec.volume_name == \
        f"{ns}-rwo"
    assert core.read_namespaced_persistent_volume_claim("by-name", ns).status.access_modes == \
        ["ReadOnlyMany"]
    assert claim_phase(core, ns, "wrong-mode") == "Pending"
    for name in (f"{ns}-rox", f"{ns}-rwo"):
        core.delete_persistent_volume(name)


def test_everything_stored_fits_the_schema(k8s_cluster_module: Cluster) -> None:
    """Runs last in this module: the module's cluster holds what the tests above made."""
    assert_schema_clean(k8s_cluster_module)


def test_scheduler_keeps_pods_that_do_not_fit_pending(
        k8s_cluster_factory: ClusterFactory) -> None:
    cluster = k8s_cluster_factory(node_resources={"cpu": "2", "memory": "1Gi"})
    core = client.CoreV1Api(api_client(cluster))

    def pod(name: str, cpu: str, **spec: object) -> dict:
        body = {"metadata": {"name": name}, "spec": {"restartPolicy": "Never", "containers": [
            {"name": "c", "image": "x", "command": ["sleep", "300"],
             "resources": {"requests": {"cpu": cpu, "memory": "100Mi"}}}]}}
        body["spec"].update(spec)
        return body

    core.create_namespaced_pod("default", pod("fits", "1500m"))
    core.create_namespaced_pod("default", pod("too-big", "1"))
    core.create_namespaced_pod("default", pod("elsewhere", "100m",
                                              nodeSelector={"disktype": "ssd"}))
    core.create_namespaced_pod("default", pod("no-claim", "100m", volumes=[
        {"name": "v", "persistentVolumeClaim": {"claimName": "missing"}}]))

    def scheduled_condition(name: str) -> client.V1PodCondition | None:
        conditions = core.read_namespaced_pod(name, "default").status.conditions or []
        return next((c for c in conditions if c.type == "PodScheduled"), None)

    wait_for(lambda: core.read_namespaced_pod("fits", "default").status.phase == "Running",
             what="the pod that fits to run")
    for name, text in (("too-big", "Insufficient cpu"), ("elsewhere", "node affinity/selector"),
                       ("no-claim", 'persistentvolumeclaim "missing" not found')):
        cond = wait_for(lambda n=name: scheduled_condition(n), what=f"{name} to be considered")
        assert (cond.status, cond.reason) == ("False", "Unschedulable") and text in cond.message
        pod_now = core.read_namespaced_pod(name, "default")
        assert pod_now.status.phase == "Pending" and not pod_now.spec.node_name
    core.delete_namespaced_pod("fits", "default", grace_period_seconds=0)
    wait_for(lambda: core.read_namespaced_pod("too-big", "default").status.phase == "Running",
             what="the waiting pod to be scheduled once room is freed")


def test_wait_for_first_consumer_binds_when_a_pod_is_scheduled(
        k8s_cluster_factory: ClusterFactory) -> None:
    """A WaitForFirstConsumer claim stays Pending until a pod using it is scheduled; then it
    is provisioned and bound, and the pod runs (GKE standard-rwo, EKS gp2/gp3)."""
    cluster = k8s_cluster_factory(wait_for_first_consumer=("standard",))
    core = client.CoreV1Api(api_client(cluster))
    storage = client.StorageV1Api(api_client(cluster))
    assert storage.read_storage_class("standard").volume_binding_mode == "WaitForFirstConsumer"
    core.create_namespaced_persistent_volume_claim("default", {
        "metadata": {"name": "late"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                               "resources": {"requests": {"storage": "1Gi"}}}})

    def waiting_event() -> bool:
        return any(e.reason == "WaitForFirstConsumer" and e.involved_object.name == "late"
                   for e in core.list_namespaced_event("default").items)
    wait_for(waiting_event, what="the WaitForFirstConsumer event")
    assert core.read_namespaced_persistent_volume_claim("late", "default").status.phase \
        == "Pending"
    core.create_namespaced_pod("default", {"metadata": {"name": "user"}, "spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "x",
                                                  "command": ["sleep", "300"]}],
        "volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "late"}}]}})
    wait_for(lambda: core.read_namespaced_pod("user", "default").status.phase == "Running",
             what="the consumer pod to run")
    claim = core.read_namespaced_persistent_volume_claim("late", "default")
    assert claim.status.phase == "Bound"
    assert claim.metadata.annotations["volume.kubernetes.io/selected-node"] == "node-1"
    core.delete_namespaced_pod("user", "default", grace_period_seconds=0)
