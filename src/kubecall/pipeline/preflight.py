"""Check every alignment before any calling job runs, and write the cohort manifest.

JSON Schema checks the sheet's shape; this module checks what only the files can tell:
readable, complete (EOF marker), indexed with a fresh index, contigs matching the reference
by name and length, and exactly one read-group sample (SM) that matches the sheet.
All problems are collected and reported together, each naming the file and the fix.

At 1000 Genomes scale the files are read in a thread pool (pysam releases the GIL while
htslib reads), and what each header says is cached by (path, size, mtime) in a
:class:`~kubecall.pipeline.header_cache.HeaderCache`, so a second run opens no unchanged file.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pysam

from kubecall.errors import KubecallError
from kubecall.pipeline.eof_markers import BGZF_EOF, CRAM3_EOF
from kubecall.pipeline.header_cache import AlignmentFacts, FileStamp, HeaderCache
from kubecall.pipeline.index_check import index_problem
from kubecall.pipeline.reference_check import check_fai_matches, iupac_problem, scan_reference
from kubecall.pipeline.samplesheet import SAMPLE_NAME, Sample

log = logging.getLogger(__name__)

# How many reads from the start of each file are checked for an RG tag freebayes can resolve.
READS_SAMPLED = 1000


@dataclass(frozen=True)
class AlignmentInfo:
    """What preflight learned about one sample's alignment."""

    sample: str
    alignment: Path
    index: Path
    file_format: str
    size: int
    mtime_ns: int

    def htslib_path(self) -> str:
        """The path htslib tools open; ``##idx##`` names an index htslib would not find itself."""
        if self.index in default_index_paths(self.alignment):
            return str(self.alignment)
        return f"{self.alignment}##idx##{self.index}"


def default_index_paths(alignment: Path) -> tuple[Path, ...]:
    """Index files htslib looks for next to an alignment, in its order."""
    if alignment.suffix == ".cram":
        return (Path(f"{alignment}.crai"), alignment.with_suffix(".crai"))
    return (
        Path(f"{alignment}.bai"),
        alignment.with_suffix(".bai"),
        Path(f"{alignment}.csi"),
        alignment.with_suffix(".csi"),
    )


@dataclass(frozen=True)
class CheckResult:
    """The outcome for one alignment: its info when usable, and every problem found."""

    info: AlignmentInfo | None
    problems: list[str]
    read_group_sample: str | None = None
    # Where the header facts came from: "file" (opened now), "cache", or "" (not reached).
    facts_from: str = ""


@dataclass(frozen=True)
class PreflightStats:
    """How preflight got its answers: headers read from files, or taken from the cache."""

    checked: int
    read: int
    cached: int


@dataclass(frozen=True)
class PreflightOutcome:
    """Every usable alignment, in sheet order, and how they were checked."""

    infos: list[AlignmentInfo]
    stats: PreflightStats


def check_alignment(
    sample: Sample,
    reference: Path,
    contigs: Sequence[tuple[str, int]],
    cache: HeaderCache | None = None,
    reference_md5: dict[str, str] | None = None,
) -> CheckResult:
    """Check one alignment: file, EOF marker, index, header contigs, read groups and M5 tags.

    With a ``cache``, an alignment whose path, size and mtime are unchanged is not opened:
    its header facts come from the cache (the index and the sheet are checked every time).
    """
    path = sample.alignment
    where = f"sample {sample.name} (sheet line {sample.line}): {path}"
    if not path.is_file():
        return CheckResult(None, [f"{where}: file not found; fix the 'alignment' column"])
    if not os.access(path, os.R_OK):
        return CheckResult(None, [f"{where}: not readable by this user; fix its permissions"])
    stamp = FileStamp.of(path)
    facts = cache.get(stamp) if cache is not None else None
    facts_from = "cache"
    if facts is None:
        facts_from = "file"
        facts, problems = read_alignment_facts(path, reference, where, reference_md5)
        if facts is None:
            return CheckResult(None, problems, facts_from=facts_from)
        if cache is not None:
            cache.put(stamp, facts)
    index, problems = _find_index(sample, facts.file_format, where)
    problems += _check_contigs(dict(facts.contigs), contigs, where)
    if facts.file_format == "CRAM":
        problems += _check_md5(facts.contig_md5, reference_md5 or {}, reference, where)
    read_group_samples = list(facts.read_group_samples)
    problems += _check_read_groups(read_group_samples, sample.name, path, where)
    if read_group_samples and facts.reads_without_read_group:
        problems.append(
            f"{where}: {facts.reads_without_read_group} of its first {facts.reads_sampled} "
            f"reads carry no RG tag naming one of its @RG lines (freebayes stops with "
            f"\"Couldn't find read group id\"); tag every read, e.g. 'samtools addreplacerg "
            f"-m overwrite_all -r \"ID:{sample.name}\" -r \"SM:{sample.name}\" -o fixed.bam "
            f"{path}', and point the sheet at the result"
        )
    if index is not None and not problems:
        problems += _check_index_belongs(path, index, facts.file_format, reference, contigs,
                                         stamp, cache, where)
    single = read_group_samples[0] if len(read_group_samples) == 1 else None
    if problems or index is None:
        return CheckResult(None, problems, single, facts_from)
    info = AlignmentInfo(
        sample.name, path, index, facts.file_format, stamp.size, stamp.mtime_ns
    )
    return CheckResult(info, [], single, facts_from)


def _check_index_belongs(
    path: Path, index: Path, file_format: str, reference: Path,
    contigs: Sequence[tuple[str, int]], stamp: FileStamp, cache: HeaderCache | None,
    where: str,
) -> list[str]:
    """Read through the index unless the cache saw these exact file and index versions work."""
    index_stamp = FileStamp.of(index)
    if cache is not None and cache.index_verified(stamp, index_stamp):
        return []
    problem = index_problem(path, index, file_format, reference, contigs)
    if problem:
        return [f"{where}: {problem}"]
    if cache is not None:
        cache.mark_index_verified(stamp, index_stamp)
    return []


def read_alignment_facts(
    path: Path, reference: Path, where: str, reference_md5: dict[str, str] | None = None
) -> tuple[AlignmentFacts | None, list[str]]:
    """Open the file: format, completeness (EOF marker), header contigs, read-group samples,
    M5 tags, and whether its first reads carry resolvable RG tags.

    Returns the facts, or None and the problems when the file is not a usable alignment (a
    CRAM whose M5 tags differ from ``reference_md5`` is not decoded).
    """
    fmt = _sniff_format(path)
    if fmt is None:
        return None, [f"{where}: neither BAM nor CRAM (bad magic bytes)"]
    problems = _check_eof(path, fmt, where)
    if problems:
        return None, problems
    try:
        mode = "rc" if fmt == "CRAM" else "rb"
        with pysam.AlignmentFile(
            str(path), mode, reference_filename=str(reference), check_sq=False
        ) as handle:
            header = handle.header.to_dict()
            md5 = tuple((sq["SN"], str(sq["M5"]).lower()) for sq in header.get("SQ", [])
                        if "M5" in sq)
            if fmt == "CRAM" and _check_md5(md5, reference_md5 or {}, reference, where):
                sampled = untagged = 0  # would not decode; check_alignment says why
            else:
                ids = {rg.get("ID") for rg in header.get("RG", [])}
                sampled, untagged = _count_untagged(handle, ids) if ids else (0, 0)
    except (OSError, ValueError) as exc:
        return None, [f"{where}: cannot read the header or first reads ({exc}); recreate "
                      f"the file"]
    contigs = tuple((sq["SN"], int(sq["LN"])) for sq in header.get("SQ", []))
    samples = tuple(sorted({rg.get("SM", "") for rg in header.get("RG", [])} - {""}))
    return AlignmentFacts(fmt, contigs, samples, md5, sampled, untagged), []


def _count_untagged(handle: pysam.AlignmentFile, ids: set) -> tuple[int, int]:
    """Of the first reads, how many were read and how many lack an RG tag among ``ids``."""
    sampled = untagged = 0
    for read in handle.fetch(until_eof=True):
        sampled += 1
        if not read.has_tag("RG") or read.get_tag("RG") not in ids:
            untagged += 1
        if sampled == READS_SAMPLED:
            break
    return sampled, untagged


def _check_md5(
    in_header: Sequence[tuple[str, str]], reference_md5: dict[str, str], reference: Path,
    where: str,
) -> list[str]:
    """A CRAM's @SQ M5 must be the reference's MD5: it decodes against those exact bases."""
    for name, md5 in in_header:
        if name in reference_md5 and reference_md5[name] != md5:
            return [
                f"{where}: contig {name!r} has M5 {md5} in the CRAM header but {reference} "
                f"has MD5 {reference_md5[name]} (same name and length, other bases); set "
                f"'reference' to the FASTA the CRAM was written against"
            ]
    return []


def _sniff_format(path: Path) -> str | None:
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic == b"CRAM":
        return "CRAM"
    if magic[:2] == b"\x1f\x8b":
        return "BAM"
    return None


def _check_eof(path: Path, fmt: str, where: str) -> list[str]:
    """A missing EOF marker means the file was cut short (copy or write interrupted)."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(5)
        if fmt == "CRAM" and head[4:5] != b"\x03":
            return []  # CRAM 2.x has another EOF layout; htslib itself warns there
        marker = CRAM3_EOF if fmt == "CRAM" else BGZF_EOF
        handle.seek(max(0, size - len(marker)))
        tail = handle.read()
    if size <= len(marker):
        return [f"{where}: holds no data (only {size} bytes); recreate or re-copy it"]
    if tail != marker:
        return [
            f"{where}: EOF marker is absent, the file is truncated; re-copy or regenerate it"
        ]
    return []


def _find_index(sample: Sample, fmt: str, where: str) -> tuple[Path | None, list[str]]:
    candidates = (sample.index,) if sample.index else default_index_paths(sample.alignment)
    index = next((c for c in candidates if c.is_file()), None)
    if index is None:
        looked = ", ".join(str(c) for c in candidates)
        return None, [
            f"{where}: no index found (looked for {looked}); "
            f"run 'samtools index {sample.alignment}'"
        ]
    # Whole seconds, as htslib compares: files written in one second (a git checkout) are fine.
    if int(index.stat().st_mtime) < int(sample.alignment.stat().st_mtime):
        return None, [
            f"{where}: index {index} is older than the alignment; rebuild it with "
            f"'samtools index {sample.alignment}'"
        ]
    return index, []


def _check_contigs(
    in_header: dict[str, int], contigs: Sequence[tuple[str, int]], where: str
) -> list[str]:
    """Reference contigs must all be in the header with the same length (extra ones are fine)."""
    problems = []
    for name, length in contigs:
        if name not in in_header:
            problems.append(
                f"{where}: reference contig {name!r} is not in the alignment header; align "
                f"against the same reference or set 'reference' to the one used for alignment"
            )
        elif in_header[name] != length:
            problems.append(
                f"{where}: contig {name!r} is {in_header[name]} bp in the alignment but "
                f"{length} bp in the reference; use the reference the reads were aligned to"
            )
    return problems


def _check_read_groups(names: list[str], expected: str, path: Path, where: str) -> list[str]:
    if not names:
        return [
            f"{where}: no read group with a sample name (@RG SM); add one with "
            f"'samtools addreplacerg -r \"ID:{expected}\" -r \"SM:{expected}\"'"
        ]
    if len(names) > 1:
        return [f"{where}: read groups name several samples ({', '.join(names)}); "
                f"give one alignment per sample"]
    if names[0] != expected and not SAMPLE_NAME.fullmatch(names[0]):
        return [
            f"{where}: read-group sample is {names[0]!r}, which cannot be a sheet name "
            f"(letters, digits, '.', '_', '-'); rewrite the read groups with a valid SM, e.g. "
            f"'samtools addreplacerg -m overwrite_all -r \"ID:{expected}\" -r "
            f"\"SM:{expected}\" -o fixed.bam {path}', and point the "
            f"sheet at the result"
        ]
    if names[0] != expected:
        return [
            f"{where}: read-group sample is {names[0]!r} but the sheet says {expected!r}; "
            f"rename the sheet's sample to {names[0]!r} (freebayes names samples by SM)"
        ]
    return []


def preflight(
    samples: Sequence[Sample],
    reference: Path,
    contigs: Sequence[tuple[str, int]],
    *,
    cache: Path | None = None,
    threads: int = 1,
    progress_every: int = 250,
    iupac: str = "refuse",
) -> list[AlignmentInfo]:
    """Check the whole cohort; raise one error listing every problem, or return the infos."""
    return run_preflight(
        samples, reference, contigs, cache=cache, threads=threads,
        progress_every=progress_every, iupac=iupac,
    ).infos


# Reading a header is mostly waiting on storage, not CPU: several readers per CPU keep a
# network mount busy.
READERS_PER_THREAD = 4


def run_preflight(
    samples: Sequence[Sample],
    reference: Path,
    contigs: Sequence[tuple[str, int]],
    *,
    cache: Path | None = None,
    threads: int = 1,
    progress_every: int = 250,
    iupac: str = "refuse",
) -> PreflightOutcome:
    """:func:`preflight` with its statistics: how many files were read, how many cached.

    The reference comes first: its .fai must be its own, and one pass gives each contig's
    MD5 and IUPAC codes (``iupac``: ``refuse`` makes them a problem, ``keep`` a warning).
    ``cache`` is the header cache file (None: no cache); ``threads`` the CPUs granted,
    each running several readers; a progress line is logged every ``progress_every``
    alignments.
    """
    check_fai_matches(reference, Path(f"{reference}.fai"))
    facts = scan_reference(reference, list(contigs))
    problems: list[str] = []
    if facts.iupac_count():
        message = iupac_problem(reference, facts, "reference_iupac")
        if iupac == "refuse":
            problems.append(message)
        else:
            log.warning("reference_iupac is keep: %s", message)
    header_cache = HeaderCache(cache) if cache is not None else None
    workers = max(1, threads) * READERS_PER_THREAD
    log.info("preflight: checking %d alignment(s) with %d reader(s)%s", len(samples), workers,
             f", header cache {cache} ({len(header_cache)} known)" if header_cache else "")
    results: list[CheckResult] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="preflight") as pool:
        checks = pool.map(
            lambda s: check_alignment(s, reference, contigs, header_cache, facts.md5), samples
        )
        for done, result in enumerate(checks, 1):
            results.append(result)
            if done % progress_every == 0 or done == len(samples):
                log.info("preflight: %d/%d alignments checked", done, len(samples))
    if header_cache is not None:
        header_cache.save()
    infos: list[AlignmentInfo] = []
    first_with: dict[str, Path] = {}
    for sample, result in zip(samples, results, strict=True):
        problems += result.problems
        if result.info is not None:
            infos.append(result.info)
        sm = result.read_group_sample
        if sm is not None and sm in first_with:
            # freebayes would silently pool both files into one sample
            problems.append(
                f"{sample.alignment} and {first_with[sm]} both carry read-group sample "
                f"{sm!r}; each sample must come from exactly one alignment"
            )
        elif sm is not None:
            first_with[sm] = sample.alignment
    stats = PreflightStats(
        checked=len(results),
        read=sum(result.facts_from == "file" for result in results),
        cached=sum(result.facts_from == "cache" for result in results),
    )
    log.info("preflight: %d alignment(s), %d header(s) read, %d from the cache",
             stats.checked, stats.read, stats.cached)
    if problems:
        raise KubecallError(
            f"preflight found {len(problems)} problem(s) in the cohort:\n  " + "\n  ".join(problems)
        )
    return PreflightOutcome(infos, stats)


def write_manifest(infos: Sequence[AlignmentInfo], path: Path) -> None:
    """The cohort manifest: one htslib path per line, the list freebayes reads with ``-L``."""
    with open(path, "w") as handle:
        for info in infos:
            handle.write(info.htslib_path() + "\n")


def write_sample_names(infos: Sequence[AlignmentInfo], path: Path) -> None:
    """Sample names in sheet order, one per line: the column order of the call set."""
    path.write_text("".join(f"{info.sample}\n" for info in infos))


def write_report(infos: Sequence[AlignmentInfo], path: Path) -> None:
    """A TSV of what was checked, for people and for the run report."""
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["sample", "alignment", "index", "format", "bytes", "mtime_ns"])
        for i in infos:
            writer.writerow([i.sample, i.alignment, i.index, i.file_format, i.size, i.mtime_ns])


def write_callset_manifests(
    infos: Sequence[AlignmentInfo], callsets: dict[str, list[str]], directory: Path
) -> None:
    """Per call set: ``<name>.txt`` (freebayes ``-L`` list) and ``<name>.samples.txt``."""
    directory.mkdir(parents=True, exist_ok=True)
    by_sample = {info.sample: info for info in infos}
    for name, members in callsets.items():
        chosen = [by_sample[sample] for sample in members]
        write_manifest(chosen, directory / f"{name}.txt")
        write_sample_names(chosen, directory / f"{name}.samples.txt")
