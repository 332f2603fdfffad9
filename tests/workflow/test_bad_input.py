"""Bad input stops the workflow with a message naming the file and fix; no calling job runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, run_workflow, write_sheet
from tests.support.damage import LOAD_CASES, PREFLIGHT_CASES

pytestmark = pytest.mark.workflow


@pytest.mark.parametrize("case", sorted(PREFLIGHT_CASES | LOAD_CASES))
def test_bad_input_is_refused_before_calling(case: str, na12878: dict[str, Path],
                                             tmp_path: Path) -> None:
    builder = (PREFLIGHT_CASES | LOAD_CASES)[case]
    config, expected = builder(na12878, tmp_path)
    run = run_workflow(tmp_path / "work", config)
    assert run.returncode != 0
    assert re.search(expected, run.stderr), run.stderr[-3000:]
    assert not run.call_jobs_ran
    if case in LOAD_CASES:  # refused at load time: not a single job ran
        assert not (tmp_path / "work" / "logs").exists()


def test_reference_without_index_on_read_only_storage(na12878: dict[str, Path],
                                                      tmp_path: Path) -> None:
    """As on a ReadOnlyMany data volume: the .fai cannot be made, so say what to do."""
    ref_dir = tmp_path / "readonly"
    ref_dir.mkdir()
    shutil.copy(na12878["ref"], ref_dir / "q.fa")
    sheet = write_sheet(tmp_path / "s.tsv", [("1", str(na12878["bam"]))])
    config = {"reference": str(ref_dir / "q.fa"), "samples": str(sheet)}
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "config.yaml").write_text(yaml.safe_dump(config))
    snakemake = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                 "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
                 "--cores", "1"]
    if os.geteuid() == 0:
        # root writes through file modes, so make the directory a read-only mount instead
        script = (f'mount --bind "{ref_dir}" "{ref_dir}" && '
                  f'mount -o remount,bind,ro "{ref_dir}" && exec "$@"')
        command = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                   *snakemake]
    else:
        ref_dir.chmod(0o555)
        command = snakemake
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "has no index q.fa.fai and its directory is read-only" in done.stderr
    assert f"run 'samtools faidx {ref_dir / 'q.fa'}' where you can write" in done.stderr
    assert not (workdir / "logs").exists()


def test_a_python_whose_path_has_a_space_runs_the_workflow(tmp_path: Path) -> None:
    """The rules' shell commands quote the adapters' interpreter (snakemake's script: ran
    `/a b/python script.py` unquoted, snakemake issue 2645, and failed every job)."""
    import shlex
    import sysconfig

    spaced = tmp_path / "my envs" / "bin"
    spaced.mkdir(parents=True)
    (spaced / "python").symlink_to(Path(sys.executable).resolve())
    workdir = tmp_path / "work"
    shutil.copytree(REPO / "config", workdir / "config")
    shutil.copytree(REPO / "resources" / "demo", workdir / "resources" / "demo")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO / "src"), sysconfig.get_paths()["purelib"]])}
    done = subprocess.run(
        [str(spaced / "python"), "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
         "--directory", str(workdir), "--cores", "2", "--printshellcmds"],
        capture_output=True, text=True, check=False, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"{shlex.quote(str(spaced / 'python'))} " in done.stdout + done.stderr
    assert (workdir / "results" / "calls" / "cohort.vcf.gz.tbi").is_file()
    assert (workdir / "results" / "report.html").is_file()
