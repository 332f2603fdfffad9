"""A service mesh's sidecar in every job pod (issue 15, finding 6): the outcome is the
snakemake container's, so a job ends when it ends, whether the proxy is a regular container
(the pod stays Running) or a native sidecar; nothing is left running."""

from __future__ import annotations

import os

from tests.executor.conftest import UID, KubeEnv
from tests.support.cluster.mesh import PROXY_NAME

MESHED_SNAKEFILE = """
rule all:
    input: "ok.txt", "bad.txt"

rule ok:
    output: "ok.txt"
    shell: "echo ok > {output}"

rule bad:
    output: "bad.txt"
    shell: "echo bad on purpose >&2; exit 3"
"""


def test_jobs_end_when_their_snakemake_container_ends(meshed_env: KubeEnv) -> None:
    snakefile = meshed_env.rundir / "Snakefile"
    snakefile.write_text(MESHED_SNAKEFILE)
    os.chown(snakefile, UID, UID)
    run = meshed_env.run("--retries", "0", "--keep-going", timeout=600)
    assert run.returncode != 0
    assert (meshed_env.rundir / "ok.txt").read_text() == "ok\n", run.stderr[-3000:]
    assert "container exited with code 1" in run.stderr, run.stderr[-3000:]
    assert "bad on purpose" in meshed_env.failure_logs()
    # Every pod had the proxy; none is left running (a failed job's pod whose proxy still
    # runs is deleted, its log saved; a finished one is kept for `kubecall logs --failed`).
    pods = meshed_env.cluster.list("pods", "kubecall")  # type: ignore[attr-defined]
    assert all(PROXY_NAME in str(p["spec"]) for p in pods)
    assert meshed_env.running() == []
