"""Which snakemake options exist and how many values each takes, read from the installed
snakemake's own argument parser (plus Snakemake 7's Kubernetes-era options, gone since 8)."""

from __future__ import annotations

import functools

# Options of snakemake v7.32.4 (snakemake/__init__.py, get_argument_parser) that Snakemake 9
# no longer has, with their nargs: 0 a flag, "?" an optional value, 1 one value, "+" a list.
SNAKEMAKE7_ONLY: dict[str, object] = {
    "kubernetes": "?",
    "k8s-cpu-scalar": 1,
    "k8s-service-account-name": 1,
    "default-remote-provider": 1,
    "default-remote-prefix": 1,
    "no-shared-fs": 0,
    "cluster": 1,
    "cluster-config": 1,
    "cluster-status": 1,
    "tibanna": 0,
    "google-lifesciences": 0,
    "preemption-default": 1,
}
# Short options of both versions that a command line may use.
SHORT = {"-j": "jobs", "-c": "cores", "-k": "keep-going", "-p": "printshellcmds",
         "-n": "dry-run", "-r": "reason", "-s": "snakefile", "-d": "directory",
         "-T": "restart-times", "-q": "quiet", "-F": "forceall", "-R": "forcerun"}


@functools.cache
def _actions() -> dict[str, object]:
    from snakemake.cli import get_argument_parser

    parser = get_argument_parser()
    return {name[2:]: action for name, action in parser._option_string_actions.items()
            if name.startswith("--")}


def is_snakemake_option(key: str) -> bool:
    """True when the installed snakemake (with its plugins) has ``--key``."""
    return key in _actions()


def nargs(key: str) -> object:
    """How many values ``--key`` takes: 0, "?", 1 or "+" (unknown options: "?")."""
    if key in SNAKEMAKE7_ONLY:
        return SNAKEMAKE7_ONLY[key]
    action = _actions().get(key)
    if action is None:
        return "?"
    count = getattr(action, "nargs", None)
    if count == 0:
        return 0
    if count in ("+", "*") or isinstance(count, int) and count > 1:
        return "+"
    return "?" if count == "?" else 1
