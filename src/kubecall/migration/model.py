"""What a conversion produces: profile entries, and findings for what it could not translate."""

from __future__ import annotations

from dataclasses import dataclass, field

# The sources the translation tables were written from (see the migration doc).
PLUGIN_SOURCE = "snakemake-executor-plugin-kubernetes v0.5.1"
SNAKEMAKE7_SOURCE = "snakemake v7.32.4"
S3_PLUGIN_SOURCE = "snakemake-storage-plugin-s3 v0.3.4"


@dataclass(frozen=True)
class Entry:
    """One key of the converted profile, with the comment saying where it came from."""

    key: str
    value: object
    comment: str


@dataclass(frozen=True)
class Finding:
    """A source key that did not become a kubecall key: ``kind`` is untranslatable or unknown."""

    key: str
    kind: str
    reason: str

    def message(self, origin: str) -> str:
        """The warning line printed on standard error."""
        return f"warning: {self.kind} key '{self.key}' ({origin}): {self.reason}"


@dataclass
class Conversion:
    """The converted profile (in order) and everything that was not carried over."""

    origin: str
    workspace_claim: str | None = None  # which persistent volume is the RWX workspace
    entries: list[Entry] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # keys read that need no kubecall key

    def add(self, key: str, value: object, comment: str) -> None:
        """Add (or replace) a profile key; a later source key wins, as in snakemake."""
        self.entries = [e for e in self.entries if e.key != key]
        self.entries.append(Entry(key, value, comment))

    def has(self, key: str) -> bool:
        return any(e.key == key for e in self.entries)

    def untranslatable(self, key: str, reason: str) -> None:
        self.findings.append(Finding(key, "untranslatable", reason))

    def unknown(self, key: str, reason: str) -> None:
        self.findings.append(Finding(key, "unknown", reason))

    def profile(self) -> dict[str, object]:
        """The converted profile as snakemake would read it."""
        return {e.key: e.value for e in self.entries}
