"""A driver outside the cluster (issue 15, finding 10): snakemake hands every job its own
``--runtime-source-cache-path``, under the driver's ``~/.cache``; a job pod (read-only root
filesystem) cannot create that path, so the executor points jobs at a cache in the pod's
writable ``/tmp`` instead, whatever the driver's cache path is."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from tests.executor.conftest import MANY_JOBS_SNAKEFILE, UID, KubeEnv
from tests.support.leftovers import temp_prefix


def test_jobs_run_whatever_the_drivers_cache_path(kube_env: KubeEnv) -> None:
    # A home the driver (uid 10001) can write but no pod can: it is not on any volume and
    # the pods' root filesystem is read-only (as a VM user's /home/<user>/.cache).
    home = Path(tempfile.mkdtemp(prefix=temp_prefix("driver-home"), dir="/var/tmp"))
    try:
        os.chown(home, UID, UID)
        snakefile = kube_env.rundir / "Snakefile"
        snakefile.write_text(MANY_JOBS_SNAKEFILE)
        os.chown(snakefile, UID, UID)
        run = kube_env.run("--config", "jobs=1", "--retries", "0",
                           env={"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")})
        assert (home / ".cache" / "snakemake").is_dir(), "the driver should cache under HOME"
        assert run.returncode == 0, run.stderr[-3000:] + kube_env.failure_logs()
        assert (kube_env.rundir / "many" / "0.txt").read_text() == "0\n"
        assert kube_env.running() == []
    finally:
        shutil.rmtree(home, ignore_errors=True)
