"""Static checks: lint, profile documentation, conda pins, CLI help."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO


def test_ruff_is_clean() -> None:
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "workflow",
                           "bench"], cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_snakemake_lint_is_clean() -> None:
    done = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=REPO,
                          capture_output=True, text=True, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "Congratulations" in output, output


@pytest.mark.parametrize("profile", sorted((REPO / "profiles").glob("*/config.yaml")),
                         ids=lambda p: p.parent.name)
def test_every_profile_key_has_a_comment_saying_why(profile: Path) -> None:
    lines = profile.read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^[a-z]", line):
            above = lines[number - 1] if number else ""
            assert above.startswith("#"), f"{profile}:{number + 1}: {line!r} has no comment"


def test_conda_pins_agree_with_the_user_environment() -> None:
    """Each tool has one version across environment.yml and workflow/envs/."""
    def pins(path: Path) -> dict[str, str]:
        deps = yaml.safe_load(path.read_text())["dependencies"]
        exact = [d for d in deps if isinstance(d, str) and re.match(r"^[\w-]+=[^=<>]", d)]
        return dict(d.split("=", 1) for d in exact)

    main = pins(REPO / "environment.yml")
    assert main["freebayes"].startswith("1.3.")
    for env in sorted((REPO / "workflow" / "envs").glob("*.yaml")):
        for tool, version in pins(env).items():
            assert main.get(tool) == version, f"{env.name}: {tool}={version}"


def registered_commands() -> list[list[str]]:
    """Every sub-command (and nested verb) the CLI registry builds, read from the parser."""
    from kubecall.cli import build_parser

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> list[list[str]]:
        found = [path]
        for action in parser._actions:  # argparse keeps sub-parsers only here
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found += walk(sub, [*path, name])
        return found
    return walk(build_parser(), [])


@pytest.mark.parametrize("command", registered_commands(), ids=" ".join)
def test_cli_help(command: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "kubecall.cli", *command, "--help"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "usage: kubecall" in done.stdout


def test_every_rule_has_a_log_and_a_benchmark() -> None:
    for smk in sorted((REPO / "workflow" / "rules").glob("*.smk")):
        blocks = re.split(r"^rule ", smk.read_text(), flags=re.MULTILINE)[1:]
        for block in blocks:
            name = block.split(":", 1)[0]
            assert "\n    log:" in block, f"{smk.name}: rule {name} has no log"
            assert "\n    benchmark:" in block, f"{smk.name}: rule {name} has no benchmark"


def test_every_config_key_is_documented_in_config_readme() -> None:
    from kubecall.pipeline.config import load_schema

    readme = (REPO / "config" / "README.md").read_text()
    schema = load_schema(REPO / "workflow" / "schemas" / "config.schema.yaml")

    def keys(node: dict, prefix: str = "") -> list[str]:
        found = []
        for name, sub in node.get("properties", {}).items():
            dotted = f"{prefix}{name}"
            found += keys(sub, f"{dotted}.") if "properties" in sub else [dotted]
        return found

    missing = [key for key in keys(schema) if f"`{key}`" not in readme]
    assert missing == []
