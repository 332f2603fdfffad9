"""The synthetic cohort generator: determinism, valid alignments, truth consistent with reads."""

from __future__ import annotations

import gzip
import random
import re
import shutil
import subprocess
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import pysam
import pytest

from kubecall.cli import main
from kubecall.devtools.accuracy import compare_calls
from kubecall.devtools.simulate import (
    CohortFiles,
    SimulationParams,
    simulate_cohort,
    validate_params,
)
from kubecall.devtools.synthetic.reads import coverage_profile
from kubecall.devtools.synthetic.reference import Contig
from kubecall.devtools.synthetic.variants import (
    MIN_SITE_SPACING,
    Site,
    build_haplotype,
    place_sites,
)
from kubecall.errors import KubecallError

needs_samtools = pytest.mark.skipif(shutil.which("samtools") is None, reason="needs samtools")
needs_freebayes = pytest.mark.skipif(
    shutil.which("freebayes") is None or shutil.which("bcftools") is None,
    reason="needs freebayes and bcftools",
)

SMALL = SimulationParams(samples=2, length=12_000, depth=6, seed=5)


def bam_records(path: Path, reference: Path | None = None) -> list[str]:
    """Every record of an alignment file as SAM text."""
    with pysam.AlignmentFile(
        str(path), reference_filename=str(reference) if reference else None
    ) as alignments:
        return [record.to_string() for record in alignments]


def truth_records(path: Path) -> list[str]:
    with gzip.open(path, "rt") as handle:
        return [line for line in handle if not line.startswith("#")]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> CohortFiles:
    """3 samples x 30 kb x 20x: the cohort freebayes is run on."""
    params = SimulationParams(samples=3, length=30_000, depth=20, seed=11)
    return simulate_cohort(tmp_path_factory.mktemp("cohort"), params)


def test_writes_every_file_with_relative_sample_sheet(cohort: CohortFiles) -> None:
    names = sorted(path.name for path in cohort.outdir.iterdir())
    assert names == sorted(
        ["ref.fa", "ref.fa.fai", "truth.vcf.gz", "truth.vcf.gz.tbi", "samples.tsv"]
        + [f"S0{i}.bam{suffix}" for i in (1, 2, 3) for suffix in ("", ".bai")]
    )
    rows = cohort.sample_sheet.read_text().splitlines()
    assert rows == [
        "sample\talignment\tindex",
        "S01\tS01.bam\tS01.bam.bai",
        "S02\tS02.bam\tS02.bam.bai",
        "S03\tS03.bam\tS03.bam.bai",
    ]
    with pysam.FastaFile(str(cohort.reference)) as fasta:
        assert list(fasta.references) == ["syn1", "syn2", "syn3"]
        assert sum(fasta.lengths) == 30_000
        sequence = "".join(fasta.fetch(name) for name in fasta.references)
    gc = (sequence.count("G") + sequence.count("C")) / len(sequence)
    assert 0.39 < gc < 0.43


def test_same_seed_gives_identical_output_and_other_seed_differs(tmp_path: Path) -> None:
    first = simulate_cohort(tmp_path / "a", SMALL)
    second = simulate_cohort(tmp_path / "b", SMALL)
    other = simulate_cohort(tmp_path / "c", replace(SMALL, seed=6))
    assert first.reference.read_bytes() == second.reference.read_bytes()
    assert truth_records(first.truth_vcf) == truth_records(second.truth_vcf)
    for one, two in zip(first.samples, second.samples, strict=True):
        assert bam_records(one.alignment) == bam_records(two.alignment)
        assert one.alignment.read_bytes() == two.alignment.read_bytes()
    assert first.reference.read_bytes() != other.reference.read_bytes()
    assert truth_records(first.truth_vcf) != truth_records(other.truth_vcf)
    assert bam_records(first.samples[0].alignment) != bam_records(other.samples[0].alignment)


def test_sample_output_does_not_depend_on_cohort_size(tmp_path: Path) -> None:
    two = simulate_cohort(tmp_path / "two", SMALL)
    three = simulate_cohort(tmp_path / "three", replace(SMALL, samples=3))
    assert two.reference.read_bytes() == three.reference.read_bytes()
    for index in range(2):
        assert bam_records(two.samples[index].alignment) == bam_records(
            three.samples[index].alignment
        )


def check_alignments(bam: Path, reference: Path, sample: str) -> list[pysam.AlignedSegment]:
    """Assert header, order, flags, mates and CIGARs of one sample's reads; return them."""
    with pysam.FastaFile(str(reference)) as fasta:
        sequences = {name: fasta.fetch(name) for name in fasta.references}
    mates: dict[str, list[pysam.AlignedSegment]] = defaultdict(list)
    mismatches = aligned = 0
    with pysam.AlignmentFile(str(bam)) as alignments:
        header = alignments.header.to_dict()
        assert header["HD"]["SO"] == "coordinate"
        assert header["RG"] == [{"ID": sample, "SM": sample, "LB": sample, "PL": "ILLUMINA"}]
        assert [(sq["SN"], sq["LN"]) for sq in header["SQ"]] == [
            (name, len(sequence)) for name, sequence in sequences.items()
        ]
        assert "PG" not in header
        reads = list(alignments)
    previous = (-1, -1)
    for read in reads:
        position = (read.reference_id, read.reference_start)
        assert position >= previous
        previous = position
        assert read.infer_query_length() == len(read.query_sequence)
        assert read.cigartuples[0][0] in (0, 4) and read.cigartuples[-1][0] in (0, 4)
        assert read.mapping_quality == 60 and read.is_paired and read.is_proper_pair
        assert read.get_tag("RG") == sample
        contig = sequences[read.reference_name]
        read_mismatches = sum(
            read.query_sequence[query] != contig[ref]
            for query, ref in read.get_aligned_pairs(matches_only=True)
        )
        # Errors (0.3%) plus at most a few SNPs: a wrong CIGAR would give ~75% mismatches.
        assert read_mismatches <= 8, read.to_string()
        mismatches += read_mismatches
        aligned += read.query_alignment_length
        mates[read.query_name].append(read)
    assert 0.001 < mismatches / aligned < 0.02
    for first, second in mates.values():
        assert first.is_read1 != second.is_read1
        assert first.is_reverse != second.is_reverse
        assert first.next_reference_start == second.reference_start
        assert second.next_reference_start == first.reference_start
        assert first.mate_is_reverse == second.is_reverse
        assert first.template_length == -second.template_length != 0
    return reads


@needs_samtools
def test_alignments_are_valid_and_cigars_agree_with_sequence(cohort: CohortFiles) -> None:
    for sample in cohort.samples:
        check = subprocess.run(["samtools", "quickcheck", str(sample.alignment)], check=False)
        assert check.returncode == 0
    reads = check_alignments(cohort.samples[0].alignment, cohort.reference, "S01")
    assert len(reads) == cohort.samples[0].reads


def test_indels_in_cigars_are_truth_indels(tmp_path: Path) -> None:
    params = replace(SMALL, samples=1, depth=10, indel_rate=0.004, snp_rate=0.002)
    cohort = simulate_cohort(tmp_path / "indels", params)
    reads = check_alignments(cohort.samples[0].alignment, cohort.reference, "S01")
    with pysam.VariantFile(str(cohort.truth_vcf)) as truth:
        # (contig, 0-based reference position after the anchor) -> (op, length)
        indels = {
            (r.chrom, r.start + 1): ("D", len(r.ref) - 1)
            if len(r.ref) > 1
            else ("I", len(r.alts[0]) - 1)
            for r in truth
            if len(r.ref) != len(r.alts[0]) and any(r.samples["S01"]["GT"])
        }
    seen: set[tuple[str, int]] = set()
    for read in reads:
        ref_position = read.reference_start
        for index, (op, length) in enumerate(read.cigartuples):
            if op in (1, 2):  # I, D
                key = (read.reference_name, ref_position)
                assert indels.get(key) == ("ID"[op - 1], length), read.to_string()
                seen.add(key)
            elif op == 4:
                assert index in (0, len(read.cigartuples) - 1)
            if op in (0, 2):
                ref_position += length
    assert len(seen) >= 5 and {op for op, _ in (indels[k] for k in seen)} == {"I", "D"}


def test_mean_depth_matches_request(cohort: CohortFiles) -> None:
    sample = cohort.samples[0]
    bases = sample.reads * 100
    assert 18 < bases / 30_000 < 21


def _allele_counts(bam: Path, contig: str, pos: int) -> dict[str, int]:
    with pysam.AlignmentFile(str(bam)) as alignments:
        counts = alignments.count_coverage(contig, pos, pos + 1, quality_threshold=0)
    return {base: int(count[0]) for base, count in zip("ACGT", counts, strict=True)}


def test_pileup_shows_truth_genotypes(cohort: CohortFiles) -> None:
    checked = {"hom": 0, "het": 0}
    with pysam.VariantFile(str(cohort.truth_vcf)) as truth:
        assert list(truth.header.samples) == ["S01", "S02", "S03"]
        for record in truth:
            if len(record.ref) != 1 or len(record.alts[0]) != 1:
                continue
            genotype = record.samples["S01"]["GT"]
            assert record.samples["S01"].phased
            counts = _allele_counts(cohort.samples[0].alignment, record.chrom, record.start)
            depth = sum(counts.values())
            if depth < 10:  # contig ends have little coverage
                continue
            alt_share = counts[record.alts[0]] / depth
            ref_share = counts[record.ref] / depth
            if genotype == (1, 1):
                assert alt_share > 0.8, (record, counts)
                checked["hom"] += 1
            elif sum(genotype) == 1:
                assert alt_share > 0.1 and ref_share > 0.1, (record, counts)
                checked["het"] += 1
            else:
                assert alt_share < 0.1, (record, counts)
    assert checked["hom"] >= 3 and checked["het"] >= 3, checked


def test_truth_drops_sites_nobody_carries(cohort: CohortFiles) -> None:
    records = truth_records(cohort.truth_vcf)
    genotypes = [line.rstrip("\n").split("\t")[9:] for line in records]
    assert all(any("1" in gt for gt in row) for row in genotypes)
    assert cohort.truth_records == len(records) < cohort.sites
    flattened = [gt for row in genotypes for gt in row]
    assert {"0|0", "1|1"} <= set(flattened) and ({"0|1", "1|0"} & set(flattened))


@needs_freebayes
def test_freebayes_recovers_the_truth(cohort: CohortFiles, tmp_path: Path) -> None:
    bam_list = tmp_path / "bams.txt"
    bam_list.write_text("".join(f"{sample.alignment}\n" for sample in cohort.samples))
    calls = tmp_path / "calls.vcf"
    with calls.open("w") as handle:
        subprocess.run(
            ["freebayes", "-f", str(cohort.reference), "-L", str(bam_list)],
            stdout=handle,
            check=True,
        )
    report = compare_calls(cohort.truth_vcf, calls, cohort.reference)
    print(report.table())
    print(report.summary_line())
    assert report.snp.recall is not None and report.snp.recall >= 0.9
    assert report.snp.precision is not None and report.snp.precision >= 0.9


def test_uneven_mode_changes_depth_along_a_contig(tmp_path: Path) -> None:
    params = SimulationParams(samples=1, length=40_000, depth=10, seed=2, contigs=1)
    even = simulate_cohort(tmp_path / "even", params)
    uneven = simulate_cohort(tmp_path / "uneven", replace(params, uneven=True))
    high = next(s for s in coverage_profile(40_000, True) if s[2] == 3.0)
    low = next(s for s in coverage_profile(40_000, True) if s[2] == 0.25)
    width = min(high[1] - high[0], low[1] - low[0])

    def reads_in(cohort: CohortFiles, start: int) -> int:
        with pysam.AlignmentFile(str(cohort.samples[0].alignment)) as alignments:
            return alignments.count("syn1", start, start + width)

    assert reads_in(uneven, high[0]) > 6 * reads_in(uneven, low[0])
    assert 0.7 < reads_in(even, high[0]) / reads_in(even, low[0]) < 1.4
    # The mean depth is kept.
    assert 0.85 < uneven.samples[0].reads / even.samples[0].reads < 1.15


@needs_samtools
def test_cram_output_decodes(tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "cram", replace(SMALL, cram=True))
    sample = cohort.samples[0]
    assert sample.alignment.name == "S01.cram" and sample.index.name == "S01.cram.crai"
    assert sample.index.is_file()
    assert "S01\tS01.cram\tS01.cram.crai" in cohort.sample_sheet.read_text()
    decoded = subprocess.run(
        ["samtools", "view", "-c", "-T", str(cohort.reference), str(sample.alignment)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(decoded.stdout) == sample.reads
    bam = simulate_cohort(tmp_path / "bam", SMALL).samples[0].alignment

    # CRAM decoding adds MD/NM tags; the eleven mandatory SAM fields must be the same.
    def core(records: list[str]) -> list[list[str]]:
        return [record.split("\t")[:11] for record in records]

    assert core(bam_records(sample.alignment, cohort.reference)) == core(bam_records(bam))


@needs_samtools
def test_contig_names_with_colon_and_star_round_trip(tmp_path: Path) -> None:
    names = ("HLA-X*01:01", "chr:2")
    cohort = simulate_cohort(
        tmp_path / "hla", replace(SMALL, contigs=2, contig_names=names, length=8_000)
    )
    with pysam.FastaFile(str(cohort.reference)) as fasta:
        assert tuple(fasta.references) == names
    with pysam.VariantFile(str(cohort.truth_vcf)) as truth:
        assert tuple(truth.header.contigs) == names
        assert {record.chrom for record in truth} == set(names)
    bam = cohort.samples[0].alignment
    with pysam.AlignmentFile(str(bam)) as alignments:
        assert tuple(alignments.references) == names
        in_first = alignments.count(contig=names[0])
    region = subprocess.run(
        ["samtools", "view", "-c", str(bam), "{HLA-X*01:01}"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(region.stdout) == in_first > 0


def test_n_gap_gets_no_reads_and_no_variants(tmp_path: Path) -> None:
    params = replace(SMALL, n_gap=700, length=20_000, snp_rate=0.01, contigs=2)
    cohort = simulate_cohort(tmp_path / "gap", params)
    with pysam.FastaFile(str(cohort.reference)) as fasta:
        reference = {name: fasta.fetch(name) for name in fasta.references}
    for name, sequence in reference.items():
        assert "N" * 700 in sequence and "N" * 701 not in sequence, name
    with pysam.VariantFile(str(cohort.truth_vcf)) as truth:
        for record in truth:
            assert "N" not in reference[record.chrom][record.start : record.stop + 1]
    with pysam.AlignmentFile(str(cohort.samples[0].alignment)) as alignments:
        for read in alignments:
            spanned = reference[read.reference_name][read.reference_start : read.reference_end]
            assert "N" not in spanned


def test_include_fasta_contigs_come_first_and_get_reads(tmp_path: Path) -> None:
    rng = random.Random(1)
    included = (
        "".join(rng.choices("acgt", k=3_000)) + "NNNN" + "".join(rng.choices("ACGT", k=3_000))
    )
    fasta = tmp_path / "extra.fa"
    fasta.write_text(f">extra contig description\n{included[:3000]}\n{included[3000:]}\n")
    cohort = simulate_cohort(tmp_path / "inc", replace(SMALL, include_fasta=fasta, snp_rate=0.005))
    assert [name for name, _ in cohort.contigs] == ["extra", "syn1", "syn2", "syn3"]
    with pysam.FastaFile(str(cohort.reference)) as reference:
        assert reference.fetch("extra") == included.upper()
    with pysam.AlignmentFile(str(cohort.samples[0].alignment)) as alignments:
        assert alignments.count(contig="extra") > 100
    with pysam.VariantFile(str(cohort.truth_vcf)) as truth:
        assert any(record.chrom == "extra" for record in truth)


def test_indel_sites_are_left_aligned_spaced_and_biallelic() -> None:
    rng = random.Random(3)
    sequence = "".join(rng.choices("ACGT", k=50_000)) + "N" * 50 + "AC" * 500
    sites = place_sites(Contig("c", sequence), snp_rate=0.002, indel_rate=0.004, seed=9)
    insertions = deletions = 0
    for site in sites:
        assert "N" not in sequence[site.pos : site.pos + len(site.ref)]
        assert sequence[site.pos : site.pos + len(site.ref)] == site.ref
        assert site.ref[0] == site.alt[0] or site.is_snp
        if len(site.ref) > 1:
            deletions += 1
            assert site.ref[0] != site.ref[-1]  # deletion of ref[p+1:p+1+k]: ref[p] != ref[p+k]
        elif len(site.alt) > 1:
            insertions += 1
            assert site.alt[-1] != site.ref  # insertion of s after p: ref[p] != s[-1]
            assert len(site.alt) - 1 <= 10
    for before, after in zip(sites, sites[1:], strict=False):
        assert after.pos >= before.pos + len(before.ref) + MIN_SITE_SPACING
    assert insertions > 50 and deletions > 50


def test_haplotype_alignment_cigars() -> None:
    reference = "ACGTACGTAC" * 10
    sites = [
        Site("c", 19, reference[19:24], reference[19], 0.5),  # deletes reference 20..23
        Site("c", 49, reference[49], reference[49] + "TTT", 0.5),  # inserts after reference 49
    ]
    haplotype = build_haplotype(reference, sites, [1, 1])
    assert haplotype.sequence == reference[:20] + reference[24:50] + "TTT" + reference[50:]
    assert haplotype.align(0, 10) == (0, 10, "10M")
    assert haplotype.align(10, 30) == (10, 34, "10M4D10M")
    # Haplotype 46..48 are the inserted bases (after reference 49, haplotype 45).
    assert haplotype.align(40, 60) == (44, 61, "6M3I11M")
    assert haplotype.align(47, 60) == (50, 61, "2S11M")  # no read starts inside an insertion
    assert haplotype.align(30, 48) == (34, 50, "16M2S")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"samples": 0}, "--samples"),
        ({"depth": 0}, "--depth"),
        ({"length": 1_000}, "--length"),
        ({"contig_names": ("a", "b")}, "--contig-names"),
        ({"contig_names": ("a", "a", "b")}, "--contig-names"),
        ({"contig_names": ("a", "b c", "d")}, "--contig-names"),
        ({"insert_size": 50}, "--insert-size"),
        ({"read_length": 10}, "--read-length"),
        ({"error_rate": 0.5}, "--error-rate"),
        ({"snp_rate": -0.1}, "--snp-rate"),
        ({"n_gap": 20_000}, "--length"),
        ({"contigs": 0}, "--contigs"),
        ({"include_fasta": Path("/nonexistent.fa")}, "--include-fasta"),
    ],
)
def test_bad_params_name_the_parameter(
    tmp_path: Path, change: dict[str, object], named: str
) -> None:
    with pytest.raises(KubecallError, match=named):
        simulate_cohort(tmp_path / "out", replace(SMALL, **change))  # type: ignore[arg-type]
    assert not (tmp_path / "out" / "ref.fa").exists()


def test_refuses_non_empty_outdir_unless_forced(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(KubecallError, match="OUTDIR.*--force"):
        simulate_cohort(tmp_path, SMALL)
    cohort = simulate_cohort(tmp_path, replace(SMALL, force=True))
    assert cohort.reference.is_file() and (tmp_path / "keep.txt").is_file()


def test_sample_names_are_padded_to_the_cohort_size() -> None:
    assert replace(SMALL, samples=4).sample_names() == ["S01", "S02", "S03", "S04"]
    assert replace(SMALL, samples=1000).sample_names()[:2] == ["S0001", "S0002"]
    assert replace(SMALL, samples=100).sample_names()[-1] == "S100"


def test_cli_simulates_and_reports_user_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["simulate", "--samples", "1", "--length", "6000", "--depth", "3", "--seed", "4"]
    assert main([*base, "--contigs", "2", "--contig-names", "a*1:2,b", str(tmp_path / "ok")]) == 0
    assert (tmp_path / "ok" / "S01.bam.bai").is_file()
    assert "a*1:2" in (tmp_path / "ok" / "ref.fa.fai").read_text()
    assert main([*base, "--contigs", "2", "--contig-names", "a", str(tmp_path / "bad")]) == 2
    assert "error: --contig-names" in capsys.readouterr().err


@pytest.mark.parametrize("contigs", [1, 3, 7])
def test_too_short_length_error_suggests_one_that_works(contigs: int) -> None:
    params = replace(SMALL, length=100, contigs=contigs, n_gap=300)
    with pytest.raises(KubecallError, match="--length 100") as error:
        validate_params(params)
    suggested = re.search(r"use --length (\d+) or more", str(error.value))
    assert suggested is not None
    validate_params(replace(params, length=int(suggested.group(1))))
