"""Join per-region VCFs in plan order into one sorted, indexed call set, and merge
call sets of disjoint samples (modes per_group and per_sample) into the cohort's."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from kubecall.errors import KubecallError
from kubecall.pipeline.regions import Region


def merge_region_vcfs(
    parts: Sequence[tuple[Region, Path]],
    output: Path,
    contig_order: Sequence[str],
    sample_order: Path,
    work_dir: Path,
) -> int:
    """Join the regions' VCFs (``parts``, in plan order) into one indexed call set; returns
    the number of records.

    call_batch writes a region's VCF with only the records the region owns, each once, in
    order, sample columns in the sheet's order (:func:`kubecall.pipeline.calling.
    write_owned_records`). So once the regions are shown disjoint and in reference order,
    their concatenation is sorted and duplicate-free, and ``bcftools concat --naive`` joins
    the compressed files without parsing a record: decoding and re-encoding 2,504 samples
    cost some 4 ms a record (bench/after_calling.py). bcftools checks that every file names
    the same samples in the same order; the header is checked against the sheet's order;
    tabix, which reads every record's position, refuses any out of order.
    """
    check_plan_order([region for region, _ in parts], contig_order)
    file_list, partial = _prepare([path for _, path in parts], output, work_dir)
    try:
        _run(["bcftools", "concat", "--naive", "--file-list", str(file_list),
              "-o", str(partial)], "rerun calling (snakemake --forcerun call_batch)")
        written = _run(["bcftools", "query", "--list-samples", str(partial)]).split()
        wanted = sample_order.read_text().split()
        if written != wanted:
            raise KubecallError(
                f"the region VCFs list samples in another order than {sample_order} (an "
                "earlier kubecall wrote them in freebayes' order); rerun calling "
                "(snakemake --forcerun call_batch)")
        return _index(partial, output)
    except BaseException:
        partial.unlink(missing_ok=True)
        Path(f"{partial}.tbi").unlink(missing_ok=True)
        raise


def check_plan_order(regions: Sequence[Region], contig_order: Sequence[str]) -> None:
    """Check the regions' intervals, in plan order, are disjoint and in reference order."""
    rank = {name: index for index, name in enumerate(contig_order)}
    previous: tuple[int, int] = (-1, 0)
    for region in regions:
        for interval in region.intervals:
            if interval.contig not in rank:
                raise KubecallError(f"region {region.name} is on contig {interval.contig!r}, "
                                    "absent from the reference; rerun plan_regions")
            if (rank[interval.contig], interval.start) < previous:
                raise KubecallError(
                    f"region {region.name} ({interval.htslib_region()}) overlaps or precedes "
                    "the region before it in the plan; rerun plan_regions")
            previous = (rank[interval.contig], interval.end)


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
    _index(partial, output)
    return count


def _index(partial: Path, output: Path) -> int:
    """Index ``partial`` with tabix (which refuses records out of order) and move both into
    place as ``output``; returns the number of records (from the index)."""
    _run(["tabix", "-f", "-p", "vcf", str(partial)])
    count = int(_run(["bcftools", "index", "--nrecords", str(partial)]))
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


def _run(command: list[str], remedy: str = "") -> str:
    """``command``'s standard output; the end of its standard error (and ``remedy``) if it
    fails (bcftools concat's stderr has a line per input before the one that matters)."""
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        error = " ".join(result.stderr.strip().splitlines()[-3:])
        raise KubecallError(f"{command[0]} {command[1]} failed: {error}"
                            + (f"; {remedy}" if remedy else ""))
    return result.stdout


def region_vcfs_in_plan_order(batches_tsv: Path, callset: str) -> list[tuple[Region, Path]]:
    """Each region of the plan with its VCF of ``callset`` (in its batch's directory), in
    plan (= reference) order."""
    from kubecall.pipeline.batching import batch_dir, read_plan_regions

    parts = [(region, batch_dir(callset, batch) / f"{region.name}.vcf.gz")
             for region, batch in read_plan_regions(batches_tsv)]
    missing = [str(path) for _, path in parts if not path.is_file()]
    if missing:
        raise KubecallError(f"region VCF(s) missing: {', '.join(missing[:5])}; rerun calling")
    return parts
