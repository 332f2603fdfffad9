"""The executor against the test cluster: namespace, claims, driver Role, demo data, and a
driver that runs as the image's user (uid 10001) with the driver service account's token.
The jobs' pods run in the job image built from this checkout (tests/support/image.py)."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import math
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from tests.conftest import REPO
from tests.support.cluster.faults import RequestRecord
from tests.support.cluster.helpers import wait_for
from tests.support.cluster.hostpaths import POD_PYTHON, POD_UID, pod_pythonpath
from tests.support.cluster.mesh import INJECT_LABEL
from tests.support.image import REFERENCE
from tests.support.leftovers import temp_prefix

DEMO = REPO / "resources" / "demo"
NAMESPACE = "kubecall"
UID = POD_UID
NFS_SERVER, NFS_PATH = "nfs.test", "/export/1000g"
SECRET_NAME = "s3-credentials"
SENTINEL = "sentinel-Zq7Xw9-never-print-me"
# The driver runs on the host as the pods' user (uid 10001, POD_PYTHON with this checkout's
# kubecall and the venv's packages on PYTHONPATH, tests/support/cluster/hostpaths.py),
# wherever the checkout is; the pods run the image's `python` (its venv, first on the
# image's PATH).
POD_IMAGE_PYTHON = "python"
# Every request of an end-to-end test waits this long, as on a busy or distant control plane
# (issue 15: the driver must not depend on a fast API server). Only the seeding is fast.
API_LATENCY = 0.5


@dataclass
class DriverRun:
    """A finished (or killed) driver."""

    returncode: int
    stdout: str
    stderr: str


@dataclass
class KubeEnv:
    """A prepared cluster: the namespace, claims, driver identity and a run directory."""

    cluster: object
    workspace: Path  # host directory behind the workspace claim (= path jobs mount it at)
    datasource: Path  # host directory behind the data-source claim
    rundir: Path  # the driver's working directory, on the workspace
    kubeconfig: Path  # the kubecall-driver service account's kubeconfig (RBAC applies)
    admin: client.ApiClient
    # Drivers started in the background, ended at teardown if a test left one running.
    drivers: list[subprocess.Popen[str]] = field(default_factory=list)

    def command(self, *extra: str, profile: Path | None = None) -> list[str]:
        """The driver's command line: the kubernetes profile (or ``profile``) plus this
        cluster's paths."""
        profile = profile or self.rundir / "profiles" / "kubernetes"
        return [
            "setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups",
            POD_PYTHON, "-m", "snakemake", "--snakefile", str(self.rundir / "Snakefile"),
            "--directory", str(self.rundir),
            "--configfile", str(self.rundir / "config" / "config.yaml"),
            "--profile", str(profile), "--workflow-profile", "none",
            "--kubecall-kubeconfig", str(self.kubeconfig),
            "--kubecall-workspace-path", str(self.workspace),
            "--kubecall-datasource-path", str(self.datasource),
            "--kubecall-secret-name", SECRET_NAME,
            "--latency-wait", "5", "--seconds-between-status-checks", "1",
            "--kubecall-python", POD_IMAGE_PYTHON, *extra,
        ]

    def start(self, *extra: str, profile: Path | None = None,
              env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start a driver in its own process group; `stop_drivers` ends it if still running.
        `env` adds to its environment."""
        driver = subprocess.Popen(self.command(*extra, profile=profile), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, cwd=self.rundir,
                                  env={**driver_env(), **(env or {})}, start_new_session=True)
        self.drivers.append(driver)
        return driver

    def run(self, *extra: str, timeout: float = 600, profile: Path | None = None,
            env: dict[str, str] | None = None) -> DriverRun:
        """Run a driver to its end; a hang fails the test with the driver's output so far.

        The timeout only stops a hang: it is far above any run's time on a loaded machine.
        """
        driver = self.start(*extra, profile=profile, env=env)
        try:
            stdout, stderr = driver.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop_drivers()
            stdout, stderr = driver.communicate()
            pytest.fail(f"the driver hung for {timeout:.0f}s: {stderr[-3000:]}")
        return DriverRun(driver.returncode, stdout, stderr)

    def stop_drivers(self) -> None:
        """SIGKILL the process group of every driver still running, and reap it."""
        for driver in self.drivers:
            if driver.poll() is None:
                try:
                    os.killpg(driver.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            driver.communicate()

    def failure_logs(self) -> str:
        """The executor's saved container logs, for assertion messages."""
        return "\n".join(p.read_text() for p in (self.rundir / "logs" / "kubernetes").rglob(
            "*.log")) if (self.rundir / "logs" / "kubernetes").exists() else ""

    def running(self) -> list[str]:
        """Jobs not finished and pods not terminated (failed Jobs are kept, finished)."""
        def done(obj: dict) -> bool:
            conditions = (obj.get("status") or {}).get("conditions") or []
            return any(c["type"] in ("Complete", "Failed") and c["status"] == "True"
                       for c in conditions) or \
                (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        return [f"{kind}/{o['metadata']['name']}" for kind, group in
                (("jobs", "batch"), ("pods", "")) for o in
                self.cluster.list(kind, NAMESPACE, group)  # type: ignore[attr-defined]
                if not done(o)]

    def leftovers(self) -> list[str]:
        """Jobs and pods still in the namespace (read from the store, no request logged)."""
        return [f"{kind}/{o['metadata']['name']}" for kind, group in
                (("jobs", "batch"), ("pods", "")) for o in
                self.cluster.list(kind, NAMESPACE, group)]  # type: ignore[attr-defined]


def driver_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["PYTHONPATH"] = pod_pythonpath()
    env["HOME"] = "/tmp"
    env["USER"] = env["LOGNAME"] = "kubecall"  # uid 10001 has no passwd entry here
    return env


def demo_config(datasource: Path, batches: int = 4) -> dict:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["reference"] = str(datasource / "ref.fa")
    config["samples"] = "config/samples.tsv"
    config["regions"]["batches"] = batches
    return config


def write_demo_sheet(path: Path, datasource: Path) -> None:
    rows = ["sample\talignment"] + [f"{s}\t{datasource / f'{s}.bam'}"
                                     for s in ("S01", "S02", "S03", "S04")]
    rows.append(f"NA12878\t{datasource / 'NA12878.cram'}")
    path.write_text("\n".join(rows) + "\n")


def vcf_records(path: Path) -> list[str]:
    with gzip.open(path, "rt") as handle:
        return [line for line in handle if not line.startswith("#")]


def differing_records(ours: list[str], theirs: list[str]) -> list[tuple[str, str]]:
    """Record pairs that differ anywhere but in a near-zero QUAL.

    freebayes prints the QUAL of a site it finds no variant at (AC=0, QUAL about 1e-12)
    as a difference of two nearly equal probabilities, so its 5th and 6th digits change
    between processes reading the same data (seen between two local runs of one plan:
    6.39048e-13 and 6.3904e-13, every other field equal). So two QUALs agree when they are
    within 1e-6 of each other or within 0.1% of the larger; every other field must match.
    """
    def differ(one: str, other: str) -> bool:
        a, b = one.split("\t"), other.split("\t")
        if a[:5] + a[6:] != b[:5] + b[6:]:
            return True
        return not math.isclose(float(a[5]), float(b[5]), rel_tol=1e-3, abs_tol=1e-6)

    pairs = [(a, b) for a, b in zip(ours, theirs, strict=False) if differ(a, b)]
    if len(ours) != len(theirs):
        pairs.append((f"{len(ours)} records", f"{len(theirs)} records"))
    return pairs


def _apply(admin: client.ApiClient, objects: list[dict]) -> None:
    from kubernetes import utils

    for obj in objects:
        utils.create_from_dict(admin, obj, namespace=obj["metadata"].get("namespace"))


@contextlib.contextmanager
def prepared_env(start_cluster, job_image_archive: Path,  # type: ignore[no-untyped-def]
                 latency: float = API_LATENCY, **options: object) -> Iterator[KubeEnv]:
    """A prepared cluster (see `kube_env`) started by `start_cluster(**options)` (the
    `k8s_cluster_factory` fixture, or a bench's own), answering after `latency`, its
    drivers stopped and its state removed at the end, pass or fail."""
    # Outside /tmp: pods mount an emptyDir over /tmp, which would hide claim directories.
    base = Path(tempfile.mkdtemp(prefix=temp_prefix("k8s"), dir="/var/tmp"))
    try:
        env = prepare(lambda **more: start_cluster(
            images={REFERENCE: job_image_archive}, **options, **more), base)
        env.cluster.faults.add_latency(latency)  # type: ignore[attr-defined]
        try:
            yield env
        finally:
            env.stop_drivers()
            env.admin.close()
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def kube_env(k8s_cluster_factory, job_image_archive: Path  # type: ignore[no-untyped-def]
             ) -> Iterator[KubeEnv]:
    """A cluster with the demo data on the data-source volume and a run directory holding
    this checkout's workflow on the workspace claim, owned by uid 10001; its node runs the
    job image (and fails to pull any other)."""
    with prepared_env(k8s_cluster_factory, job_image_archive) as env:
        yield env


@pytest.fixture(params=["regular", "native"])
def meshed_env(request, k8s_cluster_factory,  # type: ignore[no-untyped-def]
               job_image_archive: Path) -> Iterator[KubeEnv]:
    """`kube_env` in a service mesh: its namespace labelled for injection, every pod gets
    an istio-proxy sidecar, as a regular container or as a native sidecar."""
    with prepared_env(k8s_cluster_factory, job_image_archive,
                      sidecar_injection=request.param) as env:
        client.CoreV1Api(env.admin).patch_namespace(
            NAMESPACE, {"metadata": {"labels": {INJECT_LABEL: "enabled"}}})
        yield env


def shipped(name: str) -> dict:
    """k8s/base/<component>/<name>.yaml, in the test namespace."""
    (path,) = (REPO / "k8s" / "base").glob(f"*/{name}.yaml")
    obj = yaml.safe_load(path.read_text())
    obj["metadata"]["namespace"] = NAMESPACE
    return obj


def prepare(start_cluster, base: Path) -> KubeEnv:  # type: ignore[no-untyped-def]
    """Start a cluster (`start_cluster(**options)`) with state under `base`, seed it as
    the bootstrap would (namespace, claims, driver Role, Secret) and copy the workflow."""
    datasource = base / "datasource"
    datasource.mkdir()
    for item in DEMO.iterdir():
        if item.suffix != ".sh":
            shutil.copy2(item, datasource / item.name)
    for index in list(datasource.glob("*.bai")) + list(datasource.glob("*.crai")) + \
            list(datasource.glob("*.fai")):
        index.touch()
    os.chmod(base, 0o755)
    cluster = start_cluster(state_dir=base / "state",
                            nfs_exports={f"{NFS_SERVER}:{NFS_PATH}": datasource})
    admin = client.ApiClient(_admin_configuration(cluster.kubeconfig))
    role, limits, quota = (shipped(name) for name in (
        "kubecall-driver-role", "kubecall-defaults-limitrange", "kubecall-quota-resourcequota"))
    # The shipped namespace: Pod Security enforces "restricted" there; its LimitRange and
    # ResourceQuota apply to every job, as in a bootstrapped cluster.
    _apply(admin, [yaml.safe_load((REPO / "k8s" / "base" / "namespace" / "kubecall-namespace.yaml")
                                  .read_text())])
    _apply(admin, [limits, quota,
        {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv1000g"},
         "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadOnlyMany"],
                  "storageClassName": "", "persistentVolumeReclaimPolicy": "Retain",
                  "nfs": {"server": NFS_SERVER, "path": NFS_PATH, "readOnly": True}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": {"name": "pv1000g", "namespace": NAMESPACE},
         "spec": {"accessModes": ["ReadOnlyMany"], "storageClassName": "",
                  "volumeName": "pv1000g", "resources": {"requests": {"storage": "1Gi"}}}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
         "metadata": {"name": "shared-workspace", "namespace": NAMESPACE},
         "spec": {"accessModes": ["ReadWriteMany"], "storageClassName": "nfs-client",
                  "resources": {"requests": {"storage": "1Gi"}}}},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": "kubecall-driver", "namespace": NAMESPACE}},
        role,
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "kubecall-driver", "namespace": NAMESPACE},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                     "name": "kubecall-driver"},
         "subjects": [{"kind": "ServiceAccount", "name": "kubecall-driver",
                       "namespace": NAMESPACE}]},
        {"apiVersion": "v1", "kind": "Secret",
         "metadata": {"name": SECRET_NAME, "namespace": NAMESPACE},
         "stringData": {"rootUser": "kubecall-user", "rootPassword": SENTINEL}},
    ])

    def bound() -> bool:
        try:
            cluster.claim_dir(NAMESPACE, "shared-workspace")
            cluster.claim_dir(NAMESPACE, "pv1000g")
            return True
        except ValueError:
            return False
    wait_for(bound, what="claims to bind")
    workspace = cluster.claim_dir(NAMESPACE, "shared-workspace")
    rundir = workspace / "run"
    rundir.mkdir(parents=True)
    shutil.copy2(REPO / "Snakefile", rundir / "Snakefile")
    for sub in ("workflow", "profiles"):
        shutil.copytree(REPO / sub, rundir / sub,
                        ignore=shutil.ignore_patterns("__pycache__"))
    (rundir / "config").mkdir()
    write_demo_sheet(rundir / "config" / "samples.tsv", datasource)
    (rundir / "config" / "config.yaml").write_text(yaml.safe_dump(demo_config(datasource)))
    kubeconfig = rundir / ".kubeconfig-driver"
    shutil.copy2(cluster.kubeconfig_for(NAMESPACE, "kubecall-driver"), kubeconfig)
    for path in [workspace, *workspace.rglob("*")]:
        os.chown(path, UID, UID)
    workspace.chmod(0o775)
    return KubeEnv(cluster, workspace, datasource, rundir, kubeconfig, admin)


# N trivial jobs: what the executor costs per job, apart from the science.
# touch_one's shell line for job {i}: the S3 secret must reach the pod (by secretKeyRef);
# compared by hash, never printed. bench/k8s_requests.py's stand-in pods run it as is.
TOUCH_ONE_SHELL = (
    f'test $(printf %s "$AWS_SECRET_ACCESS_KEY" | sha256sum | cut -c1-64) = '
    f'{hashlib.sha256(SENTINEL.encode()).hexdigest()} && echo {{i}} > many/{{i}}.txt')
MANY_JOBS_SNAKEFILE = f"""
N = int(config.get("jobs", 100))

rule all:
    input: expand("many/{{i}}.txt", i=range(N))

rule touch_one:
    output: "many/{{i}}.txt"
    shell: {TOUCH_ONE_SHELL.format(i="{wildcards.i}")!r}
"""


def write_many_jobs(env: KubeEnv) -> None:
    """Make the run directory's workflow N trivial jobs (`--config jobs=N`)."""
    snakefile = env.rundir / "Snakefile"
    snakefile.write_text(MANY_JOBS_SNAKEFILE)
    os.chown(snakefile, UID, UID)


def is_driver(record: RequestRecord) -> bool:
    """Whether the driver (the kubecall-driver service account) made this request."""
    return record.user.endswith(":kubecall-driver")


def count_requests(records: list[RequestRecord]) -> dict[str, int]:
    """The driver's requests among `records`, by "verb resource"."""
    counts: dict[str, int] = {}
    for record in filter(is_driver, records):
        key = f"{record.verb} {record.resource}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def requests_per_job(env: KubeEnv, jobs: int) -> tuple[DriverRun, dict[str, int]]:
    """Run `jobs` trivial jobs through the executor; the driver's requests by verb/resource."""
    write_many_jobs(env)
    before = len(env.cluster.requests.snapshot())  # type: ignore[attr-defined]
    run = env.run("--config", f"jobs={jobs}", timeout=900)
    return run, count_requests(env.cluster.requests.snapshot()[before:])  # type: ignore[attr-defined]


def _admin_configuration(kubeconfig: Path) -> client.Configuration:
    from kubernetes import config

    configuration = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
    return configuration
