"""The converted profile as commented YAML, and the findings as warning lines."""

from __future__ import annotations

import textwrap

import yaml

from kubecall.migration.model import Conversion


def comment(text: str, width: int = 92) -> str:
    """``text`` as ``# `` lines, never breaking a word or a hyphenated name."""
    return "\n".join(textwrap.wrap(text, width, initial_indent="# ", subsequent_indent="# ",
                                   break_on_hyphens=False, break_long_words=False)) + "\n"


def render_profile(out: Conversion) -> str:
    """The profile text: a header, then every key under a comment saying where it came from."""
    parts = [comment(f"kubecall profile converted by `kubecall profile convert` from "
                     f"{out.origin}. Keys it could not translate were listed on standard "
                     "error; see docs/migrating-from-snakemake-kubernetes.md."), "\n"]
    for entry in out.entries:
        parts.append(comment(entry.comment))
        parts.append(yaml.safe_dump({entry.key: entry.value}, default_flow_style=False,
                                    sort_keys=False))
    if out.notes or out.findings:
        parts.append("\n" + comment("Read from the source without a kubecall key:"))
        parts += [comment(note) for note in out.notes]
        parts += [comment(f"{f.key}: {f.kind}, {f.reason}") for f in out.findings]
    return "".join(parts)


def render_findings(out: Conversion) -> str:
    """One ``warning: ...`` line per key not carried over (empty when there is none)."""
    return "".join(f.message(out.origin) + "\n" for f in out.findings)
