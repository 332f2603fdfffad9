"""A Snakemake 7 command line (``snakemake --kubernetes NS ...``) as profile-style keys."""

from __future__ import annotations

import shlex

import yaml

from kubecall.errors import KubecallError
from kubecall.migration.options import SHORT, nargs


def scalar(text: str) -> object:
    """A command-line word typed as a profile value would be (100 -> int, true -> bool)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (int, float, bool)) else text


def parse_command(command: str) -> tuple[dict[str, object], list[str]]:
    """The options of a ``snakemake ...`` command line by key (no dashes), and its targets."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise KubecallError(f"--command: cannot split {command!r} ({exc}); quote it as a "
                            "shell would") from exc
    starts = [i for i, w in enumerate(words) if w.rsplit("/", 1)[-1] == "snakemake"]
    if not starts:
        raise KubecallError(f"--command: {command!r} does not run snakemake; give the whole "
                            "command line, e.g. --command 'snakemake --kubernetes NS ...'")
    words = words[starts[0] + 1:]
    options: dict[str, object] = {}
    targets: list[str] = []
    while words:
        word = words.pop(0)
        if not word.startswith("-"):
            targets.append(word)
            continue
        key, _, inline = word.partition("=")
        key = SHORT.get(key, key.lstrip("-"))
        if inline:
            options[key] = scalar(inline)
            continue
        count = nargs(key)
        values: list[str] = []
        while words and not words[0].startswith("-") and (count == "+" or not values) \
                and count != 0:
            values.append(words.pop(0))
        if count == "+":
            options[key] = values
        elif values:
            options[key] = scalar(values[0])
        else:
            options[key] = True
    return options, targets
