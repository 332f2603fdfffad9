"""Concatenate per-region VCFs in plan order into one sorted, indexed call set, and merge
call sets of disjoint samples (modes per_group and per_sample) into the cohort's."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from kubecall.errors import KubecallError


def merge_region_vcfs(
    inputs: Sequence[Path],
    output: Path,
    contig_order: Sequence[str],
    sample_order: Path,
    work_dir: Path,
    threads: int = 1,
) -> int:
    """Concatenate ``inputs`` (in region-plan order), check the result, bgzip and tabix it.

    Sample columns follow ``sample_order`` (the sheet's order; freebayes uses its own).
    ``threads``: compression threads (bgzip is most of a large merge's time; the bytes
    written are the same whatever the number). Returns the number of records. Regions own
    disjoint intervals in reference order, so a plain concatenation is sorted;
    :func:`check_sorted_unique` proves it rather than trusts it.
    """
    file_list, partial = _prepare(inputs, output, work_dir)
    _write_reordered(["bcftools", "concat", "--no-version", "--file-list", str(file_list),
                      "-Ou"], sample_order, partial, threads)
    return _check_and_index(partial, output, contig_order)


def merge_callsets(
    inputs: Sequence[Path],
    output: Path,
    contig_order: Sequence[str],
    sample_order: Path,
    work_dir: Path,
    threads: int = 1,
) -> int:
    """Merge call sets of disjoint samples (per group or per sample) into one, sample-wise,
    with ``threads`` compression threads.

    A site called in one call set but not another gets missing genotypes there (``./.``):
    that group was not called at the site, which is not the same as hom-ref. Records with
    different alleles at one position stay separate (``--merge none``), as each set called them.
    """
    file_list, partial = _prepare(inputs, output, work_dir)
    _write_reordered(["bcftools", "merge", "--no-version", "--merge", "none", "--file-list",
                      str(file_list), "-Ou"], sample_order, partial, threads)
    return _check_and_index(partial, output, contig_order)


def _prepare(inputs: Sequence[Path], output: Path, work_dir: Path) -> tuple[Path, Path]:
    """The inputs as a bcftools --file-list, and the temporary name the output is built under."""
    work_dir.mkdir(parents=True, exist_ok=True)
    file_list = work_dir / "inputs.txt"
    file_list.write_text("".join(f"{path}\n" for path in inputs))
    return file_list, output.with_name(output.name + ".partial.vcf.gz")


def _write_reordered(command: list[str], sample_order: Path, partial: Path,
                     threads: int) -> None:
    """Run a bcftools command writing BCF to stdout; bgzip its VCF with samples reordered,
    in ``threads`` compression threads.

    The producer's stderr goes to a file: bcftools concat writes a line per input to it, and
    a pipe nobody reads until the end fills (64 KiB, some 600 regions) and stops it."""
    with tempfile.TemporaryFile() as producer_stderr:
        producer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=producer_stderr)
        reorder = subprocess.run(
            ["bcftools", "view", "--no-version", "--samples-file", str(sample_order),
             "--threads", str(threads), "-Oz", "-o", str(partial), "-"],
            stdin=producer.stdout, capture_output=True, text=True, check=False,
        )
        assert producer.stdout is not None
        producer.stdout.close()
        failed = producer.wait() != 0
        producer_stderr.seek(0)
        # the end says what went wrong; concat's line per input before it does not
        producer_error = "\n".join(
            producer_stderr.read().decode(errors="replace").strip().splitlines()[-5:])
    if failed:
        partial.unlink(missing_ok=True)
        raise KubecallError(f"bcftools {command[1]} failed: {producer_error}")
    if reorder.returncode != 0:
        partial.unlink(missing_ok=True)
        raise KubecallError(f"bcftools view failed: {reorder.stderr.strip()}")


def _check_and_index(partial: Path, output: Path, contig_order: Sequence[str]) -> int:
    """Prove the merged file sorted and duplicate-free, index it, move both into place.

    The sites are checked as bcftools lists them, one line at a time: a call set's list of
    sites is never held whole (at tens of millions of records it would be gigabytes)."""
    with tempfile.TemporaryFile() as errors:
        query = subprocess.Popen(
            ["bcftools", "query", "-f", "%CHROM\t%POS\t%REF\t%ALT\n", str(partial)],
            stdout=subprocess.PIPE, stderr=errors, text=True,
        )
        assert query.stdout is not None
        try:
            with query.stdout:
                count = check_sorted_unique((line.rstrip("\n") for line in query.stdout),
                                            contig_order)
        except KubecallError:
            query.kill()
            query.wait()
            partial.unlink()
            raise
        if query.wait() != 0:
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()
            raise KubecallError(f"bcftools query failed on the merged VCF: {message}")
    _run(["tabix", "-f", "-p", "vcf", str(partial)])
    os.replace(f"{partial}.tbi", f"{output}.tbi")
    os.replace(partial, output)
    return count


def check_sorted_unique(records: Iterable[str], contig_order: Sequence[str]) -> int:
    """Check ``CHROM\\tPOS\\tREF\\tALT`` lines are in reference order with no record twice."""
    rank = {name: index for index, name in enumerate(contig_order)}
    previous: tuple[int, int] = (-1, 0)
    seen_here: set[tuple[str, str]] = set()
    count = 0
    for line in records:
        count += 1
        chrom, pos, ref, alt = line.split("\t")
        if chrom not in rank:
            raise KubecallError(f"merged VCF has contig {chrom!r}, absent from the reference")
        key = (rank[chrom], int(pos))
        if key < previous:
            raise KubecallError(f"merged VCF out of order at {chrom}:{pos}; regions overlap")
        if key != previous:
            seen_here.clear()
        if (ref, alt) in seen_here:
            raise KubecallError(
                f"merged VCF has {chrom}:{pos} {ref}>{alt} twice; two regions claimed it"
            )
        seen_here.add((ref, alt))
        previous = key
    return count


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise KubecallError(f"{command[0]} {command[1]} failed: {result.stderr.strip()}")


def region_vcfs_in_plan_order(batches_tsv: Path, callset: str) -> list[Path]:
    """Each region's VCF of ``callset``, in its batch's directory, in plan (= reference)
    order."""
    from kubecall.pipeline.batching import batch_dir, read_batches

    paths = [batch_dir(callset, row["batch"]) / f"{row['region']}.vcf.gz"
             for row in read_batches(batches_tsv)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise KubecallError(f"region VCF(s) missing: {', '.join(missing[:5])}; rerun calling")
    return paths
