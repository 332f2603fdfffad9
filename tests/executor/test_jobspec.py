"""The Job spec the executor builds (pure: no cluster needed)."""

from __future__ import annotations

import pytest

from kubecall.cluster.contract import DRIVER_POD_ENV, DRIVER_POD_UID_ENV, driver_owner_reference
from kubecall.cluster.driver_job import DriverSpec, driver_job
from kubecall.cluster.state import FAILED, PENDING, SUCCEEDED, pod_outcome
from snakemake_executor_plugin_kubecall.jobspec import (
    JobRequest,
    MemoryTooLarge,
    PlainEnvironment,
    SpecSettings,
    build_job,
    container_memory_mb,
    grown_memory,
    job_name,
    limit_range_max_mb,
    parse_pairs,
    parse_tolerations,
)

REQUEST = JobRequest(run_id="abc123", rule="call_batch", jobid=7, attempt=1,
                     command="python -m snakemake --target-jobs 'call_batch:batch=b0001'",
                     workdir="/workspace/run", threads=2, mem_mb=4000, disk_mb=1000,
                     runtime_minutes=30)


def pod_of(job: dict) -> dict:
    return job["spec"]["template"]["spec"]


def test_mounts_workspace_at_driver_path_and_data_source_read_only() -> None:
    job = build_job(REQUEST, SpecSettings(workspace_path="/workspace"))
    pod = pod_of(job)
    container = pod["containers"][0]
    mounts = {m["name"]: m for m in container["volumeMounts"]}
    assert mounts["workspace"]["mountPath"] == "/workspace"
    assert not mounts["workspace"].get("readOnly")
    assert mounts["datasource"] == {"name": "datasource", "mountPath": "/datasource",
                                    "readOnly": True}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["datasource"]["persistentVolumeClaim"] == {"claimName": "pv1000g",
                                                              "readOnly": True}
    assert volumes["workspace"]["persistentVolumeClaim"]["claimName"] == "shared-workspace"
    assert volumes["scratch"]["emptyDir"] == {"sizeLimit": "1000M"}
    assert {mounts["scratch"]["mountPath"], mounts["tmp"]["mountPath"]} == {"/scratch", "/tmp"}
    assert container["workingDir"] == "/workspace/run"
    assert container["command"] == ["/bin/sh", "-c", REQUEST.command]


def test_memory_backed_scratch_when_asked() -> None:
    per_rule = JobRequest(**{**REQUEST.__dict__, "scratch_memory": True})
    volumes = {v["name"]: v for v in pod_of(build_job(per_rule, SpecSettings()))["volumes"]}
    assert volumes["scratch"]["emptyDir"] == {"medium": "Memory", "sizeLimit": "1000M"}
    volumes = {v["name"]: v for v in
               pod_of(build_job(REQUEST, SpecSettings(scratch_memory=True)))["volumes"]}
    assert volumes["scratch"]["emptyDir"]["medium"] == "Memory"


def test_resources_from_threads_memory_disk_and_runtime() -> None:
    job = build_job(REQUEST, SpecSettings(cpu_scalar=0.95))
    resources = pod_of(job)["containers"][0]["resources"]
    # Memory: mem_mb plus 256 MB headroom for snakemake's own job process (finding 4).
    assert resources["requests"] == {"cpu": "1900m", "memory": "4256M",
                                     "ephemeral-storage": "1000M"}
    assert resources["limits"] == {"cpu": "2000m", "memory": "4256M",
                                   "ephemeral-storage": "1000M"}
    # The runtime counts from the pod's start on a node, not from the Job's creation: time
    # queued for quota or a node is not running time (finding 2).
    assert pod_of(job)["activeDeadlineSeconds"] == 1800
    assert "activeDeadlineSeconds" not in job["spec"]
    assert job["spec"]["backoffLimit"] == 0
    assert job["spec"]["ttlSecondsAfterFinished"] == 86400


def test_memory_grows_only_after_oom_kills() -> None:
    """A third attempt after one OOMKilled attempt (the other failed otherwise) grows once
    (finding 3)."""
    assert [grown_memory(2000, k, 1.5) for k in (0, 1, 2)] == [2000, 3000, 4500]
    retry = JobRequest(**{**REQUEST.__dict__, "attempt": 3, "oom_kills": 1})
    limits = pod_of(build_job(retry, SpecSettings(memory_growth=2, memory_headroom_mb=0)))[
        "containers"][0]["resources"]["limits"]
    assert limits["memory"] == "8000M"
    killed = JobRequest(**{**REQUEST.__dict__, "attempt": 2, "oom_kills": 0})
    assert pod_of(build_job(killed, SpecSettings()))["containers"][0]["resources"][
        "limits"]["memory"] == "4256M"


def test_memory_never_grows_past_the_limit_range_max() -> None:
    """32000 MB grown twice by 1.5 would be 72000 MB, over a 64Gi LimitRange max: the
    retry gets the max; a first attempt over it is a clear error (finding 3)."""
    cap = limit_range_max_mb([{"spec": {"limits": [
        {"type": "Container", "max": {"cpu": "16", "memory": "64Gi"}}]}}])
    assert cap == 68719
    settings = SpecSettings(memory_max_mb=cap)
    assert container_memory_mb(32000, 2, settings) == cap
    assert container_memory_mb(32000, 0, settings) == 32256
    with pytest.raises(MemoryTooLarge, match="LimitRange allows per container"):
        container_memory_mb(70000, 0, settings)


def test_a_tiny_mem_mb_still_leaves_room_for_snakemake() -> None:
    """mem="5MB" (snakemake's own test workflows) becomes 261M, not 5M (finding 4)."""
    tiny = JobRequest(**{**REQUEST.__dict__, "mem_mb": 5})
    assert pod_of(build_job(tiny, SpecSettings()))["containers"][0]["resources"][
        "limits"]["memory"] == "261M"


def test_security_context_meets_restricted_standard() -> None:
    pod = pod_of(build_job(REQUEST, SpecSettings()))
    assert pod["securityContext"] == {"runAsNonRoot": True, "runAsUser": 10001,
                                      "runAsGroup": 10001, "fsGroup": 10001,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    container = pod["containers"][0]["securityContext"]
    assert container["allowPrivilegeEscalation"] is False
    assert container["capabilities"] == {"drop": ["ALL"]}
    assert container["readOnlyRootFilesystem"] is True
    assert pod["automountServiceAccountToken"] is False
    assert pod["restartPolicy"] == "Never"


def test_labels_name_run_rule_and_job() -> None:
    job = build_job(REQUEST, SpecSettings(labels={"team": "genomics",
                                                  "kubecall.io/run-id": "spoofed"}))
    labels = job["metadata"]["labels"]
    assert labels["kubecall.io/run-id"] == "abc123"
    assert labels["kubecall.io/rule"] == "call_batch"
    assert labels["kubecall.io/jobid"] == "7"
    assert labels["app.kubernetes.io/part-of"] == "kubecall"
    assert labels["team"] == "genomics"
    assert job["spec"]["template"]["metadata"]["labels"] == labels
    assert job["metadata"]["name"] == "kubecall-abc123-7-1-call-batch"
    assert labels["kubecall.io/attempt"] == "1"


def test_job_names_are_dns_labels() -> None:
    name = job_name("0123456789", "A_rule_with_a_very_long_NAME_" * 4, 123456, 3)
    assert len(name) <= 63
    assert name == name.lower() and not name.endswith("-")
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789-")


def test_per_rule_image_pull_secrets_tolerations_node_selector() -> None:
    settings = SpecSettings(image="reg.example/kubecall@sha256:abc",
                            image_pull_secrets=("regcred",),
                            tolerations=parse_tolerations("pool=calling:NoSchedule,gpu:NoExecute"),
                            node_selector=parse_pairs("pool=calling", "node"),
                            service_account="runner")
    pod = pod_of(build_job(REQUEST, settings))
    assert pod["containers"][0]["image"] == "reg.example/kubecall@sha256:abc"
    per_rule = JobRequest(**{**REQUEST.__dict__, "image": "reg.example/freebayes:1.3.6"})
    assert pod_of(build_job(per_rule, settings))["containers"][0]["image"] == \
        "reg.example/freebayes:1.3.6"
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["tolerations"] == [
        {"key": "pool", "operator": "Equal", "value": "calling", "effect": "NoSchedule"},
        {"key": "gpu", "operator": "Exists", "effect": "NoExecute"}]
    assert pod["nodeSelector"] == {"pool": "calling"}
    assert pod["serviceAccountName"] == "runner"


def test_bad_settings_are_explained() -> None:
    with pytest.raises(ValueError, match="not KEY=VALUE"):
        parse_pairs("pool", "--kubecall-node-selector")
    with pytest.raises(ValueError, match="effect must be"):
        parse_tolerations("pool=x:Sometimes")


def test_secrets_only_by_reference() -> None:
    settings = SpecSettings(secret_name="minio",
                            secret_env={"AWS_SECRET_ACCESS_KEY": "rootPassword"})
    leaky = JobRequest(**{**REQUEST.__dict__, "env": {"AWS_SECRET_ACCESS_KEY": "literal"}})
    env = {e["name"]: e for e in pod_of(build_job(leaky, settings))["containers"][0]["env"]}
    assert env["AWS_SECRET_ACCESS_KEY"] == {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {
        "secretKeyRef": {"name": "minio", "key": "rootPassword"}}}
    assert "literal" not in repr(build_job(leaky, settings))


def test_envvars_never_go_into_the_spec_as_values() -> None:
    """An --envvars variable not mapped to a Secret key is refused, naming the fix; its value
    never appears (finding 17)."""
    settings = SpecSettings(secret_name="minio",
                            secret_env={"AWS_SECRET_ACCESS_KEY": "rootPassword"})
    leaky = JobRequest(**{**REQUEST.__dict__, "env": {"API_TOKEN": "s3cr3t-value"}})
    with pytest.raises(PlainEnvironment) as raised:
        build_job(leaky, settings)
    assert "API_TOKEN" in str(raised.value) and "--kubecall-secret-env API_TOKEN=KEY" in \
        str(raised.value)
    assert "s3cr3t-value" not in str(raised.value)


def _pod(phase: str, terminated: dict | None = None, waiting: dict | None = None,
         conditions: list | None = None) -> dict:
    state = {"terminated": terminated} if terminated else {"waiting": waiting or {}}
    return {"status": {"phase": phase, "conditions": conditions or [],
                       "containerStatuses": [{"name": "snakemake", "state": state}]}}


@pytest.mark.parametrize(("pod", "state", "reason"), [
    (_pod("Pending", waiting={"reason": "ContainerCreating"}), PENDING, ""),
    (_pod("Succeeded", {"exitCode": 0, "reason": "Completed"}), SUCCEEDED, ""),
    (_pod("Failed", {"exitCode": 137, "reason": "OOMKilled"}), FAILED, "OOMKilled"),
    (_pod("Failed", {"exitCode": 137, "reason": "Error"}), FAILED, "Error"),
    (_pod("Pending", waiting={"reason": "ErrImagePull", "message": "x: not found"}),
     FAILED, "ErrImagePull"),
    (_pod("Pending", waiting={"reason": "ErrImagePull", "message": "429 Too Many Requests"}),
     PENDING, "ErrImagePull"),
    (_pod("Running", waiting={}, conditions=[{"type": "DisruptionTarget", "status": "True",
                                              "reason": "EvictionByEvictionAPI"}]),
     FAILED, "Evicted"),
    ({"status": {"phase": "Failed", "reason": "DeadlineExceeded"}}, FAILED,
     "DeadlineExceeded"),
])
def test_pod_outcomes(pod: dict, state: str, reason: str) -> None:
    outcome = pod_outcome(pod)
    assert (outcome.state, outcome.reason) == (state, reason)


def test_jobs_are_owned_by_the_driver_pod_when_it_says_who_it_is() -> None:
    owner = driver_owner_reference("kubecall-run-x-abcde", "1234-uid")
    job = build_job(REQUEST, SpecSettings(owner=owner))
    assert job["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Pod", "name": "kubecall-run-x-abcde", "uid": "1234-uid"}]
    assert "ownerReferences" not in build_job(REQUEST, SpecSettings())["metadata"]


def test_the_driver_job_tells_its_pod_name_and_uid_by_the_downward_api() -> None:
    job = driver_job(DriverSpec("r1", "kubecall", "c.yaml", "profiles/kubernetes"))
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env[DRIVER_POD_ENV]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert env[DRIVER_POD_UID_ENV]["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.uid"}}
