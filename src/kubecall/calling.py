"""Run freebayes over one region for the whole cohort, keeping only the records it owns."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pysam

from kubecall.errors import KubecallError
from kubecall.regions import Region, find_region, read_plan, write_targets

log = logging.getLogger(__name__)

# freebayes exits 0 after these (e.g. a missing index, a contig absent from a BAM), having
# written a header and no records: a silent hole in the call set unless the job fails.
FATAL_STDERR_MARKERS = ("ERROR(freebayes)", "EOF marker is absent", "[E::")

# Options the workflow sets itself; in calling.extra they would silently change what is called.
RESERVED_OPTIONS = frozenset(
    {"-f", "--fasta-reference", "-L", "--bam-list", "-b", "--bam", "-t", "--targets",
     "-r", "--region", "-v", "--vcf", "-c", "--stdin", "-s", "--samples"}
)


@dataclass(frozen=True)
class RegionCallResult:
    """Counts from one region's calling, logged and used by tests."""

    region: str
    records_kept: int
    records_dropped: int


def parse_extra(extra: str) -> list[str]:
    """Split ``calling.extra`` into arguments, refusing the options the workflow owns."""
    try:
        args = shlex.split(extra)
    except ValueError as exc:
        raise KubecallError(f"config calling.extra: cannot parse {extra!r} ({exc})") from None
    for arg in args:
        option = arg.split("=", 1)[0]
        if option in RESERVED_OPTIONS:
            raise KubecallError(
                f"config calling.extra: {option} is set by the workflow (reference, cohort and "
                f"regions come from 'reference', 'samples' and 'regions'); remove it"
            )
    return args


def call_region(
    reference: Path,
    manifest: Path,
    plan: Path,
    region_name: str,
    output: Path,
    stderr_log: Path,
    extra: str = "",
    freebayes: str = "freebayes",
) -> RegionCallResult:
    """Call ``region_name`` jointly over the cohort in ``manifest``, writing a bgzipped VCF.

    The output is written to a temporary name and renamed at the end, so a failed job never
    leaves a plausible-looking partial VCF behind.
    """
    region = find_region(read_plan(plan), region_name)
    targets = output.with_name(output.name + ".targets.bed")
    partial = output.with_name(output.name + ".partial")
    write_targets(region, targets)
    command = [freebayes, "-f", str(reference), "-L", str(manifest), "-t", str(targets),
               *parse_extra(extra)]
    log.info("running: %s", shlex.join(command))
    with open(stderr_log, "w") as err:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
        assert process.stdout is not None
        try:
            kept, dropped = write_owned_records(process.stdout, region, partial)
        finally:
            process.stdout.close()
            returncode = process.wait()
    targets.unlink()
    try:
        _raise_on_failure(returncode, stderr_log, region)
    except KubecallError:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, output)
    log.info("region %s: kept %d records, dropped %d outside it", region.name, kept, dropped)
    return RegionCallResult(region.name, kept, dropped)


def write_owned_records(lines: Iterable[str], region: Region, output: Path) -> tuple[int, int]:
    """Copy header lines and the records whose POS the region owns to a BGZF file."""
    kept = dropped = 0
    with pysam.BGZFile(str(output), "wb") as out:
        for line in lines:
            if line.startswith("#"):
                out.write(line.encode())
                continue
            contig, pos, _ = line.split("\t", 2)
            if region.owns(contig, int(pos) - 1):
                out.write(line.encode())
                kept += 1
            else:
                dropped += 1
    return kept, dropped


def _raise_on_failure(returncode: int, stderr_log: Path, region: Region) -> None:
    fatal = list(_fatal_lines(stderr_log.read_text(errors="replace").splitlines()))
    if returncode == 0 and not fatal:
        return
    spans = ", ".join(i.htslib_region() for i in region.intervals)
    reason = fatal[0] if fatal else f"exit status {returncode}"
    raise KubecallError(
        f"freebayes failed on region {region.name} ({spans}): {reason}; "
        f"full stderr in {stderr_log}"
    )


def _fatal_lines(lines: Iterable[str]) -> Iterator[str]:
    return (line for line in lines if any(marker in line for marker in FATAL_STDERR_MARKERS))
