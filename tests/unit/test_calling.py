"""Per-region calling with real freebayes: ownership, padding, odd names, silent failures,
the runaway guard."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pysam
import pytest

from kubecall.errors import KubecallError
from kubecall.pipeline.allocator import resolve_allocator
from kubecall.pipeline.calling import (
    CallSettings,
    call_batch,
    call_region,
    parse_extra,
    split_region,
    write_owned_records,
)
from kubecall.pipeline.regions import Interval, Region, plan_equal, read_fai

ODD = "HLA-DRB1*16:02:01"


def records(path: Path) -> list[list[str]]:
    with gzip.open(path, "rt") as handle:
        return [line.split("\t") for line in handle if not line.startswith("#")]


def setup(ref: Path, bam: Path, tmp: Path, count: int, **settings) -> tuple[list[Region],
                                                                          dict[str, int],
                                                                          CallSettings]:
    manifest = tmp / "alignments.txt"
    manifest.write_text(f"{bam}\n")
    contigs = read_fai(Path(f"{ref}.fai"))
    return plan_equal(contigs, count), dict(contigs), CallSettings(ref, manifest, **settings)


def test_region_on_odd_contig_keeps_only_its_records(na12878: dict[str, Path],
                                                     tmp_path: Path) -> None:
    regions, lengths, settings = setup(na12878["hla_ref"], na12878["hla_bam"], tmp_path, 3)
    out = tmp_path / "r0001.vcf.gz"
    outcome = call_region(regions[1], lengths, settings, out, tmp_path / "fb.log")
    rows = records(out)
    assert rows and outcome.records == len(rows) and outcome.how == "normal"
    assert all(row[0] == ODD and 4118 < int(row[1]) <= 8237 for row in rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alignments.txt", "fb.log",
                                                          "na12878", "r0001.vcf.gz"]


def test_padding_changes_what_is_seen_not_what_is_kept(na12878: dict[str, Path],
                                                       tmp_path: Path) -> None:
    regions, lengths, plain = setup(na12878["ref"], na12878["bam"], tmp_path, 4)
    padded = CallSettings(plain.reference, plain.manifest, padding=1500)
    a = call_region(regions[1], lengths, plain, tmp_path / "a.vcf.gz", tmp_path / "a.log")
    b = call_region(regions[1], lengths, padded, tmp_path / "b.vcf.gz", tmp_path / "b.log")
    assert a.dropped == 0 and b.dropped > 0  # freebayes called the margins, they were dropped
    start, end = regions[1].intervals[0].start, regions[1].intervals[0].end
    assert all(start < int(row[1]) <= end for row in records(tmp_path / "b.vcf.gz"))
    assert abs(a.records - b.records) <= 2


COLUMNS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT"


def record(contig: str, pos: int, alt: str = "C", genotypes: str = "0/1\t0/0\t1/1") -> str:
    return f"{contig}\t{pos}\t.\tA\t{alt}\t50\t.\t.\tGT\t{genotypes}\n"


def written(lines: list[str], region: Region, path: Path,
            samples: tuple[str, ...] = ()) -> tuple[int, int]:
    with pysam.BGZFile(str(path), "wb") as out:
        return write_owned_records(lines, region, out, samples=samples)


def test_records_outside_the_region_are_dropped(tmp_path: Path) -> None:
    region = Region("r0000", (Interval("a", 10, 20), Interval("b", 0, 5)))
    lines = ["##fileformat=VCFv4.2\n", f"{COLUMNS}\tS1\tS2\tS3\n",
             *(record(contig, pos) for contig, pos in (("a", 10), ("a", 11), ("a", 20),
                                                      ("a", 21), ("b", 5), ("b", 6)))]
    assert written(lines, region, tmp_path / "o.vcf.gz") == (3, 3)
    assert [r[:2] for r in records(tmp_path / "o.vcf.gz")] == [["a", "11"], ["a", "20"],
                                                                ["b", "5"]]


def test_sample_columns_are_written_in_the_sheets_order(tmp_path: Path) -> None:
    """freebayes writes samples in an order of its own; a region's VCF has the call set's
    (the sheet's), so that the merge can join region files as they are."""
    region = Region("r0000", (Interval("a", 0, 100),))
    lines = ["##fileformat=VCFv4.2\n", "##contig=<ID=a,length=100>\n",
             '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n',
             f"{COLUMNS}\tS2\tS3\tS1\n", record("a", 5, genotypes="0/1\t1/1\t0/0"),
             record("a", 9, genotypes="./.\t0/1\t1/1")]
    assert written(lines, region, tmp_path / "o.vcf.gz", ("S1", "S2", "S3")) == (2, 0)
    with pysam.VariantFile(str(tmp_path / "o.vcf.gz")) as vcf:
        assert list(vcf.header.samples) == ["S1", "S2", "S3"]
        assert [[s["GT"] for s in rec.samples.values()] for rec in vcf] == [
            [(0, 0), (0, 1), (1, 1)], [(1, 1), (None, None), (0, 1)]]
    one = [f"{COLUMNS}\tS1\n", record("a", 5, genotypes="0/1")]
    assert written(one, region, tmp_path / "one.vcf.gz", ("S1",)) == (1, 0)
    assert records(tmp_path / "one.vcf.gz")[0][9] == "0/1\n"
    with pytest.raises(KubecallError, match=r"freebayes wrote samples the call set does not "
                                            r"have \(S3\) and lacks some it has \(S4\).*"
                                            r"preflight_cohort"):
        written(lines, region, tmp_path / "x.vcf.gz", ("S1", "S2", "S4"))


@pytest.mark.parametrize(("sites", "expected"), [
    ([("a", 9, "C"), ("a", 5, "C")], r"region r0000's records out of order at a:5"),
    ([("b", 1, "C"), ("a", 5, "C")], r"region r0000's records out of order at a:5"),
    ([("a", 5, "C"), ("a", 5, "G"), ("a", 5, "C")], r"a:5 A>C twice in region r0000"),
])
def test_records_out_of_order_or_twice_fail_the_region(
        tmp_path: Path, sites: list[tuple[str, int, str]], expected: str) -> None:
    """What the merge relies on when it joins region files without reading them: a region's
    records in its intervals' order, each CHROM/POS/REF/ALT once."""
    region = Region("r0000", (Interval("a", 0, 100), Interval("b", 0, 100)))
    lines = [f"{COLUMNS}\tS1\tS2\tS3\n", *(record(c, p, alt) for c, p, alt in sites)]
    with pytest.raises(KubecallError, match=expected):
        written(lines, region, tmp_path / "o.vcf.gz")
    neighbours = [f"{COLUMNS}\tS1\tS2\tS3\n", record("a", 5, "C"), record("a", 5, "G"),
                  record("b", 1, "C")]
    assert written(neighbours, region, tmp_path / "ok.vcf.gz") == (3, 0)


def test_a_line_that_is_not_a_record_fails_the_region(tmp_path: Path) -> None:
    region = Region("r0000", (Interval("a", 0, 100),))
    for lines in ([f"{COLUMNS}\tS1\n", "a\t10\tx\n"],
                  [record("a", 5, genotypes="0/1")]):  # a record before the #CHROM line
        with pytest.raises(KubecallError, match=r"not a VCF record after a #CHROM line in "
                                                r"region r0000"):
            written(lines, region, tmp_path / "o.vcf.gz", ("S1",))


def test_split_halves_tile_the_region() -> None:
    region = Region("r0007", (Interval("a", 90, 100), Interval("b", 0, 30)))
    first, second = split_region(region)
    assert (first.name, second.name) == ("r0007a", "r0007b")
    assert first.intervals == (Interval("a", 90, 100), Interval("b", 0, 10))
    assert second.intervals == (Interval("b", 10, 30),)


def test_missing_index_fails_although_freebayes_exits_zero(na12878: dict[str, Path],
                                                           tmp_path: Path) -> None:
    bam = tmp_path / "noindex.bam"
    shutil.copy(na12878["bam"], bam)
    regions, lengths, settings = setup(na12878["ref"], bam, tmp_path, 2)
    out = tmp_path / "r0000.vcf.gz"
    with pytest.raises(KubecallError, match=r"freebayes failed on region r0000 \(\{q\}:1-6178\): "
                                            r".*(ERROR\(freebayes\)|\[E::).*full stderr in"):
        call_region(regions[0], lengths, settings, out, tmp_path / "fb.log")
    assert "ERROR(freebayes)" in (tmp_path / "fb.log").read_text()
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


def test_truncated_input_fails_the_job(na12878: dict[str, Path], tmp_path: Path) -> None:
    bam = tmp_path / "cut.bam"
    bam.write_bytes(na12878["bam"].read_bytes()[:150_000])
    shutil.copy(f"{na12878['bam']}.bai", f"{bam}.bai")
    regions, lengths, settings = setup(na12878["ref"], bam, tmp_path, 1)
    with pytest.raises(KubecallError, match="EOF marker is absent|exit status"):
        call_region(regions[0], lengths, settings, tmp_path / "o.vcf.gz", tmp_path / "fb.log")


@pytest.mark.parametrize(("extra", "message"), [
    # a word without a dash is one more BAM for freebayes
    ("/data/S02copy.bam", r"'/data/S02copy.bam' is not an option: .* another BAM"),
    ("--min-coverage 3 extra.bam", r"'extra.bam' is not an option"),
    ("-- -x", r"'--' is not an option"),
    # attached short values and bundles
    ("-vFILE", r"'-vFILE' \(-v\) is refused: it redirects the records"),
    ("-rq:1-5000", r"'-rq:1-5000' \(-r\) is refused: it sets the regions"),
    ("-jc", r"'-jc' \(-c\) is refused: it reads alignments from standard input"),
    ("-j -bX.bam", r"'-bX.bam' \(-b\) is refused: it adds alignments"),
    # long options by unique prefix, with = or a separate value
    ("--vc FILE", r"'--vc' \(--vcf\) is refused"),
    ("--fasta=o.fa", r"'--fasta=o.fa' \(--fasta-reference\) is refused"),
    ("--gvcf", r"'--gvcf' \(--gvcf\) is refused: it turns the call set into a gVCF"),
    ("--gvcf-c 1000", r"\(--gvcf-chunk\) is refused"),
    ("--vers", r"'--vers' \(--version\) is refused: it prints the version"),
    ("-h", r"'-h' \(-h\) is refused: it prints the help"),
    ("--variant-input known.vcf", r"it reads a file the workflow does not track"),
    ("--cnv-map=cnv.bed", r"it reads a file the workflow does not track"),
    # what freebayes itself would reject or abort on
    ("--haplotype 3", r"'--haplotype' is ambiguous \(--haplotype-length, --haplotype-basis"),
    ("--ploidy", r"'--ploidy' needs a value"),
    ("--gvcf=1", r"'--gvcf' takes no value"),
    ("-y", r"'-y' \(in '-y'\) is not a freebayes 1.3.6 option"),
    ("--no-such-thing", r"'--no-such-thing' is not a freebayes 1.3.6 option"),
    ("-^ 1", r"has no handler and aborts"),
    ("--min-coverage ${HOME}", r"contains '\{' or '\}', which snakemake would take"),
])
def test_extra_is_read_as_freebayes_reads_it(extra: str, message: str) -> None:
    with pytest.raises(KubecallError, match=message) as refused:
        parse_extra(extra)
    assert "config calling.extra:" in str(refused.value)
    assert "calling.extra'" in str(refused.value)  # and what to do with the key


def test_extra_accepts_what_only_tunes_calling() -> None:
    for extra in ("-C3 -jX --min-alternate-f 0.2", "--use-best-n-alleles=4 --limit-coverage 250",
                  "-m 20 -q20 --report-monomorphic --strict-vcf -p 2 -d",
                  "--haplotype-length 3 --genotype-qualities"):
        assert parse_extra(extra) == extra.split()


def test_extra_arguments_are_passed_and_reserved_ones_refused(na12878: dict[str, Path],
                                                              tmp_path: Path) -> None:
    assert parse_extra("--min-alternate-count 3 --ploidy=2") == [
        "--min-alternate-count", "3", "--ploidy=2"]
    for bad in ("-r q:1-10", "--region=q", "-f other.fa", "--targets t.bed", "-L x"):
        with pytest.raises(KubecallError, match="is refused: it (sets|adds)"):
            parse_extra(bad)
    with pytest.raises(KubecallError, match="cannot parse"):
        parse_extra("--foo 'unclosed")
    regions, lengths, default = setup(na12878["ref"], na12878["bam"], tmp_path, 1)
    strict = CallSettings(default.reference, default.manifest, extra="--min-alternate-count 12")
    a = call_region(regions[0], lengths, default, tmp_path / "a.vcf.gz", tmp_path / "a.log")
    b = call_region(regions[0], lengths, strict, tmp_path / "b.vcf.gz", tmp_path / "b.log")
    assert a.records == 154 and 0 < b.records < a.records


def test_runaway_region_is_split_then_called_with_the_fallback(na12878: dict[str, Path],
                                                               tmp_path: Path) -> None:
    """A budget no freebayes run can meet: split, then fallback options, nothing lost."""
    regions, lengths, settings = setup(na12878["ref"], na12878["bam"], tmp_path, 1,
                                       time_budget=0.001)
    outcome = call_region(regions[0], lengths, settings, tmp_path / "o.vcf.gz",
                          tmp_path / "fb.log")
    assert outcome.how == "fallback"
    log = (tmp_path / "fb.log").read_text()
    assert "# region r0000a:" in log and "# region r0000b:" in log
    assert "--use-best-n-alleles 4 --limit-coverage 250" in log
    rows = records(tmp_path / "o.vcf.gz")
    positions = [int(r[1]) for r in rows]
    assert positions == sorted(positions) and len(set(positions)) == len(positions)
    assert 140 <= len(rows) <= 160  # this tiny region calls about the same with the fallback


def test_batches_give_the_same_records_whatever_the_grouping(na12878: dict[str, Path],
                                                              tmp_path: Path) -> None:
    regions, lengths, settings = setup(na12878["hla_ref"], na12878["hla_bam"], tmp_path, 6)
    together = call_batch(regions, lengths, settings, tmp_path / "one", tmp_path / "one.log")
    apart = [call_batch([r], lengths, settings, tmp_path / f"b{i}", tmp_path / f"b{i}.log")
             for i, r in enumerate(reversed(regions))]
    assert sum(o.records for o in together) == sum(o[0].records for o in apart) == 154
    for index, region in enumerate(reversed(regions)):
        a = records(tmp_path / "one" / f"{region.name}.vcf.gz")
        b = records(tmp_path / f"b{index}" / f"{region.name}.vcf.gz")
        assert a == b
    table = (tmp_path / "one" / "regions.tsv").read_text().splitlines()
    assert table[0] == ("region\thow\tseconds\tcpu_seconds\tmax_rss_mb\trecords\tdropped"
                        "\tallocator")
    assert len(table) == 7
    assert {line.rsplit("\t", 1)[1] for line in table[1:]} == {"system"}
    # freebayes' own CPU time and peak RSS, from wait4: what bench/scatter.py sums to cost
    # padding, and what the report's resource section sizes calling jobs by
    assert sum(o.cpu_seconds for o in together) > 0
    # a freebayes process holds the reference and its libraries: more than 1 MiB, under 1 GiB
    assert all(1 < o.max_rss_mb < 1024 for o in together)


def test_records_of_an_attempt_stopped_half_way_are_discarded(na12878: dict[str, Path],
                                                              tmp_path: Path) -> None:
    """freebayes that writes its records and then hangs (as a runaway does after a while):
    every attempt under the budget is stopped after writing, only the fallback completes."""
    slow = tmp_path / "slow-freebayes"
    slow.write_text('#!/bin/sh\nfreebayes "$@"\ncase "$*" in *--use-best-n-alleles*) ;; '
                    '*) exec sleep 30 ;; esac\n')  # exec: the process stopped is the one that hangs
    slow.chmod(0o755)
    regions, lengths, settings = setup(na12878["ref"], na12878["bam"], tmp_path, 1,
                                       time_budget=1.0, freebayes=str(slow))
    outcome = call_region(regions[0], lengths, settings, tmp_path / "o.vcf.gz",
                          tmp_path / "fb.log")
    assert outcome.how == "fallback"
    rows = records(tmp_path / "o.vcf.gz")
    keys = [(row[0], int(row[1]), row[3], row[4]) for row in rows]
    assert len(keys) == len(set(keys)) == outcome.records  # nothing twice
    assert keys == sorted(keys, key=lambda k: k[1])
    assert 140 <= len(rows) <= 160
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("o.vcf.gz")) == [
        "o.vcf.gz"]


def test_freebayes_runs_with_the_allocator_preloaded_and_calls_the_same(
        na12878: dict[str, Path], tmp_path: Path) -> None:
    tcmalloc = resolve_allocator("tcmalloc")
    if tcmalloc is None:
        pytest.skip("libtcmalloc_minimal.so.4 not installed (Debian: libtcmalloc-minimal4)")
    seen = tmp_path / "ld_preload.txt"
    wrapper = tmp_path / "freebayes-env"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s" "$LD_PRELOAD" > {seen}\nexec freebayes "$@"\n')
    wrapper.chmod(0o755)
    regions, lengths, plain = setup(na12878["ref"], na12878["bam"], tmp_path, 2)
    fast = CallSettings(plain.reference, plain.manifest, freebayes=str(wrapper),
                        allocator=tcmalloc)
    call_batch(regions, lengths, fast, tmp_path / "fast", tmp_path / "fast.log")
    assert seen.read_text() == str(tcmalloc)
    call_batch(regions, lengths, plain, tmp_path / "plain", tmp_path / "plain.log")
    for region in regions:
        fast_rows = records(tmp_path / "fast" / f"{region.name}.vcf.gz")
        plain_rows = records(tmp_path / "plain" / f"{region.name}.vcf.gz")
        key = [(r[0], r[1], r[3], r[4], [s.split(":")[0] for s in r[9:]]) for r in fast_rows]
        assert fast_rows and key == [(r[0], r[1], r[3], r[4], [s.split(":")[0] for s in r[9:]])
                                     for r in plain_rows]
    table = (tmp_path / "fast" / "regions.tsv").read_text().splitlines()
    assert all(line.endswith("\tlibtcmalloc_minimal.so.4") for line in table[1:])
