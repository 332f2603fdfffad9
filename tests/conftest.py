"""Shared fixtures: paths to bundled data and a helper that runs the workflow for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support import leftovers
from tests.support.cluster.hostpaths import remove_stage
from tests.support.image import job_image

# The test-support Kubernetes cluster's fixtures (tests/support/cluster/README.md).
pytest_plugins = ["tests.support.cluster.plugin"]

REPO = Path(__file__).resolve().parents[1]
NA12878 = REPO / "resources" / "na12878"
SCHEMAS = REPO / "workflow" / "schemas"


def pytest_sessionstart(session: pytest.Session) -> None:
    # Everything this session starts inherits the mark (tests/support/leftovers.py).
    os.environ[leftovers.SESSION_ENV] = str(os.getpid())


@pytest.fixture(scope="session")
def job_image_archive() -> Path:
    """This checkout's job image (OCI archive), built at most once per change of its inputs."""
    return job_image()


# What xdist workers (`make test` runs several) found left behind: a worker's own exit
# status does not reach the controller, so the controller fails the session for them.
_WORKER_LEFTOVERS: list[str] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    worker = getattr(node, "workerinput", {}).get("workerid", "?")
    _WORKER_LEFTOVERS.extend(f"{line} (worker {worker})"
                             for line in getattr(node, "workeroutput", {}).get("leftovers", []))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the session if a test left a driver, pod, sandbox, mount, cgroup or
    temporary cluster directory behind (every fixture has ended by now)."""
    remove_stage()
    workeroutput = getattr(session.config, "workeroutput", None)
    found = leftovers.find(every_mount=workeroutput is None)
    leftovers.clean(found)
    if workeroutput is not None:  # an xdist worker: its controller reports them
        workeroutput["leftovers"] = found.lines()
        return
    lines = found.lines() + _WORKER_LEFTOVERS
    if not lines:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = "tests left these behind (now removed):\n  " + "\n  ".join(lines)
    if reporter is not None:
        reporter.write_sep("=", "leftovers", red=True)
        reporter.write_line(message)
    else:
        print(message, file=sys.stderr)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@dataclass
class WorkflowRun:
    """A finished snakemake invocation in its own working directory."""

    workdir: Path
    returncode: int
    stdout: str
    stderr: str

    @property
    def call_jobs_ran(self) -> bool:
        """Whether any calling job started (its log directory is made when one does)."""
        return (self.workdir / "logs" / "call_batch").exists() or (
            self.workdir / "results" / "calls"
        ).exists()


def run_workflow(
    workdir: Path, config: dict, *extra_args: str, cores: int = 2
) -> WorkflowRun:
    """Run the real Snakefile with ``config`` written to ``workdir/config.yaml``."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    command = [
        sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
        "--directory", str(workdir), "--configfile", str(config_path),
        "--cores", str(cores), "--quiet", "rules", *extra_args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    return WorkflowRun(workdir, done.returncode, done.stdout, done.stderr)


def write_sheet(path: Path, rows: list[tuple[str, ...]], header: tuple[str, ...] = ()) -> Path:
    """Write a TSV sample sheet (header defaults to sample, alignment[, index])."""
    if not header:
        width = len(rows[0]) if rows else 2
        header = ("sample", "alignment", "index")[:width]
    lines = ["\t".join(header)] + ["\t".join(map(str, row)) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def na12878(tmp_path: Path) -> dict[str, Path]:
    """A writable copy of the real NA12878 reads (BAM, CRAM, renamed-contig BAM) and references."""
    target = tmp_path / "na12878"
    shutil.copytree(NA12878, target)
    for path in target.iterdir():
        path.chmod(0o644)
    # copytree keeps mtimes; make each index at least as new as its alignment, as on disk.
    for index in target.glob("*.bai"):
        index.touch()
    return {
        "dir": target,
        "ref": target / "q.fa",
        "bam": target / "NA12878.chr22.tiny.bam",
        "cram": target / "NA12878.chr22.tiny.cram",
        "hla_ref": target / "hla.fa",
        "hla_bam": target / "NA12878.chr22.tiny.hla.bam",
    }
