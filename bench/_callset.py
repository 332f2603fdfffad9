"""A synthetic run directory as the workflow leaves it once calling is done, at any size.

Joint mode, one call set (``cohort``): a random reference with its .fai, the region plan
(``plan_equal``) and batches (``assign_batches``), the cohort's sample files, and per batch
``results/calls/cohort/batches/<batch>/<region>.vcf.gz`` (header and the records the region
owns, as call_batch writes them) with its ``regions.tsv``; then the QC tables
(``summarize_regions``), ``run.json`` (``describe_run``) and calling benchmarks.

The VCFs carry freebayes' own header (taken from a freebayes run on resources/demo) and its
FORMAT, GT:DP:AD:RO:QR:AO:QA:GL, with varied values: each sample column is drawn from a
precomputed pool (genotypes in Hardy-Weinberg proportions of a per-record allele frequency,
depth around 30, about 1% of samples without reads, ``.``), and the columns are joined as
strings, so generating costs Python work per record and a string join per sample, not
formatting per sample. SNPs, indels and two-ALT sites; INFO sums (DP, AC, AN, RO, AO, QR, QA,
AB) agree with the sample columns. Sample columns are in the sheet's order and the files
compressed at htslib's default level, as call_batch writes them (it puts freebayes' own order
into the sheet's), so that the merge joins them as they are.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np
import pysam
from _benchmark_file import write_benchmark

from kubecall.pipeline.batching import assign_batches, batch_dir, write_batches
from kubecall.pipeline.calling import RegionOutcome, write_outcomes
from kubecall.pipeline.planning import WeightedRegion
from kubecall.pipeline.qc import summarize_regions
from kubecall.pipeline.regions import plan_equal, write_plan
from kubecall.pipeline.runinfo import describe_run, tool_versions, write_run_info

REPO = Path(__file__).resolve().parents[1]
CALLSET = "cohort"
CONTIG_SHARES = (("20", 0.34), ("21", 0.24), ("22", 0.26), ("X", 0.16))
BASES_PER_RECORD = 100  # 1000 Genomes has a site every ~40 bp; sparser leaves room for indels
POOL = 1024  # distinct sample columns per genotype
MISSING = 0.01  # samples without reads at a site
BUDGET = 60.0  # calling.region_time_budget in run.json
FORMAT = "GT:DP:AD:RO:QR:AO:QA:GL"
TRANSITION = {"A": "G", "G": "A", "C": "T", "T": "C"}
CHUNK = 64  # records drawn at once


@dataclass
class Layout:
    """What was written, for the steps that follow."""

    root: Path
    samples: list[str]
    regions: int
    batches: list[str]
    records: int
    vcf_bytes: int


def freebayes_header_lines() -> list[str]:
    """freebayes' own meta lines (source, phasing, INFO, FORMAT) from a tiny demo run."""
    demo = REPO / "resources/demo"
    done = subprocess.run(["freebayes", "-f", str(demo / "ref.fa"), "-r", "q:1-400",
                           str(demo / "S01.bam")], capture_output=True, text=True, check=True)
    keep = ("##source=", "##phasing=", "##INFO=", "##FORMAT=")
    return [line for line in done.stdout.splitlines() if line.startswith(keep)]


# Genotypes in VCF order for up to two ALTs: 0/0 0/1 1/1 0/2 1/2 2/2 (the first three are
# the biallelic ones).
GENOTYPES = ((0, 0), (0, 1), (1, 1), (0, 2), (1, 2), (2, 2))
TWO_ALTS = 3 * POOL  # where the pool's two-ALT columns start
NO_READS = 9 * POOL  # the pool's last column, "."
# A pool column's numbers: allele counts (3), DP, RO, QR, AO (2), QA (2), het flag
DP, RO, QR, AO, QA, HET = 3, 4, 5, 6, 8, 10


def sample_pool(rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
    """Sample columns, ``POOL`` per genotype of one ALT then of two ALTs, then ``.``; and per
    column its numbers (the INFO sums are sums of them)."""
    columns: list[str] = []
    numbers: list[list[float]] = []
    for alleles in (2, 3):
        genotypes = GENOTYPES[:3] if alleles == 2 else GENOTYPES
        for first, second in genotypes:
            for _ in range(POOL):
                depth = max(1, int(rng.gamma(8.0, 30 / 8)))
                share = np.array([(first == k) + (second == k) for k in range(alleles)]) / 2
                counts = rng.multinomial(depth, 0.97 * share + 0.03 / alleles)  # a few errors
                quals = [int(c * rng.uniform(30, 38)) for c in counts]
                # log10 likelihoods: 0 for the called genotype, lower the more reads disagree
                likelihoods = []
                for b, a in genotypes:
                    against = sum(int(c) for k, c in enumerate(counts) if k not in (a, b))
                    value = against * rng.uniform(3.0, 3.8) + rng.uniform(0.3, 3)
                    likelihoods.append("0" if (b, a) == (first, second) else f"{-value:.6g}")
                alt_counts = ",".join(str(int(c)) for c in counts[1:])
                alt_quals = ",".join(str(q) for q in quals[1:])
                columns.append(f"{first}/{second}:{depth}:{counts[0]},{alt_counts}:{counts[0]}:"
                               f"{quals[0]}:{alt_counts}:{alt_quals}:{','.join(likelihoods)}")
                alts = [*counts[1:], 0][:2]
                alt_q = [*quals[1:], 0][:2]
                numbers.append([(first == k) + (second == k) for k in range(3)]
                               + [depth, counts[0], quals[0], *alts, *alt_q, first != second])
    columns.append(".")
    numbers.append([0] * len(numbers[0]))
    return columns, np.array(numbers, dtype=np.int64)


def draw_genotypes(rng: np.random.Generator, alts: np.ndarray, samples: int) -> np.ndarray:
    """Pool column indexes, records x samples: per record an allele frequency (most sites
    rare), genotypes in Hardy-Weinberg proportions of it, ``MISSING`` of samples without
    reads."""
    records = len(alts)
    alt_share = np.minimum(0.99, rng.beta(0.25, 2.5, records) + 0.0005)
    split = np.where(alts == 2, rng.uniform(0.2, 0.8, records), 1.0)
    f0, f1, f2 = 1 - alt_share, alt_share * split, alt_share * (1 - split)
    probabilities = np.stack([f0 * f0, 2 * f0 * f1, f1 * f1, 2 * f0 * f2, 2 * f1 * f2], axis=1)
    thresholds = np.cumsum(probabilities, axis=1)
    thresholds[alts == 1, 2:] = 2.0  # never past 1/1 with one ALT
    draws = rng.random((records, samples))
    genotype = (draws[:, :, None] >= thresholds[:, None, :]).sum(axis=2)
    index = np.where(alts == 2, TWO_ALTS, 0)[:, None] + genotype * POOL \
        + rng.integers(0, POOL, (records, samples))
    index[rng.random((records, samples)) < MISSING] = NO_READS
    return index


def draw_alleles(rng: np.random.Generator, sequence: bytes, pos0: int,
                 kind: str) -> tuple[str, list[str], list[str], list[str], list[int]]:
    """REF (from the reference), ALTs, and freebayes' TYPE, CIGAR and LEN of each ALT."""
    ref_base = chr(sequence[pos0])
    if kind == "snp":  # two transitions to one transversion, as in human variation
        transversions = [b for b in "ACGT" if b not in (ref_base, TRANSITION[ref_base])]
        alt = TRANSITION[ref_base] if rng.random() < 2 / 3 else str(rng.choice(transversions))
        return ref_base, [alt], ["snp"], ["1X"], [1]
    if kind == "multi":
        alts = [str(a) for a in rng.choice([b for b in "ACGT" if b != ref_base], 2,
                                           replace=False)]
        return ref_base, alts, ["snp", "snp"], ["1X", "1X"], [1, 1]
    size = int(rng.integers(1, 8))
    if kind == "del":
        ref = sequence[pos0:pos0 + size + 1].decode()
        return ref, [ref[0]], ["del"], [f"1M{size}D"], [size]
    return ref_base, [ref_base + "".join(rng.choice(list("ACGT"), size))], ["ins"], \
        [f"1M{size}I"], [size]


INFO_REST = ("DPRA=0;EPP={epp:.6g};EPPR={eppr:.6g};GTI=0;LEN={length};MEANALT=1;MQM=60;"
             "MQMR=60;NS={ns};NUMALT={numalt};ODDS={odds:.6g};PAIRED=1;PAIREDR=1;PAO={zeros};"
             "PQA={zeros};PQR=0;PRO=0;QA={qa};QR={qr};RO={ro};RPL={rpl};RPP={rpp};"
             "RPPR={rppr:.6g};RPR={rpr};RUN={ones};SAF={saf};SAP={rpp};SAR={sar};SRF={srf};"
             "SRP={rppr:.6g};SRR={srr};TYPE={kind};technology.ILLUMINA={ones}")


def _values(values: list) -> str:
    return ",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in values)


def record_line(rng: np.random.Generator, contig: str, pos0: int,
                alleles: tuple[str, list[str], list[str], list[str], list[int]],
                sums: np.ndarray, het_sums: np.ndarray, called_samples: int,
                columns: str) -> str:
    """One freebayes-like record: INFO from the sums of its sample columns' numbers."""
    ref, alts, types, cigars, lengths = alleles
    count = len(alts)
    ac = [int(v) for v in sums[1:1 + count]]
    an = int(sums[:3].sum())
    ao = [int(v) for v in sums[AO:AO + count]]
    ro = int(sums[RO])
    het_depth = het_sums[DP]
    balance = [float(het_sums[AO + k] / het_depth) if het_depth else 0.0 for k in range(count)]
    quality = float(rng.gamma(2.0, 40.0) * (1 + sum(ac))) if sum(ac) else \
        float(10 ** -rng.uniform(9, 14))
    forward = [int(a * rng.uniform(0.4, 0.6)) for a in ao]
    srf = int(ro * rng.uniform(0.4, 0.6))
    phred = _values([float(rng.uniform(3, 20)) for _ in alts])
    info = (f"AB={_values(balance)};ABP={phred};AC={_values(ac)};"
            f"AF={_values([a / an if an else 0.0 for a in ac])};AN={an};AO={_values(ao)};"
            f"CIGAR={','.join(cigars)};DP={int(sums[DP])};DPB={int(sums[DP])};"
            + INFO_REST.format(
                epp=rng.uniform(3, 20), eppr=rng.uniform(3, 20), length=_values(lengths),
                ns=called_samples, numalt=count, odds=rng.uniform(0, 40),
                zeros=_values([0] * count), qa=_values([int(v) for v in sums[QA:QA + count]]),
                qr=int(sums[QR]), ro=ro, rpl=_values([a // 2 for a in ao]),
                rpr=_values([a - a // 2 for a in ao]), rpp=phred, rppr=rng.uniform(3, 20),
                ones=_values([1] * count), saf=_values(forward),
                sar=_values([a - f for a, f in zip(ao, forward, strict=True)]), srf=srf,
                srr=ro - srf, kind=",".join(types)))
    return (f"{contig}\t{pos0 + 1}\t.\t{ref}\t{','.join(alts)}\t{quality:.6g}\t.\t{info}\t"
            f"{FORMAT}\t{columns}\n")


def write_reference(path: Path, contigs: list[tuple[str, int]],
                    rng: np.random.Generator) -> dict[str, bytes]:
    """A random FASTA (60 bases a line) and its .fai; the sequences by contig."""
    sequences = {}
    with open(path, "wb") as out:
        for name, length in contigs:
            sequence = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, length)]
            sequences[name] = sequence.tobytes()
            lines = b"\n".join(sequences[name][i:i + 60] for i in range(0, length, 60))
            out.write(f">{name}\n".encode() + lines + b"\n")
    pysam.faidx(str(path))
    return sequences


def write_run(root: Path, samples: int, records: int, regions: int, batches: int,
              seed: int = 1) -> Layout:
    """Write the synthetic run under ``root`` (which need not exist)."""
    rng = np.random.default_rng(seed)
    results = root / "results"
    for sub in ("regions", "qc", "cohort/callsets", "calls", "stats"):
        (results / sub).mkdir(parents=True, exist_ok=True)
    genome = max(records * BASES_PER_RECORD, regions * 1000, 100_000)
    contigs = [(name, int(genome * share)) for name, share in CONTIG_SHARES]
    reference_path = root / "reference.fa"
    reference = write_reference(reference_path, contigs, rng)

    names = [f"HG{index:05d}" for index in range(samples)]  # sheet order
    for path in ("cohort/samples.txt", f"cohort/callsets/{CALLSET}.samples.txt"):
        (results / path).write_text("".join(f"{name}\n" for name in names))

    plan = plan_equal(contigs, regions)
    write_plan(plan, results / "regions/regions.bed")
    weighted = [WeightedRegion(region, float(region.length)) for region in plan]
    assignment = assign_batches(weighted, batches)
    write_batches(weighted, assignment, results / "regions/batches.tsv")

    # records: one per stride of the genome laid end to end, jittered, kept off contig ends
    total = sum(length for _, length in contigs)
    stride = total // records
    offsets = np.arange(records) * stride + rng.integers(0, stride - 20, records)
    starts = np.cumsum([0] + [length for _, length in contigs])
    contig_of = np.searchsorted(starts, offsets, side="right") - 1
    cuts = np.array([round(i * total / regions) for i in range(regions + 1)])
    region_of = np.searchsorted(cuts, offsets, side="right") - 1
    kinds = rng.choice(["snp", "multi", "del", "ins"], records, p=[0.85, 0.05, 0.05, 0.05])

    meta = freebayes_header_lines()
    header = ["##fileformat=VCFv4.2", "##fileDate=20250101",
              *(line for line in meta if line.startswith("##source=")),
              f"##reference={reference_path}",
              *(f"##contig=<ID={name},length={length}>" for name, length in contigs),
              *(line for line in meta if line.startswith("##phasing=")),
              '##commandline="freebayes -f reference.fa -L alignments.txt -t targets.bed"',
              *(line for line in meta if line.startswith(("##INFO=", "##FORMAT="))),
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(names)]
    header_bytes = ("\n".join(header) + "\n").encode()
    columns, numbers = sample_pool(rng)
    boundaries = np.searchsorted(region_of, np.arange(regions + 1))
    per_batch: dict[str, list[tuple[str, str, int]]] = {}
    vcf_bytes = 0
    for number, region in enumerate(plan):
        directory = batch_dir(CALLSET, assignment[region.name], root)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{region.name}.vcf.gz"
        first, last = int(boundaries[number]), int(boundaries[number + 1])
        with open(path, "wb") as out:
            bgzip = subprocess.Popen(["bgzip", "-@2", "-c"], stdin=subprocess.PIPE,
                                     stdout=out)
            assert bgzip.stdin is not None
            bgzip.stdin.write(header_bytes)
            for chunk in range(first, last, CHUNK):
                numbers_of = range(chunk, min(last, chunk + CHUNK))
                places = []
                for record in numbers_of:
                    contig_index = int(contig_of[record])
                    contig, length = contigs[contig_index]
                    pos0 = int(offsets[record] - starts[contig_index])
                    if not region.owns(contig, pos0):
                        raise AssertionError(f"record {contig}:{pos0} is not in {region.name}")
                    kind = str(kinds[record]) if pos0 + 10 < length else "snp"
                    places.append((contig, pos0, draw_alleles(rng, reference[contig], pos0,
                                                              kind)))
                alts = np.array([len(alleles[1]) for _, _, alleles in places])
                index = draw_genotypes(rng, alts, samples)
                chosen = numbers[index]
                sums = chosen.sum(axis=1)
                het_sums = (chosen * chosen[:, :, HET:HET + 1]).sum(axis=1)
                called = (index != NO_READS).sum(axis=1)
                text = "".join(
                    record_line(rng, contig, pos0, alleles, sums[k], het_sums[k],
                                int(called[k]), "\t".join(map(columns.__getitem__, row)))
                    for k, ((contig, pos0, alleles), row) in enumerate(
                        zip(places, index.tolist(), strict=True)))
                bgzip.stdin.write(text.encode())
            bgzip.stdin.close()
            if bgzip.wait() != 0:
                raise RuntimeError(f"bgzip failed writing {path}")
        vcf_bytes += path.stat().st_size
        how = "split" if rng.random() < 0.01 else "normal"
        per_batch.setdefault(assignment[region.name], []).append(
            (region.name, how, last - first))

    benchmarks = root / "benchmarks/call_batch"
    for batch, rows in per_batch.items():
        seconds = [rng.lognormal(3, 0.5) * (4 if how != "normal" else 1) for _, how, _ in rows]
        # the table call_batch writes, by its own writer; a freebayes of 2,504 samples
        # holding some 450 MiB
        write_outcomes([RegionOutcome(name, how, took, count, 0, took * 0.97, 450.0)
                        for (name, how, count), took in zip(rows, seconds, strict=True)],
                       "system", batch_dir(CALLSET, batch, root) / "regions.tsv")
        write_benchmark(benchmarks / f"{batch}.tsv", sum(seconds), 900.0)
    summarize_regions(results / "regions/batches.tsv", [CALLSET], BUDGET,
                      results / "qc/region_runtimes.tsv", results / "qc/runaway_regions.tsv", root)
    config = {"reference": str(reference_path), "calling": {"mode": "joint",
              "region_time_budget": BUDGET}, "regions": {"count": regions, "batches": batches}}
    versions = tool_versions() | {"snakemake": metadata.version("snakemake")}
    write_run_info(describe_run(config, names, regions, Path(f"{reference_path}.fai"),
                                versions), results / "run.json")
    return Layout(root, names, regions, sorted(per_batch), records, vcf_bytes)

