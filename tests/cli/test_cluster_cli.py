"""`kubecall bootstrap/credentials/launch/status/logs/teardown` against the test cluster.

One cluster for the module, bootstrapped from a test-only overlay of k8s/overlays/minikube in
which MinIO's container runs moto's S3 server (there is no MinIO binary here), so the bucket Job
really creates the bucket through the Deployment's pod. The tests run in file order: bootstrap,
re-bootstrap, the driver's RBAC, launch, status, logs, teardown.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
import yaml

from kubecall.cluster.driver_job import DriverSpec, driver_job
from kubecall.cluster.kube import Kube
from kubecall.errors import KubecallError
from tests.cli.testing_overlay import (
    DATASOURCE_EXPORT,
    STORAGE_CLASSES,
    free_port,
    pod_runtime,
    write_moto_overlay,
)
from tests.conftest import REPO
from tests.support.cluster.cluster import Cluster
from tests.support.cluster.node import sandbox_support
from tests.support.image import REFERENCE

NS = "kubecall"
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection"}
# The driver pod runs in the job image: its venv's python, first on the image's PATH.
DRIVER_COMMAND = "python -m snakemake"
# MinIO's pod runs moto's S3 server with host tools (there is no MinIO image here).
MINIO_IMAGE = "quay.io/minio/minio"


@dataclass
class Setup:
    cluster: Cluster
    overlay: Path
    port: int
    root: Path
    env: dict[str, str]
    first: subprocess.CompletedProcess[str]


def kubecall(setup_env: dict[str, str], *args: str, stdin: str | None = None
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubecall.cli", *args], env=setup_env,
                          input=stdin, capture_output=True, text=True, timeout=600, check=False)


def cli_env(kubeconfig: Path) -> dict[str, str]:
    return {**os.environ, "KUBECONFIG": str(kubeconfig),
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}


@pytest.fixture(scope="module")
def setup(world_readable_dir: Path, job_image_archive: Path) -> Iterator[Setup]:
    reason = sandbox_support()
    if reason:
        pytest.skip(f"test cluster unavailable: {reason}")
    datasource = world_readable_dir / "datasource"
    (datasource / "1000g").mkdir(parents=True)
    (datasource / "1000g" / "README").write_text("1000 Genomes stand-in\n")
    for path in (datasource, datasource / "1000g"):
        path.chmod(0o755)
    # The default class ("standard", which minio-data uses) binds only for a scheduled pod,
    # like GKE's standard-rwo and EKS's gp2/gp3: bootstrap must not wait for minio-data to
    # be Bound before it creates the Deployment that binds it (finding 8).
    cluster = Cluster(state_dir=world_readable_dir / "state", storage_classes=STORAGE_CLASSES,
                      nfs_exports={DATASOURCE_EXPORT: datasource},
                      images={REFERENCE: job_image_archive}, host_images={MINIO_IMAGE},
                      wait_for_first_consumer=("standard",)).start()
    try:
        cluster.pod_env.update(pod_runtime(world_readable_dir / "runtime"))
        port = free_port()
        overlay = write_moto_overlay(world_readable_dir / "overlay", port)
        env = cli_env(cluster.kubeconfig)
        first = kubecall(env, "bootstrap", "--overlay", str(overlay), "--timeout", "90")
        yield Setup(cluster, overlay, port, world_readable_dir, env, first)
    finally:
        cluster.stop()


def secret_values(cluster: Cluster) -> list[str]:
    secret = cluster.get("secrets", "minio", NS)
    return [base64.b64decode(v).decode() for v in secret["data"].values()]


def secret_value(cluster: Cluster, key: str) -> str:
    return base64.b64decode(cluster.get("secrets", "minio", NS)["data"][key]).decode()


def condition_true(obj: dict, kind: str) -> bool:
    return any(c["type"] == kind and c["status"] == "True"
               for c in obj.get("status", {}).get("conditions", []))


# ---- bootstrap ------------------------------------------------------------------------------
def test_bootstrap_brings_up_every_object(setup: Setup) -> None:
    assert setup.first.returncode == 0, setup.first.stderr
    cluster = setup.cluster
    namespace = cluster.get("namespaces", NS, "")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for claim, modes in (("shared-workspace", ["ReadWriteMany"]), ("pv1000g", ["ReadOnlyMany"]),
                         ("minio-data", ["ReadWriteOnce"])):
        live = cluster.get("persistentvolumeclaims", claim, NS)
        assert live["status"]["phase"] == "Bound", claim
        assert live["status"]["accessModes"] == modes, claim
    assert cluster.get("persistentvolumeclaims", "pv1000g", NS)["spec"]["volumeName"] == "pv1000g"
    # Bound through its first consumer, MinIO's pod (the class is WaitForFirstConsumer).
    assert cluster.get("persistentvolumeclaims", "minio-data", NS)["metadata"]["annotations"][
        "volume.kubernetes.io/selected-node"] == "node-1"
    for job in ("workspace-init", "minio-bucket"):
        assert condition_true(cluster.get("jobs", job, NS, "batch"), "Complete"), job
    minio = cluster.get("deployments", "minio", NS, "apps")
    assert condition_true(minio, "Available")
    assert minio["status"]["availableReplicas"] == 1
    for kind, name, group in (("serviceaccounts", "kubecall-driver", ""),
                              ("roles", "kubecall-driver", "rbac.authorization.k8s.io"),
                              ("rolebindings", "kubecall-driver", "rbac.authorization.k8s.io"),
                              ("limitranges", "kubecall-defaults", ""),
                              ("resourcequotas", "kubecall-quota", ""),
                              ("networkpolicies", "minio", "networking.k8s.io"),
                              ("services", "minio", "")):
        assert cluster.get(kind, name, NS, group)
    workspace = cluster.claim_dir(NS, "shared-workspace")
    assert (workspace / "result" / ".kubecall-layout").is_file()
    assert (workspace / "runs").is_dir()


def test_the_bucket_job_created_the_bucket_through_the_minio_pod(setup: Setup) -> None:
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{setup.port}",
                      aws_access_key_id="any", aws_secret_access_key="any",
                      region_name="us-east-1")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["kubecall"]


def test_the_minio_secret_is_generated_and_never_printed(setup: Setup) -> None:
    values = secret_values(setup.cluster)
    assert len(values) == 2 and all(len(v) >= 16 for v in values)
    shown = kubecall(setup.env, "credentials")
    assert shown.returncode == 0
    assert "kubectl -n kubecall get secret minio -o jsonpath='{.data.rootUser}'" in shown.stdout
    for value in values:
        assert value not in setup.first.stdout + setup.first.stderr
        assert value not in shown.stdout + shown.stderr


def test_a_second_bootstrap_changes_nothing(setup: Setup) -> None:
    secret_before = secret_values(setup.cluster)
    mark = len(setup.cluster.requests.snapshot())
    again = kubecall(setup.env, "bootstrap", "--overlay", str(setup.overlay), "--timeout", "30")
    assert again.returncode == 0, again.stderr
    writes = [(r.verb, r.resource, r.name) for r in setup.cluster.requests.snapshot()[mark:]
              if r.verb in WRITE_VERBS]
    assert writes == []
    assert "bootstrap done: 0 object(s) created, updated or pruned" in again.stdout
    assert secret_values(setup.cluster) == secret_before


def test_dry_run_reports_a_drift_and_writes_nothing(setup: Setup) -> None:
    # Someone edits the live quota behind kubecall's back.
    kube = Kube.connect(setup.cluster.kubeconfig)
    try:
        live = kube.get("v1", "ResourceQuota", "kubecall-quota", NS)
        assert live is not None
        live["spec"]["hard"]["requests.cpu"] = "1"
        live["metadata"].pop("managedFields", None)
        kube.apply({"apiVersion": "v1", "kind": "ResourceQuota",
                    "metadata": {"name": "kubecall-quota", "namespace": NS},
                    "spec": {"hard": live["spec"]["hard"]}})
    finally:
        kube.close()
    mark = len(setup.cluster.requests.snapshot())
    dry = kubecall(setup.env, "bootstrap", "--overlay", str(setup.overlay), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would update ResourceQuota kubecall-quota in kubecall" in dry.stdout
    assert [r for r in setup.cluster.requests.snapshot()[mark:] if r.verb in WRITE_VERBS] == []
    fixed = kubecall(setup.env, "bootstrap", "--overlay", str(setup.overlay), "--timeout", "30")
    assert "update    ResourceQuota kubecall-quota" in fixed.stdout
    hard = setup.cluster.get("resourcequotas", "kubecall-quota", NS)["spec"]["hard"]
    assert hard["requests.cpu"] == "64"


# ---- the driver's identity ------------------------------------------------------------------
def test_the_driver_service_account_gets_exactly_its_role(setup: Setup) -> None:
    kube = Kube.connect(setup.cluster.kubeconfig_for(NS, "kubecall-driver"))
    try:
        # what the executor calls (k8s/base/driver/kubecall-driver-role.yaml) ...
        assert kube.get("batch/v1", "Job", "no-such-job", NS) is None  # allowed: a 404
        assert isinstance(kube.list("v1", "Pod", NS), list)
        assert isinstance(kube.list("batch/v1", "Job", NS), list)
        assert isinstance(kube.list("v1", "Event", NS), list)
        assert isinstance(kube.list("v1", "LimitRange", NS), list)
        # ... and nothing more
        with pytest.raises(KubecallError, match="403"):
            kube.list("v1", "ConfigMap", NS)
        with pytest.raises(KubecallError, match="403"):
            kube.get("v1", "LimitRange", "kubecall-defaults", NS)
        with pytest.raises(KubecallError, match="403"):
            kube.list("v1", "Secret", NS)
        with pytest.raises(KubecallError, match="403"):
            kube.list("batch/v1", "Job", "default")
        with pytest.raises(KubecallError, match="403"):
            kube.delete("apps/v1", "Deployment", "minio", NS)
    finally:
        kube.close()


# ---- launch, status, logs ---------------------------------------------------------------------
def stage_workflow(setup: Setup) -> Path:
    """Copy the workflow and demo data into the workspace claim, owned by the pods' uid."""
    target = setup.cluster.claim_dir(NS, "shared-workspace") / "kubecall"
    if not target.exists():
        target.mkdir()
        shutil.copy2(REPO / "Snakefile", target)
        for name in ("workflow", "config", "profiles"):
            shutil.copytree(REPO / name, target / name)
        shutil.copytree(REPO / "resources" / "demo", target / "resources" / "demo")
        config = yaml.safe_load((target / "config" / "config.yaml").read_text())
        config["regions"]["count"] = 2
        (target / "config" / "small.yaml").write_text(yaml.safe_dump(config))
        for path in [target, *target.rglob("*")]:
            os.chown(path, 10001, 10001, follow_symlinks=False)
    return target


def launch(setup: Setup, run_id: str, configfile: str) -> subprocess.CompletedProcess[str]:
    return kubecall(setup.env, "launch", "--configfile", configfile,
                    "--profile", "profiles/local", "--workdir", "/workspace/kubecall",
                    "--run-id", run_id, "--driver-command", DRIVER_COMMAND, "--", "--cores", "2")


def test_launch_runs_snakemake_as_the_driver_and_streams_its_log(setup: Setup) -> None:
    workdir = stage_workflow(setup)
    done = launch(setup, "ok1", "config/small.yaml")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "steps (100%) done" in done.stdout  # snakemake's own progress, streamed
    assert "run ok1 succeeded" in done.stderr
    assert (workdir / "results" / "calls" / "cohort.vcf.gz.tbi").is_file()
    job = setup.cluster.get("jobs", "kubecall-run-ok1", NS, "batch")
    pod_spec = job["spec"]["template"]["spec"]
    assert pod_spec["serviceAccountName"] == "kubecall-driver"
    claims = {v["persistentVolumeClaim"]["claimName"]: v["persistentVolumeClaim"]
              for v in pod_spec["volumes"] if "persistentVolumeClaim" in v}
    assert claims["pv1000g"]["readOnly"] is True and "shared-workspace" in claims
    # The driver ran in the job image (the node has it), not on host tools.
    pulled = [e["message"] for e in setup.cluster.list("events", NS)
              if e["reason"] == "Pulled" and
              e["involvedObject"]["name"].startswith("kubecall-run-ok1")]
    assert pulled and all("already present on machine" in m for m in pulled), pulled


def test_a_failing_run_exits_1_and_shows_in_status(setup: Setup) -> None:
    stage_workflow(setup)
    done = launch(setup, "bad1", "config/missing.yaml")
    assert done.returncode == 1
    assert "run bad1 FAILED" in done.stderr
    status = kubecall(setup.env, "status")
    assert status.returncode == 0
    assert "bad1  driver failed" in status.stdout
    assert "ok1  driver succeeded" in status.stdout


def test_status_shows_claims_and_minio(setup: Setup) -> None:
    status = kubecall(setup.env, "status")
    lines = status.stdout.splitlines()
    assert any(line.split()[:3] == ["shared-workspace", "Bound", "ReadWriteMany"]
               for line in lines), status.stdout
    assert any(line.split()[:3] == ["pv1000g", "Bound", "ReadOnlyMany"] for line in lines)
    assert "available (1/1 replicas)" in status.stdout


def test_logs_prints_a_runs_driver_log(setup: Setup) -> None:
    logs = kubecall(setup.env, "logs", "ok1")
    assert logs.returncode == 0
    assert "steps (100%) done" in logs.stdout
    missing = kubecall(setup.env, "logs", "nosuchrun")
    assert missing.returncode == 2
    assert "error: no run nosuchrun in namespace kubecall; runs: bad1, ok1" in missing.stderr


def test_status_and_logs_show_a_runs_failed_job(setup: Setup) -> None:
    # A job as the executor makes them: labelled with the run id, here failing on purpose.
    job = driver_job(DriverSpec("ok1", NS, "unused", "unused", workdir="/workspace"))
    job["metadata"]["name"] = "snakejob-ok1-call-3"
    for labels in (job["metadata"]["labels"], job["spec"]["template"]["metadata"]["labels"]):
        labels["app.kubernetes.io/component"] = "job"
    container = job["spec"]["template"]["spec"]["containers"][0]
    container["command"] = ["sh", "-c", "echo freebayes: region too big >&2; exit 3"]
    container["workingDir"] = "/tmp"
    kube = Kube.connect(setup.cluster.kubeconfig)
    try:
        kube.create(job)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            live = kube.get("batch/v1", "Job", "snakejob-ok1-call-3", NS) or {}
            if condition_true(live, "Failed"):
                break
            time.sleep(0.3)
    finally:
        kube.close()
    status = kubecall(setup.env, "status")
    assert "ok1  driver succeeded; jobs: 0 running, 0 succeeded, 1 failed" in status.stdout
    assert "    failed: snakejob-ok1-call-3" in status.stdout
    logs = kubecall(setup.env, "logs", "ok1", "--failed")
    assert "==> failed job snakejob-ok1-call-3" in logs.stdout
    assert "freebayes: region too big" in logs.stdout


# ---- the README's walkthrough: stage, launch with publishing on, fetch the results -----------
WALK_WORKDIR = "/workspace/walkthrough"
STAGE_LABEL = "app.kubernetes.io/name"


def walkthrough_checkout(setup: Setup) -> Path:
    """A user's checkout: the workflow plus a cohort config and sheet of their own (outside
    config/, so only --include brings them), the alignments on the data source."""
    checkout = setup.root / "checkout"
    if checkout.exists():
        return checkout
    demo = setup.root / "datasource" / "demo"
    shutil.copytree(REPO / "resources" / "demo", demo)
    demo.chmod(0o755)
    checkout.mkdir()
    shutil.copy2(REPO / "Snakefile", checkout)
    for name in ("workflow", "config", "profiles"):
        shutil.copytree(REPO / name, checkout / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    # The shipped cluster example, pointed at this cohort; only the port is the test overlay's.
    config = yaml.safe_load((REPO / "config" / "kubernetes.yaml").read_text())
    config.update(reference="/datasource/demo/ref.fa", samples="cohort/samples.tsv",
                  regions={"count": 2})
    config["publish"]["endpoint"] = f"http://minio:{setup.port}"
    (checkout / "cohort").mkdir()
    (checkout / "cohort" / "walkthrough.yaml").write_text(yaml.safe_dump(config))
    rows = ["sample\talignment", *(f"{s}\t/datasource/demo/{s}.bam"
                                   for s in ("S01", "S02", "S03", "S04")),
            "NA12878\t/datasource/demo/NA12878.cram"]
    (checkout / "cohort" / "samples.tsv").write_text("\n".join(rows) + "\n")
    return checkout


def stage(setup: Setup, *extra: str) -> subprocess.CompletedProcess[str]:
    return kubecall(setup.env, "stage", "--source", str(walkthrough_checkout(setup)),
                    "--include", "cohort/walkthrough.yaml", "--include", "cohort/samples.tsv",
                    *extra)


def leftover_stage_objects(cluster: Cluster) -> list[str]:
    return [f"{kind} {o['metadata']['name']}"
            for kind, group in (("jobs", "batch"), ("configmaps", ""), ("pods", ""))
            for o in cluster.list(kind, NS, group)
            if (o["metadata"].get("labels") or {}).get(STAGE_LABEL) == "kubecall-stage"]


def test_stage_refuses_before_creating_anything(setup: Setup) -> None:
    mark = len(setup.cluster.requests.snapshot())
    missing = kubecall(setup.env, "stage", "--source", str(walkthrough_checkout(setup)),
                       "--include", "cohort/nosuch.yaml")
    assert missing.returncode == 2
    assert "error: --include cohort/nosuch.yaml: no such file or directory" in missing.stderr
    no_namespace = stage(setup, "--namespace", "nosuch")
    assert no_namespace.returncode == 2
    assert "error: namespace nosuch does not exist" in no_namespace.stderr
    dry = stage(setup, "--workdir", WALK_WORKDIR, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    configmap, job = yaml.safe_load_all(dry.stdout)
    assert configmap["binaryData"]["workflow.tar.gz"].startswith("<tar.gz, ")
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][-1] == WALK_WORKDIR
    assert [r for r in setup.cluster.requests.snapshot()[mark:] if r.verb in WRITE_VERBS] == []
    assert not (setup.cluster.claim_dir(NS, "shared-workspace") / "walkthrough").exists()


def test_a_failed_stage_names_the_reason_and_cleans_up(setup: Setup) -> None:
    # A workdir whose config/ leads out of the workspace: the unpacker refuses it.
    trap = setup.cluster.claim_dir(NS, "shared-workspace") / "trap"
    trap.mkdir()
    (trap / "config").symlink_to(setup.root)
    os.chown(trap, 10001, 10001)
    failed = stage(setup, "--workdir", "/workspace/trap")
    assert failed.returncode == 2
    assert re.search(r"error: Job kubecall-stage-\w+ failed .*container unpack exited 1",
                     failed.stderr), failed.stderr
    assert "leads out of /workspace/trap through a symlink" in failed.stderr
    assert leftover_stage_objects(setup.cluster) == []
    assert sorted(p.name for p in trap.iterdir()) == ["config"]


def test_the_walkthrough_stages_launches_and_publishes(setup: Setup) -> None:
    checkout = walkthrough_checkout(setup)
    staged = stage(setup, "--workdir", WALK_WORKDIR)
    assert staged.returncode == 0, staged.stderr
    count = len([p for p in checkout.rglob("*") if p.is_file()])
    assert f"staged {count} files (" in staged.stdout
    assert f"{count} written, 0 unchanged" in staged.stderr
    assert leftover_stage_objects(setup.cluster) == []
    workdir = setup.cluster.claim_dir(NS, "shared-workspace") / "walkthrough"
    for name in ("cohort/samples.tsv", "cohort/walkthrough.yaml", "Snakefile",
                 "workflow/scripts/publish_results.py", "profiles/kubernetes/config.yaml"):
        assert (workdir / name).read_bytes() == (checkout / name).read_bytes(), name

    done = kubecall(setup.env, "launch", "--configfile", "cohort/walkthrough.yaml",
                    "--profile", "profiles/local", "--workdir", WALK_WORKDIR,
                    "--run-id", "walk1", "--driver-command", DRIVER_COMMAND, "--",
                    "--cores", "2")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]

    # The bucket holds the run, as the receipt says; the objects are the workspace's files.
    receipt = json.loads((workdir / "results" / "publish" / "receipt.json").read_text())
    assert receipt["url"].startswith("s3://kubecall/runs/")
    assert f"kubecall: published {receipt['url']}" in done.stdout  # the walkthrough says so
    prefix = receipt["url"].removeprefix("s3://kubecall/")
    s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{setup.port}",
                      aws_access_key_id="any", aws_secret_access_key="any",
                      region_name="us-east-1")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="kubecall", Prefix=f"{prefix}/")
            ["Contents"]}
    for name in ("calls/cohort.vcf.gz", "calls/cohort.vcf.gz.tbi", "manifest.json",
                 "_SUCCESS"):
        assert f"{prefix}/{name}" in keys, sorted(keys)
    manifest = json.loads(s3.get_object(Bucket="kubecall", Key=f"{prefix}/manifest.json")
                          ["Body"].read())
    listed = {o["name"]: o["sha256"] for o in manifest["objects"]}
    for name in ("calls/cohort.vcf.gz", "calls/cohort.vcf.gz.tbi"):
        body = s3.get_object(Bucket="kubecall", Key=f"{prefix}/{name}")["Body"].read()
        local = hashlib.sha256((workdir / "results" / name).read_bytes()).hexdigest()
        assert hashlib.sha256(body).hexdigest() == local == listed[name], name

    # The walkthrough's last step: verify (and fetch) from outside with the Secret's values.
    user, password = (secret_value(setup.cluster, k) for k in ("rootUser", "rootPassword"))
    verified = kubecall({**setup.env, "AWS_ACCESS_KEY_ID": user,
                         "AWS_SECRET_ACCESS_KEY": password},
                        "verify", receipt["url"], "--endpoint", f"http://127.0.0.1:{setup.port}")
    assert verified.returncode == 0, verified.stderr
    assert f"verified {receipt['url']}" in verified.stdout

    # The Secret's values: mounted by reference, never in a spec, a log or a workspace file.
    pod_spec = setup.cluster.get("jobs", "kubecall-run-walk1", NS, "batch")["spec"]["template"]
    assert {"name": "minio-credentials", "secret": {
        "secretName": "minio", "defaultMode": 0o440, "optional": True}} in \
        pod_spec["spec"]["volumes"]
    logs = kubecall(setup.env, "logs", "walk1")
    assert "steps (100%) done" in logs.stdout
    specs = json.dumps([setup.cluster.list(kind, NS, group) for kind, group in
                        (("pods", ""), ("jobs", "batch"), ("configmaps", ""))])
    texts = [specs, done.stdout, done.stderr, logs.stdout, logs.stderr, staged.stdout,
             staged.stderr, verified.stdout, verified.stderr]
    for value in secret_values(setup.cluster):
        assert not any(value in text for text in texts)
        leaks = [p for p in workdir.parent.rglob("*")  # the whole workspace claim
                 if p.is_file() and not p.is_symlink() and value.encode() in p.read_bytes()]
        assert leaks == []

    # Staging again writes nothing new and leaves the run's outputs alone.
    outputs = {p: p.stat().st_mtime_ns for p in (workdir / "results").rglob("*")}
    again = stage(setup, "--workdir", WALK_WORKDIR)
    assert again.returncode == 0, again.stderr
    assert f"0 written, {count} unchanged" in again.stderr
    assert {p: p.stat().st_mtime_ns for p in (workdir / "results").rglob("*")} == outputs


# ---- teardown -------------------------------------------------------------------------------
def test_launch_refuses_to_reuse_a_run_id(setup: Setup) -> None:
    again = launch(setup, "ok1", "config/small.yaml")
    assert again.returncode == 2
    assert "error: run ok1 already exists (Job kubecall-run-ok1)" in again.stderr


def test_teardown_dry_run_lists_and_deletes_nothing(setup: Setup) -> None:
    mark = len(setup.cluster.requests.snapshot())
    dry = kubecall(setup.env, "teardown", "--overlay", str(setup.overlay), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would delete Deployment minio in kubecall" in dry.stdout
    assert "kept      PersistentVolumeClaim shared-workspace in kubecall" in dry.stdout
    assert [r for r in setup.cluster.requests.snapshot()[mark:] if r.verb in WRITE_VERBS] == []


def test_teardown_keeps_the_data_claims(setup: Setup) -> None:
    done = kubecall(setup.env, "teardown", "--overlay", str(setup.overlay))
    assert done.returncode == 0, done.stderr
    cluster = setup.cluster
    for kind, name, group in (("deployments", "minio", "apps"), ("jobs", "minio-bucket", "batch"),
                              ("services", "minio", ""),
                              ("roles", "kubecall-driver", "rbac.authorization.k8s.io")):
        with pytest.raises(Exception, match="not found|404|NotFound"):
            cluster.get(kind, name, NS, group)
    for claim in ("shared-workspace", "pv1000g", "minio-data"):
        assert cluster.get("persistentvolumeclaims", claim, NS)["status"]["phase"] == "Bound"
    assert cluster.get("persistentvolumes", "pv1000g", "")
    assert cluster.get("secrets", "minio", NS)
    workspace = cluster.claim_dir(NS, "shared-workspace")
    assert (workspace / "kubecall" / "results" / "calls" / "cohort.vcf.gz").is_file()


def test_purge_asks_twice(setup: Setup) -> None:
    cancelled = kubecall(setup.env, "teardown", "--overlay", str(setup.overlay), "--purge",
                         stdin="yes\nwrong-name\n")
    assert cancelled.returncode == 2
    assert "error: teardown --purge cancelled (the name did not match)" in cancelled.stderr
    assert setup.cluster.get("persistentvolumeclaims", "shared-workspace", NS)
    purged = kubecall(setup.env, "teardown", "--overlay", str(setup.overlay), "--purge",
                      stdin="yes\nkubecall\n")
    assert purged.returncode == 0, purged.stderr
    assert "delete PersistentVolumeClaim shared-workspace in kubecall" in purged.stdout
