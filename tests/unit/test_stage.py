"""``kubecall stage``: what gets packed, what the unpacker refuses, what it leaves alone."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

import kubecall.cluster.stage_unpack as unpacker
from kubecall import cli
from kubecall.cluster.stage import MAX_ARCHIVE_BYTES, build_archive, collect
from kubecall.errors import KubecallError
from tests.conftest import REPO


def checkout(root: Path) -> Path:
    """A minimal kubecall checkout: the four things staging requires."""
    root.mkdir()
    (root / "Snakefile").write_text("include: 'workflow/rules/common.smk'\n")
    for name in ("workflow/rules", "config", "profiles/default"):
        (root / name).mkdir(parents=True)
    (root / "workflow" / "rules" / "common.smk").write_text("# rules\n")
    (root / "workflow" / "rules" / "__pycache__").mkdir()
    (root / "workflow" / "rules" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (root / "config" / "config.yaml").write_text("samples: config/samples.tsv\n")
    (root / "profiles" / "default" / "config.yaml").write_text("cores: all\n")
    return root


def tarball(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info, data in members:
            info.size = len(data) if info.isreg() else 0
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def regular(name: str, mtime: int = 1_700_000_000) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime, info.mode = mtime, 0o644
    return info


def link(name: str, kind: bytes, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


# ---- what the unpacker refuses ----------------------------------------------------------------
@pytest.mark.parametrize(("member", "problem"), [
    (regular("/etc/cron.d/x"), "absolute or empty path"),
    (regular("config/../../escape"), "'..' in the path"),
    (regular("../escape"), "'..' in the path"),
    (link("config/link", tarfile.SYMTYPE, "/etc/passwd"), "not a regular file or directory"),
    (link("config/hard", tarfile.LNKTYPE, "Snakefile"), "not a regular file or directory"),
    (regular("results/calls/cohort.vcf.gz"), "under results/, which belongs to the runs"),
    (regular("logs/x.log"), "under logs/"),
    (regular(".snakemake/locks/0.input.lock"), "under .snakemake/"),
])
def test_unsafe_members_are_refused_before_anything_is_written(
        tmp_path: Path, member: tarfile.TarInfo, problem: str) -> None:
    archive = tarball(tmp_path / "a.tar.gz", [(regular("Snakefile"), b"fine\n"), (member, b"x")])
    workdir = tmp_path / "workspace" / "run"
    with pytest.raises(unpacker.UnsafeArchive, match="refusing the archive") as refused:
        unpacker.unpack(archive, workdir)
    assert problem in str(refused.value) and repr(member.name) in str(refused.value)
    assert not workdir.exists()


def test_a_symlink_out_of_the_workdir_is_refused_before_anything_is_written(
        tmp_path: Path) -> None:
    outside, workdir = tmp_path / "outside", tmp_path / "workdir"
    outside.mkdir()
    workdir.mkdir()
    (workdir / "config").symlink_to(outside)
    archive = tarball(tmp_path / "a.tar.gz", [(regular("Snakefile"), b"x\n"),
                                              (regular("config/config.yaml"), b"y\n")])
    with pytest.raises(unpacker.UnsafeArchive, match="leads out of .* through a symlink"):
        unpacker.unpack(archive, workdir)
    assert list(outside.iterdir()) == [] and sorted(workdir.iterdir()) == [workdir / "config"]


# ---- what it writes and what it leaves alone --------------------------------------------------
def test_restaging_leaves_results_and_unchanged_files_alone(tmp_path: Path) -> None:
    workdir = tmp_path / "workdir"
    (workdir / "results" / "calls").mkdir(parents=True)
    (workdir / "logs").mkdir()
    vcf = workdir / "results" / "calls" / "cohort.vcf.gz"
    vcf.write_bytes(b"calls")
    (workdir / "logs" / "call.log").write_text("log\n")
    first = tarball(tmp_path / "1.tar.gz", [(regular("Snakefile", 1_600_000_000), b"v1\n"),
                                            (regular("config/c.yaml", 1_600_000_000), b"a: 1\n")])
    assert unpacker.unpack(first, workdir) == (2, 8, 0)
    assert (workdir / "Snakefile").stat().st_mtime == 1_600_000_000  # the checkout's mtime
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in workdir.rglob("*")
              if p.is_file()}
    assert unpacker.unpack(first, workdir) == (2, 8, 2)
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in workdir.rglob("*")
            if p.is_file()} == before
    changed = tarball(tmp_path / "2.tar.gz", [(regular("Snakefile", 1_700_000_000), b"v2\n"),
                                              (regular("config/c.yaml", 1_600_000_000),
                                               b"a: 1\n")])
    assert unpacker.unpack(changed, workdir) == (2, 8, 1)
    assert (workdir / "Snakefile").read_bytes() == b"v2\n"
    assert vcf.read_bytes() == b"calls" and (workdir / "logs" / "call.log").is_file()
    assert sorted(p.name for p in workdir.iterdir()) == ["Snakefile", "config", "logs",
                                                        "results"]  # no temporary left


def test_the_unpacker_needs_only_the_standard_library(tmp_path: Path) -> None:
    """The pod runs it as a plain script with whatever python the image has."""
    source = checkout(tmp_path / "checkout")
    archive = tmp_path / "workflow.tar.gz"
    archive.write_bytes(build_archive(collect(source, [])))
    script = tmp_path / "unpack.py"
    shutil.copy(unpacker.__file__, script)
    done = subprocess.run([sys.executable, "-I", "-S", str(script), str(archive),
                           str(tmp_path / "workdir")], capture_output=True, text=True,
                          check=False, env={"PATH": os.environ.get("PATH", "")})
    assert done.returncode == 0, done.stderr
    assert "stage: 4 files (" in done.stdout and "4 written, 0 unchanged" in done.stdout
    assert (tmp_path / "workdir" / "profiles" / "default" / "config.yaml").read_text() == \
        "cores: all\n"


# ---- what gets packed -------------------------------------------------------------------------
def test_collect_takes_the_workflow_and_the_includes(tmp_path: Path) -> None:
    source = checkout(tmp_path / "checkout")
    (source / "cohort").mkdir()
    (source / "cohort" / "my.yaml").write_text("x: 1\n")
    names = [f.name for f in collect(source, ["cohort/my.yaml"])]
    assert names == ["Snakefile", "cohort/my.yaml", "config/config.yaml",
                     "profiles/default/config.yaml", "workflow/rules/common.smk"]
    assert build_archive(collect(source, [])) == build_archive(collect(source, []))


@pytest.mark.parametrize(("include", "message"), [
    ("cohort/nosuch.yaml", "--include cohort/nosuch.yaml: no such file or directory"),
    ("../elsewhere.yaml", "--include ../elsewhere.yaml: not inside --source"),
    ("results/old.vcf", "--include results/old.vcf: results/ belongs to the runs"),
])
def test_collect_refuses_bad_includes(tmp_path: Path, include: str, message: str) -> None:
    source = checkout(tmp_path / "checkout")
    (tmp_path / "elsewhere.yaml").write_text("x: 1\n")
    (source / "results").mkdir()
    (source / "results" / "old.vcf").write_text("##\n")
    with pytest.raises(KubecallError, match="^" + message.replace(".", r"\.")):
        collect(source, [include])


def test_a_directory_that_is_not_a_checkout_is_named(tmp_path: Path) -> None:
    with pytest.raises(KubecallError, match="no Snakefile, workflow, config, profiles; run "
                                            "from a kubecall checkout"):
        collect(tmp_path, [])


# ---- the command ------------------------------------------------------------------------------
def test_too_big_is_refused_naming_the_biggest_files(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    source = checkout(tmp_path / "checkout")
    (source / "data").mkdir()
    (source / "data" / "reads.bam").write_bytes(os.urandom(900 * 1024))  # incompressible
    (source / "data" / "ref.fa").write_bytes(os.urandom(100 * 1024))
    assert cli.main(["stage", "--source", str(source), "--include", "data", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the staged files compress to 1000.")
    assert "over the 740.0 KiB a ConfigMap can carry; biggest: data/reads.bam (900.0 KiB), " \
           "data/ref.fa (100.0 KiB), " in err
    assert "on the data source" in err


def test_dry_run_prints_the_manifests_and_contacts_no_cluster(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # No kubeconfig anywhere: connecting would be an error, so 0 means nothing was contacted.
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    source = checkout(tmp_path / "checkout")
    assert cli.main(["stage", "--source", str(source), "--workdir", "/workspace/c1",
                     "--dry-run"]) == 0
    captured = capsys.readouterr()
    configmap, job = yaml.safe_load_all(captured.out)
    assert configmap["kind"] == "ConfigMap" and job["kind"] == "Job"
    assert configmap["binaryData"]["workflow.tar.gz"].startswith("<tar.gz, ")
    assert "4 files" in configmap["binaryData"]["workflow.tar.gz"]
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == [
        "python", "/var/run/kubecall/stage/unpack.py", "/var/run/kubecall/stage/workflow.tar.gz",
        "/workspace/c1"]
    assert "dry run: would stage 4 files" in captured.err


def test_workdir_outside_the_workspace_is_refused(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    source = checkout(tmp_path / "checkout")
    assert cli.main(["stage", "--source", str(source), "--workdir", "/workspace/../etc",
                     "--dry-run"]) == 2
    assert capsys.readouterr().err.startswith("error: --workdir /workspace/../etc: must be "
                                              "/workspace or a directory under it")


def test_the_repository_itself_fits() -> None:
    """This checkout's workflow takes at most half a ConfigMap: room for a user's sheet."""
    assert len(build_archive(collect(REPO, []))) < MAX_ARCHIVE_BYTES // 2
