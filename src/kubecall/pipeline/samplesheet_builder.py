"""``kubecall samplesheet``: build a sample sheet from alignments on disk or a 1000 Genomes index.

Two sources, one result:

- a directory tree, e.g. the 1000 Genomes layout
  ``ROOT/phase3/data/<SAMPLE>/alignment/<SAMPLE>.mapped.ILLUMINA.bwa.<POP>.low_coverage.<date>.bam``
  with its ``.bai`` next to it;
- a 1000 Genomes ``.alignment.index`` file (tab-separated: alignment path, md5, index path,
  md5, ...), either with a named header line (``BAM_FILE``/``CRAM``, with or without ``#``
  and ``##`` metadata lines before it) or with none (columns by position).

Populations come from a panel file (``integrated_call_samples_v3.20130502.ALL.panel``:
sample, pop, super_pop, gender). Whatever is left out is reported with the reason.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from kubecall.errors import KubecallError
from kubecall.pipeline.samplesheet import SAMPLE_NAME

ALIGNMENT_SUFFIXES = (".bam", ".cram")
INDEX_SUFFIXES = (".bai", ".crai", ".csi")
# Files that travel with alignments in the 1000 Genomes tree; not worth a skip line each.
SIDECAR_SUFFIXES = (*INDEX_SUFFIXES, ".bas", ".md5", ".txt", ".stats")
# Where the 1000 Genomes FTP tree starts in index URLs (ftp://…/vol1/ftp/phase3/data/…).
FTP_ROOT = "/vol1/ftp/"


@dataclass(frozen=True)
class Candidate:
    """An alignment found by a source, before filtering; ``index`` None when none found."""

    sample: str
    alignment: Path
    index: Path | None


@dataclass(frozen=True)
class Skipped:
    """Something left out of the sheet, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class PanelEntry:
    """One sample's line of a 1000 Genomes panel file."""

    population: str
    super_population: str


@dataclass
class BuiltSheet:
    """The rows of the sheet and what was left out."""

    rows: list[dict[str, str]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    without_panel: list[str] = field(default_factory=list)


def sample_of(alignment: Path) -> str:
    """The sample a 1000 Genomes file belongs to: its name up to the first dot."""
    return alignment.name.split(".", 1)[0]


def index_next_to(alignment: Path) -> Path | None:
    """The alignment's index under a standard name, as htslib looks for it."""
    if alignment.suffix == ".cram":
        names = (f"{alignment}.crai", alignment.with_suffix(".crai"))
    else:
        names = (f"{alignment}.bai", alignment.with_suffix(".bai"), f"{alignment}.csi",
                 alignment.with_suffix(".csi"))
    return next((Path(name) for name in names if Path(name).is_file()), None)


def scan_tree(root: Path) -> tuple[list[Candidate], list[Skipped]]:
    """Every BAM/CRAM under ``root`` (symlinks followed, sorted), and the files that are not."""
    if not root.is_dir():
        raise KubecallError(f"{root} is not a directory; give the root of the alignment tree")
    candidates: list[Candidate] = []
    skipped: list[Skipped] = []
    for directory, subdirs, files in os.walk(root, followlinks=True):
        subdirs.sort()
        for name in sorted(files):
            path = Path(directory) / name
            if path.suffix in ALIGNMENT_SUFFIXES:
                candidates.append(Candidate(sample_of(path), path, index_next_to(path)))
            elif not name.endswith(SIDECAR_SUFFIXES) and not name.startswith("."):
                skipped.append(Skipped(str(path), "not an alignment (.bam or .cram)"))
    return candidates, skipped


def read_alignment_index(
    index_file: Path, base: Path, check_files: bool = True
) -> tuple[list[Candidate], list[Skipped]]:
    """Alignments listed in a 1000 Genomes ``.alignment.index``, located under ``base``.

    Paths in the file are relative to the FTP root or full FTP/HTTP URLs; both are taken
    relative to ``base`` (the mount holding the FTP tree). With ``check_files``, listed
    files missing under ``base`` are skipped with that reason.
    """
    if not index_file.is_file():
        raise KubecallError(f"alignment index {index_file} not found")
    lines = [line.rstrip("\r\n") for line in index_file.read_text().splitlines()]
    body = [line for line in lines if line.strip() and not line.startswith("##")]
    if not body:
        raise KubecallError(f"{index_file}: no alignments listed")
    first = body[0].lstrip("#").split("\t")
    if _is_header(first):
        alignment_col, index_col = _columns(first, index_file)
        body = body[1:]
    else:
        alignment_col, index_col = 0, 2  # path, md5, index path, md5, ...
    candidates: list[Candidate] = []
    skipped: list[Skipped] = []
    for line in body:
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) <= alignment_col:
            skipped.append(Skipped(line[:80], f"{index_file}: line has too few columns"))
            continue
        alignment = _on_mount(fields[alignment_col], base)
        listed_index = fields[index_col].strip() if index_col < len(fields) else ""
        index = _on_mount(listed_index, base) if listed_index else None
        if alignment.suffix not in ALIGNMENT_SUFFIXES:
            skipped.append(Skipped(str(alignment), "not an alignment (.bam or .cram)"))
            continue
        if check_files and not alignment.is_file():
            skipped.append(Skipped(str(alignment), f"listed in the index but not under {base}"))
            continue
        if check_files and (index is None or not index.is_file()):
            index = index_next_to(alignment)  # an index column may be empty or stale
        candidates.append(Candidate(sample_of(alignment), alignment, index))
    return candidates, skipped


def _is_header(fields: Sequence[str]) -> bool:
    return any(re.fullmatch(r"(BAM|CRAM)(_FILE)?", f.strip().upper()) for f in fields)


def _columns(header: Sequence[str], index_file: Path) -> tuple[int, int]:
    names = [name.strip().upper() for name in header]
    alignment = next(i for i, n in enumerate(names) if re.fullmatch(r"(BAM|CRAM)(_FILE)?", n))
    index = next((i for i, n in enumerate(names) if re.fullmatch(r"(BAI|CRAI|CSI)(_FILE)?", n)),
                 None)
    if index is None:
        raise KubecallError(
            f"{index_file}: header names no index column (BAI_FILE, BAI, CRAI or CSI); "
            f"is this an alignment index?"
        )
    return alignment, index


def _on_mount(listed: str, base: Path) -> Path:
    """Where a path or URL from the index lives under the mount ``base``."""
    listed = listed.strip()
    if "://" in listed:
        after_host = listed.split("://", 1)[1].split("/", 1)[-1]
        listed = ("/" + after_host).split(FTP_ROOT, 1)[-1]
    return base / listed.lstrip("/")


def read_panel(path: Path) -> dict[str, PanelEntry]:
    """A 1000 Genomes panel (sample, pop, super_pop, gender; header line) by sample."""
    if not path.is_file():
        raise KubecallError(f"panel file {path} not found")
    with open(path, newline="") as handle:
        rows = [row for row in csv.reader(handle, delimiter="\t") if row and row[0].strip()]
    header = [name.strip() for name in rows[0]] if rows else []
    if not {"sample", "pop", "super_pop"} <= set(header):
        raise KubecallError(
            f"{path}: header must name columns sample, pop and super_pop (tab-separated), "
            f"as integrated_call_samples_v3.20130502.ALL.panel does"
        )
    at = {name: header.index(name) for name in ("sample", "pop", "super_pop")}
    return {row[at["sample"]].strip(): PanelEntry(row[at["pop"]].strip(),
                                                  row[at["super_pop"]].strip())
            for row in rows[1:] if len(row) > max(at.values())}


def build_sheet(
    candidates: Iterable[Candidate],
    panel: dict[str, PanelEntry] | None = None,
    match: str | None = None,
) -> BuiltSheet:
    """Sheet rows from candidates: one alignment per sample, each indexed, in sample order.

    ``match`` is a regular expression the file name must contain (e.g. ``low_coverage``),
    to choose among several alignments of one sample.
    """
    pattern = re.compile(match) if match else None
    built = BuiltSheet()
    chosen: dict[str, Candidate] = {}
    for candidate in sorted(candidates, key=lambda c: (c.sample, str(c.alignment))):
        path, name = str(candidate.alignment), candidate.alignment.name
        if pattern is not None and not pattern.search(name):
            built.skipped.append(Skipped(path, f"name does not match --match {match!r}"))
        elif ".unmapped." in name:
            built.skipped.append(Skipped(path, "unmapped reads only (nothing to call)"))
        elif not SAMPLE_NAME.match(candidate.sample):
            built.skipped.append(Skipped(path, f"sample name {candidate.sample!r} is not valid "
                                               f"(letters, digits, '.', '_', '-')"))
        elif candidate.index is None:
            built.skipped.append(Skipped(path, "no index (.bai/.csi/.crai) next to it; run "
                                               "'samtools index' on it"))
        elif candidate.sample in chosen:
            kept = chosen[candidate.sample].alignment
            built.skipped.append(Skipped(path, f"duplicate sample {candidate.sample} (kept "
                                               f"{kept}; use --match to choose)"))
        else:
            chosen[candidate.sample] = candidate
    for sample, candidate in chosen.items():
        row = {"sample": sample, "alignment": str(candidate.alignment),
               "index": str(candidate.index)}
        if panel is not None:
            entry = panel.get(sample)
            if entry is None:
                built.without_panel.append(sample)
            row["population"] = entry.population if entry else ""
            row["super_population"] = entry.super_population if entry else ""
        built.rows.append(row)
    return built


def write_sheet(built: BuiltSheet, out: TextIO, source: str) -> None:
    """The sheet as TSV, with a comment naming its source."""
    if not built.rows:
        raise KubecallError(f"no usable alignment found in {source}; nothing to write "
                            f"({len(built.skipped)} skipped)")
    columns = list(built.rows[0])
    out.write(f"# built by 'kubecall samplesheet' from {source}: {len(built.rows)} samples, "
              f"{len(built.skipped)} file(s) skipped\n")
    writer = csv.writer(out, delimiter="\t", lineterminator="\n")
    writer.writerow(columns)
    for row in built.rows:
        writer.writerow([row[column] for column in columns])


def report(built: BuiltSheet, stream: TextIO) -> None:
    """What was left out and why, grouped by reason, for the person running the command."""
    by_reason: dict[str, list[str]] = {}
    for item in built.skipped:
        by_reason.setdefault(item.reason, []).append(item.path)
    print(f"{len(built.rows)} sample(s) in the sheet, {len(built.skipped)} file(s) skipped",
          file=stream)
    for reason, paths in by_reason.items():
        print(f"skipped {len(paths)}: {reason}", file=stream)
        for path in paths:
            print(f"  {path}", file=stream)
    if built.without_panel:
        print(f"{len(built.without_panel)} sample(s) not in the panel (population left empty): "
              f"{', '.join(built.without_panel)}", file=stream)


def run(args: argparse.Namespace) -> int:
    """The sub-command: scan, build, write, report."""
    # Absolute paths: the sheet's relative paths would be read against the sheet's directory.
    if args.index_file:
        base = (args.base or args.index_file.parent).absolute()
        candidates, skipped = read_alignment_index(args.index_file, base, not args.no_check)
        source = str(args.index_file)
    else:
        candidates, skipped = scan_tree(args.tree.absolute())
        source = str(args.tree)
    panel = read_panel(args.panel) if args.panel else None
    built = build_sheet(candidates, panel, args.match)
    built.skipped[:0] = skipped
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        with open(args.output, "w", newline="") as handle:
            write_sheet(built, handle, source)
    else:
        write_sheet(built, sys.stdout, source)
    report(built, sys.stderr)
    return 0


EXAMPLES = """examples:
  kubecall samplesheet --tree /datasource/1000g/phase3/data --match low_coverage \\
      --panel /datasource/1000g/integrated_call_samples_v3.20130502.ALL.panel -o samples.tsv
  kubecall samplesheet --index-file 20130502.phase3.low_coverage.alignment.index \\
      --base /datasource/1000g/phase3 -o samples.tsv
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``kubecall samplesheet``."""
    parser = subparsers.add_parser(
        "samplesheet",
        help="build a sample sheet from an alignment tree or a 1000 Genomes index",
        description="Build a sample sheet (sample, alignment, index[, population, "
                    "super_population]) and report every file left out, with the reason.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--tree", type=Path, metavar="DIR",
                        help="directory to search for .bam/.cram files (symlinks followed)")
    source.add_argument("--index-file", type=Path, metavar="FILE",
                        help="1000 Genomes .alignment.index (tab-separated)")
    parser.add_argument("--base", type=Path, metavar="DIR",
                        help="with --index-file: where the index's paths live (the FTP tree "
                             "root on the mount; default: the index file's directory)")
    parser.add_argument("--no-check", action="store_true",
                        help="with --index-file: do not check that listed files exist")
    parser.add_argument("--panel", type=Path, metavar="FILE",
                        help="panel file (sample, pop, super_pop, gender) for the population "
                             "and super_population columns")
    parser.add_argument("--match", metavar="REGEX",
                        help="keep only files whose name matches, e.g. low_coverage")
    parser.add_argument("-o", "--output", type=Path, metavar="TSV",
                        help="sheet to write (default: standard output)")
    parser.set_defaults(func=run)
