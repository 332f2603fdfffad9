"""`kubecall profile convert`: three --executor kubernetes profiles and two Snakemake 7
command lines, between them every key of the translation tables; every converted profile
passes `snakemake --profile ... --dry-run` with the kubecall executor."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kubecall.cli import main
from kubecall.errors import KubecallError
from kubecall.migration.cmdline import parse_command
from kubecall.migration.convert import convert_command, convert_profile
from kubecall.migration.model import Conversion
from kubecall.migration.options import SNAKEMAKE7_ONLY
from kubecall.migration.translate import HANDLERS
from tests.conftest import REPO

SECRETS = ("AKIAEXAMPLE7Q", "hunter2-secret-Zx9", "session-token-Yq4")

# A lab's profile for snakemake 9 + snakemake-executor-plugin-kubernetes + S3 storage.
LAB_PROFILE = f"""
executor: kubernetes
jobs: 50
retries: 2
container-image: ghcr.io/lab/calling:1.4
kubernetes-namespace: genomics
kubernetes-cpu-scalar: 0.9
kubernetes-service-account-name: snakemake-jobs
kubernetes-privileged: false
kubernetes-persistent-volumes:
  - refs:/refs
  - archive:/archive
kubernetes-omit-job-cleanup: false
default-storage-provider: s3
default-storage-prefix: s3://lab-results/calling
storage-s3-endpoint-url: https://minio.lab.example:9000
storage-s3-access-key: {SECRETS[0]}
storage-s3-secret-key: {SECRETS[1]}
envvars: [AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY]
default-resources:
  mem_mb: 4000
  disk_mb: 10000
  machine_type: n2-standard-8
set-resources:
  call_batch:
    mem_mb: 16000
    gpu: 1
    gpu_manufacturer: nvidia
    scale: 0
set-threads:
  call_batch: 4
printshellcmds: true
slurm-partition: short
"""
# Command-line spellings (lists of KEY=VALUE), a workspace claim at /workspace, privileged.
LIST_PROFILE = f"""
executor: kubernetes
kubernetes-namespace: kubecall
kubernetes-privileged: true
kubernetes-omit-job-cleanup: true
software-deployment-method: [conda, apptainer]
kubernetes-persistent-volumes: shared-workspace:/workspace pv1000g:/datasource
default-resources: [mem_mb=2000, "runtime=60", machine_type=e2-highmem-4]
set-resources: ["call_batch:mem_mb=8000", "call_batch:machine_type=c2-standard-16"]
set-threads: [preflight_cohort=2]
shared-fs-usage: none
local-storage-prefix: .snakemake/storage
remote-job-local-storage-prefix: /tmp/storage
storage-s3-region: eu-west-1
storage-s3-signature-version: s3v4
storage-s3-retries: 10
storage-s3-token: {SECRETS[2]}
storage-gcs-project: lab-project
latency-wait: 30
"""
# Snake-case keys, the workspace named with --workspace-claim, a kubecall key kept as is.
NAMED_PROFILE = """
executor: slurm
kubernetes_namespace: calling
kubernetes-persistent-volumes: [inputs:/inputs, rwx-work:/work, extra:/extra]
kubecall-memory-growth: 2.0
keep-going: true
"""
# Snakemake 7: the README-style command of the removed --kubernetes executor.
COMMAND_S3 = (
    "snakemake --kubernetes --container-image snakemake/snakemake:v7.32.4 "
    "--k8s-cpu-scalar 0.9 --default-remote-provider S3 --default-remote-prefix "
    "lab-results/calling --use-conda -j 20 --restart-times 3 --envvars AWS_ACCESS_KEY_ID "
    "AWS_SECRET_ACCESS_KEY --default-resources mem_mb=2000 disk_mb=4000 --cluster-config "
    "c.yaml all"
)
COMMAND_GKE = (
    "/opt/conda/bin/snakemake --kubernetes genomics --k8s-service-account-name wi-jobs "
    "--container-image=eu.gcr.io/lab/calling:2 --no-shared-fs --use-singularity "
    "--latency-wait=30 --set-threads call_batch=4 --set-resources call_batch:mem_mb=8000 "
    "-p -k --tibanna --preemption-default 3 --cluster 'qsub -V' --cluster-status st.sh "
    "--google-lifesciences --k8s-not-a-flag 1"
)


def from_profile(tmp_path: Path, text: str, workspace_claim: str | None = None) -> Conversion:
    path = tmp_path / "old" / "config.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return convert_profile(path.parent, workspace_claim)


def kinds(out: Conversion) -> dict[str, str]:
    return {f.key: f.kind for f in out.findings}


def test_a_lab_profile(tmp_path: Path) -> None:
    out = from_profile(tmp_path, LAB_PROFILE)
    assert out.profile() == {
        "executor": "kubecall", "jobs": 50, "retries": 2,
        "kubecall-image": "ghcr.io/lab/calling:1.4", "kubecall-namespace": "genomics",
        "kubecall-cpu-scalar": 0.9, "kubecall-service-account": "snakemake-jobs",
        "kubecall-datasource-claim": "refs", "kubecall-datasource-path": "/refs",
        "kubecall-keep-jobs": False,
        "kubecall-node-selector": "node.kubernetes.io/instance-type=n2-standard-8",
        "default-resources": {"mem_mb": 4000, "disk_mb": 10000},
        "set-resources": {"call_batch": {"mem_mb": 16000}},
        "set-threads": {"call_batch": 4}, "printshellcmds": True,
        "kubecall-workspace-claim": "shared-workspace", "kubecall-workspace-path": "/workspace",
        "latency-wait": 60, "scheduler": "greedy",
    }
    assert kinds(out) == {
        "kubernetes-persistent-volumes: archive:/archive": "untranslatable",
        "default-storage-provider": "untranslatable", "default-storage-prefix": "untranslatable",
        "storage-s3-endpoint-url": "untranslatable", "storage-s3-access-key": "untranslatable",
        "storage-s3-secret-key": "untranslatable", "envvars": "untranslatable",
        "set-resources: call_batch: gpu": "untranslatable",
        "set-resources: call_batch: gpu_manufacturer": "untranslatable",
        "set-resources: call_batch: scale": "untranslatable",
        "slurm-partition": "unknown",
    }
    assert out.notes == ["kubernetes-privileged: false - kubecall pods are never privileged; "
                         "nothing to set."]


def test_command_line_spellings_and_privileged(tmp_path: Path) -> None:
    out = from_profile(tmp_path, LIST_PROFILE)
    profile = out.profile()
    assert profile["kubecall-workspace-claim"] == "shared-workspace"
    assert profile["kubecall-workspace-path"] == "/workspace"
    assert profile["kubecall-datasource-claim"] == "pv1000g"
    assert profile["kubecall-datasource-path"] == "/datasource"
    assert profile["kubecall-keep-jobs"] is True
    assert profile["default-resources"] == {"mem_mb": 2000, "runtime": 60}
    assert profile["set-resources"] == {"call_batch": {"mem_mb": 8000}}
    assert profile["set-threads"] == {"preflight_cohort": 2}
    assert profile["latency-wait"] == 30  # the source's value, not the added default
    assert set(kinds(out)) == {
        "kubernetes-privileged", "set-resources: call_batch: machine_type", "shared-fs-usage",
        "local-storage-prefix", "remote-job-local-storage-prefix", "storage-s3-region",
        "storage-s3-signature-version", "storage-s3-retries", "storage-s3-token",
        "storage-gcs-project", "software-deployment-method"}
    assert "activeDeadlineSeconds" in next(e.comment for e in out.entries
                                           if e.key == "default-resources")


def test_the_workspace_named_by_option(tmp_path: Path) -> None:
    out = from_profile(tmp_path, NAMED_PROFILE, workspace_claim="rwx-work")
    profile = out.profile()
    assert (profile["kubecall-workspace-claim"], profile["kubecall-workspace-path"]) == \
        ("rwx-work", "/work")
    assert (profile["kubecall-datasource-claim"], profile["kubecall-datasource-path"]) == \
        ("inputs", "/inputs")
    assert profile["kubecall-namespace"] == "calling"
    assert profile["kubecall-memory-growth"] == 2.0
    assert profile["keep-going"] is True
    # executor: slurm is not carried over; kubecall's executor is added, saying so.
    assert profile["executor"] == "kubecall"
    assert set(kinds(out)) == {"executor", "kubernetes-persistent-volumes: extra:/extra"}


def test_a_snakemake7_command_with_s3_staging() -> None:
    out = convert_command(COMMAND_S3)
    assert out.profile() == {
        "executor": "kubecall", "kubecall-namespace": "default",
        "kubecall-image": "snakemake/snakemake:v7.32.4", "kubecall-cpu-scalar": 0.9,
        "jobs": 20, "retries": 3,
        "default-resources": {"mem_mb": 2000, "disk_mb": 4000},
        "kubecall-workspace-claim": "shared-workspace", "kubecall-workspace-path": "/workspace",
        "kubecall-datasource-claim": "none", "latency-wait": 60, "scheduler": "greedy",
    }
    assert kinds(out) == {"default-remote-provider": "untranslatable",
                          "default-remote-prefix": "untranslatable",
                          "envvars": "untranslatable", "cluster-config": "untranslatable",
                          "use-conda": "untranslatable",
                          "target all": "untranslatable"}


def test_a_snakemake7_command_for_gke() -> None:
    out = convert_command(COMMAND_GKE)
    profile = out.profile()
    assert profile["kubecall-namespace"] == "genomics"
    assert profile["kubecall-service-account"] == "wi-jobs"
    assert profile["kubecall-image"] == "eu.gcr.io/lab/calling:2"
    assert profile["latency-wait"] == 30
    assert profile["set-threads"] == {"call_batch": 4}
    assert profile["set-resources"] == {"call_batch": {"mem_mb": 8000}}
    assert profile["printshellcmds"] is True and profile["keep-going"] is True
    assert kinds(out) == {"no-shared-fs": "untranslatable", "use-singularity": "untranslatable",
                          "tibanna": "untranslatable", "preemption-default": "untranslatable",
                          "cluster": "untranslatable", "cluster-status": "untranslatable",
                          "google-lifesciences": "untranslatable", "k8s-not-a-flag": "unknown"}


def test_the_cases_cover_every_key_of_the_tables() -> None:
    keys = set()
    for text in (LAB_PROFILE, LIST_PROFILE, NAMED_PROFILE):
        keys |= {k.replace("_", "-") for k in yaml.safe_load(text)}
    for command in (COMMAND_S3, COMMAND_GKE):
        keys |= set(parse_command(command)[0])
    assert set(HANDLERS) | set(SNAKEMAKE7_ONLY) <= keys


def test_the_migration_page_lists_every_key_of_the_tables() -> None:
    page = (REPO / "docs" / "migrating-from-snakemake-kubernetes.md").read_text()
    first_cells = re.findall(r"^\| ([^|]+)\|", page, re.MULTILINE)
    shown = {key for cell in first_cells
             for key in re.findall(r"`(?:--)?([a-z][a-z0-9-]*)", cell)}
    assert set(HANDLERS) | set(SNAKEMAKE7_ONLY) <= shown


def test_the_cli_prints_a_commented_profile_and_names_each_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "config.yaml").write_text(LAB_PROFILE)
    assert main(["profile", "convert", str(tmp_path / "old")]) == 0
    printed = capsys.readouterr()
    lines = printed.out.splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[a-z]", line):
            assert lines[number - 1].startswith("# "), f"{line!r} has no comment"
    assert "warning: untranslatable key 'kubernetes-persistent-volumes: archive:/archive'" \
        in printed.err
    assert "warning: unknown key 'slurm-partition'" in printed.err
    assert "11 not translated" in printed.err
    for secret in SECRETS[:2]:
        assert secret not in printed.out + printed.err


def test_errors_name_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(KubecallError, match=r"nowhere: no such profile file"):
        convert_profile(tmp_path / "nowhere")
    (tmp_path / "config.yaml").write_text("- just\n- a list\n")
    with pytest.raises(KubecallError, match=r"config.yaml: a profile is a mapping"):
        convert_profile(tmp_path)
    (tmp_path / "config.yaml").write_text("kubernetes-persistent-volumes: [nopath]\n")
    with pytest.raises(KubecallError, match=r"'nopath' is not NAME:/PATH"):
        convert_profile(tmp_path)
    (tmp_path / "config.yaml").write_text("default-resources: [mem_mb]\n")
    with pytest.raises(KubecallError, match=r"default-resources: 'mem_mb' is not KEY=VALUE"):
        convert_profile(tmp_path)
    with pytest.raises(KubecallError, match=r"does not run snakemake"):
        convert_command("python run.py --kubernetes")
    assert main(["profile", "convert"]) == 2
    out = tmp_path / "new"
    assert main(["profile", "convert", str(tmp_path / "old-missing"), "-o", str(out)]) == 2
    assert not out.exists()


def demo_config(tmp_path: Path) -> Path:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config["reference"] = str(REPO / "resources" / "demo" / "ref.fa")
    config["samples"] = str(REPO / "config" / "samples.tsv")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.parametrize("source", ["LAB_PROFILE", "LIST_PROFILE", "NAMED_PROFILE",
                                    "COMMAND_S3", "COMMAND_GKE"])
def test_snakemake_accepts_the_converted_profile(tmp_path: Path, source: str) -> None:
    text = globals()[source]
    args = ["--command", text] if source.startswith("COMMAND") else [str(tmp_path / "old")]
    if not source.startswith("COMMAND"):
        (tmp_path / "old").mkdir()
        (tmp_path / "old" / "config.yaml").write_text(text)
    assert main(["profile", "convert", *args, "-o", str(tmp_path / "new")]) == 0
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
         "--directory", str(tmp_path), "--configfile", str(demo_config(tmp_path)),
         "--profile", str(tmp_path / "new"), "--workflow-profile", "none", "--dry-run"],
        capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "This was a dry-run" in done.stdout + done.stderr
    assert re.search(r"call_batch\s+\d+", done.stdout + done.stderr)
