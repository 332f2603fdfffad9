"""Every command the docs show in ```sh blocks exists: kubecall sub-commands answer --help,
make targets are in the Makefile, scripts and profiles are in the repository."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

DOCS = sorted({REPO / "README.md", REPO / "config" / "README.md",
               REPO / "profiles" / "README.md", REPO / "container" / "README.md",
               *REPO.glob("k8s/**/README.md"),
               *REPO.glob("docs/*.md")} & {p for p in REPO.glob("**/*.md")})
# Programs that are not the project's: the docs may show them, nothing to check here.
EXTERNAL = frozenset({
    "apt-get", "bcftools", "buildah", "cat", "cd", "conda", "curl", "docker", "export",
    "freebayes",
    "gcloud", "git", "helm", "kind", "kubectl", "kustomize", "less", "ls", "mc", "minikube",
    "mkdir", "pip", "sbatch", "samtools", "skopeo", "source", "squeue", "tabix", "watch",
    "xdg-open",
})
SHELL_WORDS = frozenset({"for", "do", "done", "if", "then", "fi", "while", "else"})
TOP_DIRS = ("bench/", "config/", "docs/", "k8s/", "profiles/", "scripts/", "tests/",
            "workflow/", "container/", ".ci/")


def sh_commands(doc: Path) -> list[str]:
    """The commands in a file's ```sh blocks: continuations joined, comments dropped, split
    at ``;``, ``&&``, ``||`` and ``|``."""
    commands = []
    for block in re.findall(r"^```(?:sh|bash|shell)\n(.*?)^```", doc.read_text(),
                            re.MULTILINE | re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            line = re.sub(r"(^|\s)#.*$", "", line).strip()
            commands += [part.strip() for part in re.split(r";|&&|\|\||\|", line)
                         if part.strip()]
    return commands


def all_commands() -> list[tuple[str, str]]:
    return [(str(doc.relative_to(REPO)), command) for doc in DOCS
            for command in sh_commands(doc)]


def makefile_targets() -> set[str]:
    return set(re.findall(r"^([a-zA-Z][\w-]*):", (REPO / "Makefile").read_text(),
                          re.MULTILINE))


def words_of(command: str) -> list[str]:
    words = shlex.split(command)
    while words and re.match(r"^[A-Z_]+=", words[0]):  # leading VAR=value
        words.pop(0)
    return words


def test_the_docs_show_commands() -> None:
    shown = {doc for doc, _ in all_commands()}
    assert "README.md" in shown and "config/README.md" in shown


def command_problem(doc: str, command: str) -> str | None:
    """Why ``command`` (shown in ``doc``) does not exist here, or None when it does."""
    words = words_of(command)
    program = words[0].removeprefix(".venv/bin/") if words else ""
    where = f"{doc}: {command!r}"
    if not program or program in SHELL_WORDS or program in EXTERNAL or program.startswith("$"):
        return None
    if program == "kubecall":
        sub = [w for w in words[1:] if not w.startswith("-")][:1]
        done = subprocess.run([sys.executable, "-m", "kubecall.cli", *sub, "--help"],
                              capture_output=True, text=True, check=False)
        ok = done.returncode == 0 and "usage: kubecall" in done.stdout
        return None if ok else f"{where}: 'kubecall {' '.join(sub)} --help' fails"
    if program == "make":
        missing = {w for w in words[1:] if not w.startswith("-") and "=" not in w}
        missing -= makefile_targets()
        return f"{where}: no make target {sorted(missing)}" if missing else None
    if program == "snakemake":
        for flag, value in zip(words, words[1:], strict=False):
            if flag == "--profile" and not (REPO / value / "config.yaml").is_file():
                return f"{where}: no profile {value}"
        return None
    if program in ("python", "python3", "pytest", "bash"):
        if program.startswith("python") and "-m" in words:
            module = words[words.index("-m") + 1]
            base = REPO / Path(*module.split("."))
            found = base.with_suffix(".py").is_file() or (base / "__main__.py").is_file()
            return None if found or module in ("pytest", "pip", "venv") else \
                f"{where}: no module {module}"
        paths = [w.split("::")[0] for w in words[1:] if w.startswith(TOP_DIRS)]
        if not paths:
            return f"{where}: no script path under {TOP_DIRS}"
        missing_paths = [p for p in paths if not (REPO / p).exists()]
        return f"{where}: missing {missing_paths}" if missing_paths else None
    if program.startswith(("./", *TOP_DIRS)):
        return None if (REPO / program).exists() else f"{where}: missing {program}"
    return (f"{where}: unknown program {program!r}; document a project command, or add it "
            f"to EXTERNAL in {Path(__file__).name} if it is another tool")


@pytest.mark.parametrize(("doc", "command"), all_commands(), ids=lambda v: v[:70])
def test_documented_command_exists(doc: str, command: str) -> None:
    assert command_problem(doc, command) is None


# bench/_*.py are the scripts' shared helpers, not scripts.
@pytest.mark.parametrize("script", sorted(p.name for p in (REPO / "bench").glob("[!_]*.py")))
def test_bench_scripts_answer_help(script: str) -> None:
    done = subprocess.run([sys.executable, str(REPO / "bench" / script), "--help"],
                          capture_output=True, text=True, check=False, cwd=REPO)
    assert done.returncode == 0 and "usage:" in done.stdout, done.stderr[-1000:]


def test_the_checker_finds_missing_commands(tmp_path: Path) -> None:
    """The check can fail: a missing make target, sub-command, profile or script is named."""
    doc = tmp_path / "doc.md"
    doc.write_text("```sh\nmake run no-such-target && kubecall progress  # fine\n"
                   "kubecall no-such-command --x \\\n  --y\n"
                   "snakemake --profile profiles/nowhere\npython bench/nowhere.py\n```\n")
    commands = sh_commands(doc)
    assert commands == ["make run no-such-target", "kubecall progress",
                        "kubecall no-such-command --x    --y",
                        "snakemake --profile profiles/nowhere", "python bench/nowhere.py"]
    problems = [command_problem("doc.md", c) for c in commands]
    assert problems[1] is None
    assert "no make target ['no-such-target']" in str(problems[0])
    assert "kubecall no-such-command --help' fails" in str(problems[2])
    assert "no profile profiles/nowhere" in str(problems[3])
    assert "missing ['bench/nowhere.py']" in str(problems[4])
