"""Each rule's conda env provides every module its script imports, found by walking the
imports of the script and of every kubecall module it reaches (function-level ones too: they
run in the job as well)."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

SRC = REPO / "src"
# Import name -> the conda packages that provide it (any one suffices).
PROVIDERS = {
    "yaml": {"pyyaml"}, "numpy": {"numpy"}, "pysam": {"pysam"}, "jsonschema": {"jsonschema"},
    "boto3": {"boto3"}, "botocore": {"boto3", "botocore"},
    "kubernetes": {"python-kubernetes"},
}
# kubecall comes from the env's post-deploy script. snakemake does not: a rule's shell runs
# its adapter in the env's own Python (common.smk, step()).
PROVIDED = {"kubecall"}


def rule_scripts() -> list[tuple[str, Path, Path]]:
    """(rule, adapter, env) for every rule whose shell runs an adapter, with a conda env."""
    found = []
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        for block in re.split(r"^\s*rule ", smk.read_text(), flags=re.MULTILINE)[1:]:
            name = block.split(":", 1)[0]
            script = re.search(r"shell:\s*\n\s*step\(\"(\w+)\"", block)
            env = re.search(r"conda:\s*\n\s*\"([^\"]+)\"", block)
            if script and env:
                found.append((name, REPO / "workflow" / "scripts" / f"{script.group(1)}.py",
                              (smk.parent / env.group(1)).resolve()))
    return found


def imported_modules(path: Path) -> set[str]:
    """Every module name ``path`` imports, anywhere in the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def module_file(name: str) -> Path | None:
    base = SRC / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def third_party_imports(script: Path) -> tuple[set[str], bool]:
    """Top-level third-party modules reached from ``script``, and whether kubecall is."""
    seen: set[Path] = set()
    pending, found, uses_kubecall = [script], set(), False
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_modules(path):
            top = name.split(".")[0]
            if top == "kubecall":
                uses_kubecall = True
                target = module_file(name)
                if target:
                    pending.append(target)
            elif top not in sys.stdlib_module_names and top not in PROVIDED:
                found.add(top)
    return found, uses_kubecall


def env_packages(env: Path) -> set[str]:
    deps = yaml.safe_load(env.read_text())["dependencies"]
    return {re.split(r"[=<>\s]", d, maxsplit=1)[0] for d in deps if isinstance(d, str)}


@pytest.mark.parametrize("rule,script,env", rule_scripts(), ids=lambda v: getattr(v, "name", v))
def test_the_rules_env_provides_what_its_script_imports(rule: str, script: Path,
                                                        env: Path) -> None:
    imports, uses_kubecall = third_party_imports(script)
    packages = env_packages(env)
    missing = sorted(name for name in imports
                     if not PROVIDERS.get(name, {name}) & packages)
    assert not missing, f"rule {rule}: {env.name} lacks {missing} ({script.name} imports them)"
    if uses_kubecall:
        deploy = env.with_name(env.stem + ".post-deploy.sh")
        assert deploy.is_file() and "--editable" in deploy.read_text(), \
            f"rule {rule}: {env.name} has no post-deploy script installing kubecall"
        assert "pip" in packages, f"rule {rule}: {env.name} has no pip for its post-deploy"


def test_the_walk_sees_imports_that_are_only_inside_functions() -> None:
    """The report reads the publication URL through kubecall.publish (boto3) lazily."""
    imports, _ = third_party_imports(REPO / "workflow" / "scripts" / "render_report.py")
    assert {"boto3", "pysam"} <= imports, imports
    assert len(rule_scripts()) >= 9
