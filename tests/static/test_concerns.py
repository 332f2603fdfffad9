"""The package's concerns stay apart and each shared fact has one definition."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import REPO

SRC = REPO / "src"
CONTRACT = SRC / "kubecall" / "cluster" / "contract.py"


def test_the_workflow_library_imports_neither_kubernetes_nor_boto3() -> None:
    modules = sorted(p.stem for p in (SRC / "kubecall" / "pipeline").glob("*.py")
                     if p.stem != "__init__")
    code = ("import sys\n" + "".join(f"import kubecall.pipeline.{m}\n" for m in modules)
            + "import kubecall.layout\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('kubernetes', 'boto3', 'botocore', 'urllib3')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]", done.stdout
    assert len(modules) >= 15


def test_what_the_workflow_imports_at_load_time_leaves_pysam_and_jsonschema_out() -> None:
    """Every snakemake start (the driver's, each cluster job's) imports these: pysam is for
    the jobs that read alignments or write VCFs, jsonschema only explains a bad config or
    sheet (kubecall.pipeline.schema_check)."""
    common = (REPO / "workflow" / "rules" / "common.smk").read_text()
    modules = sorted(set(re.findall(r"^\s*from (kubecall[\w.]*) import", common, re.M)))
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pysam', 'jsonschema')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]", done.stdout
    assert "kubecall.pipeline.cohort" in modules


def test_the_cluster_contract_is_defined_once() -> None:
    """Names, labels, paths, image and uid appear as literals only in the contract."""
    facts = [r'"shared-workspace"', r'"pv1000g"', r"ghcr\.io/kubecall", r'"/workspace"',
             r'"/datasource"', r'"kubecall\.io/', r"\b10001\b", r"^Obj = "]
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path == CONTRACT:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if any(re.search(fact, code) for fact in facts):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_no_sys_path_edits_in_the_workflow() -> None:
    hits = [str(p) for p in (REPO / "workflow").rglob("*") if p.is_file()
            and p.suffix in (".py", ".smk") and "sys.path" in p.read_text()]
    assert not hits, hits
