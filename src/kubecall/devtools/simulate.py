"""``kubecall simulate``: a deterministic synthetic cohort (reference, BAM/CRAMs, truth VCF)."""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kubecall.devtools.synthetic.reads import (
    ReadSettings,
    contig_read_lines,
    sam_header,
    sort_and_index,
)
from kubecall.devtools.synthetic.reference import (
    CONTIG_NAME_PATTERN,
    Contig,
    derive_seed,
    random_contig,
    read_fasta,
    split_length,
    write_fasta,
)
from kubecall.devtools.synthetic.variants import (
    MAX_INDEL_LENGTH,
    Site,
    build_haplotype,
    draw_genotypes,
    place_sites,
    write_truth_vcf,
)
from kubecall.errors import KubecallError

REFERENCE_NAME = "ref.fa"
TRUTH_NAME = "truth.vcf.gz"
SAMPLE_SHEET_NAME = "samples.tsv"
TEMP_DIR_NAME = ".simulate-tmp"
MIN_READ_LENGTH = 2 * MAX_INDEL_LENGTH + 10
# Above this many reads in total, progress goes to stderr.
PROGRESS_READS = 200_000


@dataclass(frozen=True)
class SimulationParams:
    """Everything that determines a synthetic cohort; equal params give identical output."""

    samples: int
    length: int
    depth: float
    seed: int
    contigs: int = 3
    read_length: int = 100
    insert_size: int = 350
    error_rate: float = 0.003
    snp_rate: float = 0.001
    indel_rate: float = 0.0001
    cram: bool = False
    uneven: bool = False
    n_gap: int = 0
    contig_names: tuple[str, ...] | None = None
    include_fasta: Path | None = None
    force: bool = False

    @property
    def read_settings(self) -> ReadSettings:
        return ReadSettings(
            self.read_length, self.insert_size, self.depth, self.error_rate, self.uneven
        )

    def sample_names(self) -> list[str]:
        """``S01``, ``S02``, …: zero-padded to the width of the sample count (at least 2)."""
        width = max(2, len(str(self.samples)))
        return [f"S{number:0{width}d}" for number in range(1, self.samples + 1)]

    def random_contig_names(self) -> list[str]:
        return list(self.contig_names or (f"syn{i}" for i in range(1, self.contigs + 1)))


@dataclass(frozen=True)
class SampleFiles:
    """One simulated sample's alignment file and its index."""

    name: str
    alignment: Path
    index: Path
    reads: int


@dataclass(frozen=True)
class CohortFiles:
    """What ``simulate_cohort`` wrote (absolute paths) and a few counts."""

    outdir: Path
    reference: Path
    reference_index: Path
    truth_vcf: Path
    truth_index: Path
    sample_sheet: Path
    samples: tuple[SampleFiles, ...]
    contigs: tuple[tuple[str, int], ...]
    truth_records: int
    sites: int


def validate_params(params: SimulationParams) -> None:
    """Raise KubecallError naming the first bad parameter and what to use instead."""
    if params.samples < 1:
        raise KubecallError(f"--samples {params.samples}: need at least 1 sample")
    if not params.depth > 0:
        raise KubecallError(f"--depth {params.depth}: must be greater than 0 (e.g. 20)")
    if params.seed < 0:
        raise KubecallError(f"--seed {params.seed}: must be 0 or greater")
    if params.read_length < MIN_READ_LENGTH:
        raise KubecallError(
            f"--read-length {params.read_length}: must be at least {MIN_READ_LENGTH}"
        )
    if params.insert_size < params.read_length:
        raise KubecallError(
            f"--insert-size {params.insert_size}: must be at least --read-length "
            f"({params.read_length})"
        )
    for name, value, upper in (
        ("--error-rate", params.error_rate, 0.2),
        ("--snp-rate", params.snp_rate, 0.02),
        ("--indel-rate", params.indel_rate, 0.01),
    ):
        if not 0 <= value <= upper:
            raise KubecallError(f"{name} {value}: must be between 0 and {upper}")
    if params.n_gap < 0:
        raise KubecallError(f"--n-gap {params.n_gap}: must be 0 or greater")
    if params.include_fasta is not None and not params.include_fasta.is_file():
        raise KubecallError(
            f"--include-fasta {params.include_fasta}: no such file; give an existing FASTA file"
        )
    _validate_contigs(params)


def _validate_contigs(params: SimulationParams) -> None:
    if params.contigs < 0 or (params.contigs == 0 and params.include_fasta is None):
        raise KubecallError(
            f"--contigs {params.contigs}: need at least 1 (0 only together with --include-fasta)"
        )
    if params.contigs == 0 and params.length != 0:
        raise KubecallError(f"--length {params.length}: must be 0 when --contigs is 0")
    if params.contig_names is not None and len(params.contig_names) != params.contigs:
        raise KubecallError(
            f"--contig-names: {len(params.contig_names)} names given but --contigs is "
            f"{params.contigs}; give exactly one name per contig"
        )
    names = params.random_contig_names()
    for name in names:
        if not CONTIG_NAME_PATTERN.fullmatch(name):
            raise KubecallError(
                f"--contig-names: {name!r} is not a valid SAM reference name (no spaces or "
                "commas; must not start with '*' or '=')"
            )
    if len(set(names)) != len(names):
        raise KubecallError("--contig-names: names must be unique")
    if params.contigs == 0:
        return
    # Each flank of a contig (either side of the N gap) must hold a few fragments.
    flanks = 2 if params.n_gap else 1
    needed = params.n_gap + flanks * 2 * params.read_settings.max_fragment
    shortest = min(split_length(params.length, params.contigs))
    if shortest < needed:
        shares = split_length(1_000_000, params.contigs)
        total = math.ceil(needed * 1_000_000 / min(shares))
        while min(split_length(total, params.contigs)) < needed:
            total += 1
        raise KubecallError(
            f"--length {params.length}: too short for {params.contigs} contigs with "
            f"--insert-size {params.insert_size} and --n-gap {params.n_gap} (the shortest "
            f"contig would be {shortest} bp, it needs {needed}); use --length {total} or more"
        )


def _prepare_outdir(outdir: Path, force: bool) -> None:
    if outdir.exists() and not outdir.is_dir():
        raise KubecallError(f"OUTDIR {outdir}: exists and is not a directory")
    if outdir.is_dir() and any(outdir.iterdir()) and not force:
        raise KubecallError(
            f"OUTDIR {outdir}: directory is not empty; choose a new directory or pass --force "
            "to overwrite the simulation files in it"
        )
    outdir.mkdir(parents=True, exist_ok=True)


def build_reference(params: SimulationParams) -> list[Contig]:
    """Included FASTA contigs first (verbatim, uppercased), then the random contigs."""
    contigs = read_fasta(params.include_fasta) if params.include_fasta is not None else []
    names = params.random_contig_names()
    clashes = sorted({contig.name for contig in contigs} & set(names))
    if clashes:
        raise KubecallError(
            f"--include-fasta {params.include_fasta}: contig name(s) {', '.join(clashes)} "
            "clash with the random contigs; choose other --contig-names"
        )
    for contig in contigs:
        if not CONTIG_NAME_PATTERN.fullmatch(contig.name):
            raise KubecallError(
                f"--include-fasta {params.include_fasta}: contig name {contig.name!r} is not a "
                "valid SAM reference name; rename it in the FASTA"
            )
    lengths = split_length(params.length, params.contigs)
    contigs += [
        random_contig(name, length, params.n_gap, params.seed)
        for name, length in zip(names, lengths, strict=True)
    ]
    return contigs


def simulate_cohort(
    outdir: Path, params: SimulationParams, progress: Callable[[str], None] | None = None
) -> CohortFiles:
    """Write a synthetic cohort into ``outdir``: ref.fa(.fai), alignments, truth VCF, sheet."""
    validate_params(params)
    outdir = outdir.resolve()
    _prepare_outdir(outdir, params.force)
    report = progress or (lambda message: None)
    contigs = build_reference(params)
    reference = outdir / REFERENCE_NAME
    write_fasta(contigs, reference)
    sites = {
        contig.name: place_sites(contig, params.snp_rate, params.indel_rate, params.seed)
        for contig in contigs
    }
    samples = params.sample_names()
    genotypes = {
        sample: {
            contig.name: draw_genotypes(sites[contig.name], sample, contig.name, params.seed)
            for contig in contigs
        }
        for sample in samples
    }
    truth = outdir / TRUTH_NAME
    truth_records = write_truth_vcf(truth, contigs, sites, genotypes, samples)
    report(
        f"reference: {len(contigs)} contigs, {sum(c.length for c in contigs)} bp; "
        f"{sum(map(len, sites.values()))} sites, {truth_records} in the truth"
    )
    temp_dir = outdir / TEMP_DIR_NAME
    temp_dir.mkdir(exist_ok=True)
    try:
        sample_files = tuple(
            _simulate_sample(sample, contigs, sites, genotypes[sample], params, outdir, report)
            for sample in samples
        )
    finally:
        shutil.rmtree(temp_dir, ignore_errors=True)
    sheet = outdir / SAMPLE_SHEET_NAME
    rows = ["sample\talignment\tindex"]
    rows += [f"{s.name}\t{s.alignment.name}\t{s.index.name}" for s in sample_files]
    sheet.write_text("\n".join(rows) + "\n")
    return CohortFiles(
        outdir=outdir,
        reference=reference,
        reference_index=reference.with_name(REFERENCE_NAME + ".fai"),
        truth_vcf=truth,
        truth_index=truth.with_name(TRUTH_NAME + ".tbi"),
        sample_sheet=sheet,
        samples=sample_files,
        contigs=tuple((contig.name, contig.length) for contig in contigs),
        truth_records=truth_records,
        sites=sum(map(len, sites.values())),
    )


def _simulate_sample(
    sample: str,
    contigs: list[Contig],
    sites: dict[str, list[Site]],
    genotypes: dict[str, list[tuple[int, int]]],
    params: SimulationParams,
    outdir: Path,
    report: Callable[[str], None],
) -> SampleFiles:
    """Reads of one sample: SAM text into a temp file, then sorted and indexed."""
    started = time.monotonic()
    unsorted = outdir / TEMP_DIR_NAME / f"{sample}.sam"
    reads = 0
    with unsorted.open("w") as handle:
        handle.write(sam_header(contigs, sample))
        for index, contig in enumerate(contigs):
            contig_sites = sites[contig.name]
            contig_genotypes = genotypes[contig.name]
            haplotypes = (
                build_haplotype(contig.sequence, contig_sites, [g[0] for g in contig_genotypes]),
                build_haplotype(contig.sequence, contig_sites, [g[1] for g in contig_genotypes]),
            )
            seed = derive_seed(params.seed, "reads", sample, contig.name)
            for pair in contig_read_lines(
                contig, index, haplotypes, sample, params.read_settings, seed
            ):
                handle.write(pair)
                reads += 2
    suffix, index_suffix = (".cram", ".crai") if params.cram else (".bam", ".bai")
    alignment = outdir / f"{sample}{suffix}"
    sort_and_index(unsorted, alignment, outdir / REFERENCE_NAME, params.cram)
    unsorted.unlink()
    report(f"{sample}: {reads} reads in {time.monotonic() - started:.1f} s")
    return SampleFiles(sample, alignment, alignment.with_name(alignment.name + index_suffix), reads)


def _parse_names(text: str) -> tuple[str, ...]:
    return tuple(name.strip() for name in text.split(","))


def params_from_args(args: argparse.Namespace) -> SimulationParams:
    """SimulationParams from the parsed ``kubecall simulate`` arguments."""
    return SimulationParams(
        samples=args.samples,
        length=args.length,
        depth=args.depth,
        seed=args.seed,
        contigs=args.contigs,
        read_length=args.read_length,
        insert_size=args.insert_size,
        error_rate=args.error_rate,
        snp_rate=args.snp_rate,
        indel_rate=args.indel_rate,
        cram=args.cram,
        uneven=args.uneven,
        n_gap=args.n_gap,
        contig_names=args.contig_names,
        include_fasta=args.include_fasta,
        force=args.force,
    )


def run(args: argparse.Namespace) -> int:
    """The ``kubecall simulate`` command."""
    params = params_from_args(args)
    validate_params(params)
    expected_reads = params.samples * params.length * params.depth / params.read_length
    verbose = expected_reads > PROGRESS_READS

    def progress(message: str) -> None:
        print(f"simulate: {message}", file=sys.stderr, flush=True)

    started = time.monotonic()
    cohort = simulate_cohort(args.outdir, params, progress if verbose else None)
    total_reads = sum(sample.reads for sample in cohort.samples)
    print(
        f"simulated {len(cohort.samples)} samples, {len(cohort.contigs)} contigs, "
        f"{cohort.truth_records} truth records, {total_reads} reads in "
        f"{time.monotonic() - started:.1f} s -> {cohort.outdir}",
        file=sys.stderr,
    )
    return 0


EXAMPLES = """examples:
  kubecall simulate --samples 4 --length 200000 --depth 20 --seed 1 cohort/
  kubecall simulate --samples 3 --length 30000 --depth 20 --seed 7 --cram --uneven small/
  kubecall simulate --samples 2 --length 20000 --depth 10 --seed 1 --contigs 2 \\
      --contig-names 'HLA-A*01:01,HLA-B*07:02' hla/
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` sub-command."""
    parser = subparsers.add_parser(
        "simulate",
        help="write a deterministic synthetic cohort (reference, BAMs, truth VCF)",
        description=(
            "Write ref.fa(.fai), one coordinate-sorted, indexed BAM (or CRAM) per sample, "
            "truth.vcf.gz(.tbi) and samples.tsv into OUTDIR. The same parameters and seed "
            "give identical files."
        ),
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--samples", type=int, required=True, help="number of samples")
    parser.add_argument(
        "--length", type=int, required=True, help="total bases of the random contigs"
    )
    parser.add_argument("--depth", type=float, required=True, help="mean read depth")
    parser.add_argument("--seed", type=int, required=True, help="random seed")
    parser.add_argument("--contigs", type=int, default=3, help="random contigs (default 3)")
    parser.add_argument("--read-length", type=int, default=100, help="default 100")
    parser.add_argument(
        "--insert-size", type=int, default=350, help="mean fragment length (default 350)"
    )
    parser.add_argument(
        "--error-rate", type=float, default=0.003, help="substitution errors per base"
    )
    parser.add_argument("--snp-rate", type=float, default=0.001, help="SNP sites per base")
    parser.add_argument("--indel-rate", type=float, default=0.0001, help="indel sites per base")
    parser.add_argument("--cram", action="store_true", help="write CRAM instead of BAM")
    parser.add_argument(
        "--uneven",
        action="store_true",
        help="coverage in stretches at 1x, 3x and 0.25x of the mean along each contig",
    )
    parser.add_argument(
        "--n-gap", type=int, default=0, metavar="LEN", help="N run in the middle of each contig"
    )
    parser.add_argument(
        "--contig-names",
        type=_parse_names,
        default=None,
        metavar="A,B,…",
        help="names of the random contigs (default syn1..synK)",
    )
    parser.add_argument(
        "--include-fasta",
        type=Path,
        default=None,
        metavar="PATH",
        help="put this FASTA's contigs first and simulate on them too",
    )
    parser.add_argument(
        "--force", action="store_true", help="write into a non-empty OUTDIR (overwrites)"
    )
    parser.add_argument("outdir", type=Path, metavar="OUTDIR")
    parser.set_defaults(func=run)
