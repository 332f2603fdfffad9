"""What bench/scatter.py and bench/cohort_growth.py share: a cohort made with tools that are
not the project's (a random reference, dwgsim population mutations with each sample carrying
a random half of them, 2x100 bp reads with errors, bwa mem with read groups, samtools sort
and index), and the runs compared on it (freebayes-parallel, the workflow with
profiles/local), each timed, with what freebayes used where wait4 tells it."""

from __future__ import annotations

import csv
import os
import random
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pysam
from _measure import Measured, run_measured

from kubecall.devtools.simulate import TRUTH_NAME

REPO = Path(__file__).resolve().parents[1]
FREEBAYES_SCRIPTS = Path("/usr/share/freebayes/scripts")
READ_LENGTH = 100  # dwgsim reads: 2 x 100 bp pairs
QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def schema_defaults() -> dict[str, dict[str, object]]:
    """The schema's defaults of regions.* and calling.*."""
    from kubecall.pipeline.config import load_schema

    schema = load_schema(REPO / "workflow/schemas/config.schema.yaml")
    return {section: {key: spec.get("default") for key, spec in
                      schema["properties"][section]["properties"].items()}
            for section in ("regions", "calling")}


def timed(command: list[str], output: Path | None = None) -> float:
    """Run a command (stdout to ``output``, bgzipped), return its wall time in seconds."""
    return run_measured(command, capture=False, bgzip_to=output).seconds


def random_reference(path: Path, length: int, contigs: int, rng: random.Random) -> None:
    """A FASTA of ``contigs`` random contigs of uneven lengths adding up to ``length``."""
    shares = [rng.uniform(0.5, 1.5) for _ in range(contigs)]
    lengths = [max(1000, int(length * share / sum(shares))) for share in shares]
    if contigs == 1:
        lengths = [length]  # exactly, whatever the float division gave
    with open(path, "w") as fasta:
        for index, size in enumerate(lengths):
            bases = "".join(rng.choices("ACGT", k=size))
            fasta.write(f">ctg{index + 1}\n")
            fasta.writelines(bases[i:i + 60] + "\n" for i in range(0, size, 60))


@dataclass
class Cohort:
    """The BAMs made (sample order) and the seconds each stage took: ``reference`` (FASTA,
    faidx, bwa index, population mutations) and the wall of the samples' stage, plus the
    per-sample steps' seconds summed over the workers (``dwgsim``, ``bwa_sort``, ``index``)."""

    bams: list[str]
    stages: dict[str, float] = field(default_factory=dict)


def build_dwgsim_cohort(cohort: Path, *, samples: int, length: int, contigs: int,
                        depth: float | Sequence[float], seed: int, cores: int,
                        made: int = 0) -> Cohort:
    """Reference ``ref.fa`` (indexed for samtools and bwa), one sorted and indexed BAM per
    sample (S01, S02, ...) and ``samples.tsv`` listing them, made by dwgsim and bwa mem.

    ``depth`` is every sample's mean depth, or one per sample. The population's sites (SNPs
    and indels, ``dwgsim -M``) are drawn once; each sample carries a random half of them
    (shared variants are what joint calling is for). Samples are made ``cores`` at a time,
    one bwa thread each; bwa reads a fixed 10 Mbp per batch (-K), so its alignments do not
    depend on the thread count. ``made``: the first samples are already in ``cohort``, made
    by this function with the same options (the same samples: they are drawn in order)."""
    rng = random.Random(seed)
    reference = cohort / "ref.fa"
    started = time.perf_counter()
    random_reference(reference, length, contigs, rng)
    subprocess.run(["samtools", "faidx", str(reference)], check=True)
    subprocess.run(["bwa", "index", str(reference)], check=True, **QUIET)
    subprocess.run(["dwgsim", "-M", "-r", "0.001", "-R", "0.15", "-z", str(seed),
                    str(reference), str(cohort / "population")], check=True, **QUIET)
    population = (cohort / "population.mutations.txt").read_text().splitlines(keepends=True)
    stages = {"reference": time.perf_counter() - started, "dwgsim": 0.0, "bwa_sort": 0.0,
              "index": 0.0}
    depths = [float(depth)] * samples if isinstance(depth, int | float) else list(depth)
    names = [f"S{number:02d}" for number in range(1, samples + 1)]
    # drawn in sample order before any work starts: the same samples however many workers
    for name in names:
        (cohort / f"{name}.carried.txt").write_text(
            "".join(line for line in population if rng.random() < 0.5))

    def make(number: int) -> dict[str, float]:
        name, prefix = names[number - 1], cohort / names[number - 1]
        if number <= made:
            return {}
        pairs = max(1, int(depths[number - 1] * length / (2 * READ_LENGTH)))
        clock = time.perf_counter()
        subprocess.run(["dwgsim", "-m", str(cohort / f"{name}.carried.txt"), "-N", str(pairs),
                        "-1", str(READ_LENGTH), "-2", str(READ_LENGTH), "-e", "0.002-0.01",
                        "-E", "0.004-0.02", "-d", "350", "-s", "35", "-y", "0.01",
                        "-z", str(seed + number), "-o", "1", str(reference), str(prefix)],
                       check=True, **QUIET)
        took = {"dwgsim": time.perf_counter() - clock}
        clock = time.perf_counter()
        bam = cohort / f"{name}.bam"
        aligner = subprocess.Popen(
            ["bwa", "mem", "-t", "1", "-K", "10000000", "-R", f"@RG\\tID:{name}\\tSM:{name}",
             str(reference), f"{prefix}.bwa.read1.fastq.gz", f"{prefix}.bwa.read2.fastq.gz"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        subprocess.run(["samtools", "sort", "-o", str(bam), "-"], stdin=aligner.stdout,
                       check=True, stderr=subprocess.DEVNULL)
        aligner.stdout.close()
        if aligner.wait() != 0:
            raise SystemExit(f"bwa mem failed for {name}")
        took["bwa_sort"] = time.perf_counter() - clock
        clock = time.perf_counter()
        subprocess.run(["samtools", "index", str(bam)], check=True)
        for reads in cohort.glob(f"{name}.bwa.read*.fastq.gz"):
            reads.unlink()  # the BAM holds them; the FASTQs would double the disk used
        took["index"] = time.perf_counter() - clock
        return took

    clock = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, cores)) as pool:
        for took in pool.map(make, range(1, samples + 1)):
            for stage, seconds in took.items():
                stages[stage] += seconds
    stages["samples_wall"] = time.perf_counter() - clock
    bams = [str(cohort / f"{name}.bam") for name in names]
    write_sample_sheet(cohort / "samples.tsv", bams)
    write_dwgsim_truth(cohort, names)
    return Cohort(bams, stages)


def write_dwgsim_truth(cohort: Path, names: Sequence[str]) -> Path:
    """``truth.vcf.gz`` (TRUTH_NAME, as ``kubecall simulate`` names its own; bgzipped and
    indexed): each sample's genotype at every population site one of them carries, from
    dwgsim's own record of what it put into that sample's reads (``<name>.mutations.vcf``:
    AF=1.0 on both haplotypes, 0.5 on one); 0/0 where a sample carries none. The truth is
    dwgsim's, so calls can be scored against something the project did not make
    (kubecall.devtools.accuracy)."""
    genotypes: dict[tuple[str, int, str, str], dict[str, str]] = {}
    for name in names:
        for line in (cohort / f"{name}.mutations.vcf").read_text().splitlines():
            if line.startswith("#"):
                continue
            contig, pos, _, ref, alt, _, _, info = line.split("\t")[:8]
            frequency = dict(field.split("=", 1) for field in info.split(";") if "=" in field)
            genotype = "1/1" if float(frequency["AF"]) == 1.0 else "0/1"
            genotypes.setdefault((contig, int(pos), ref, alt), {})[name] = genotype
    contigs = [line.split("\t")[:2] for line in
               (cohort / "ref.fa.fai").read_text().splitlines()]
    order = {contig: index for index, (contig, _) in enumerate(contigs)}
    truth = cohort / TRUTH_NAME
    plain = truth.with_suffix("")  # truth.vcf, which tabix_index compresses into truth
    with open(plain, "w") as vcf:
        vcf.write("##fileformat=VCFv4.2\n")
        vcf.writelines(f"##contig=<ID={contig},length={length}>\n" for contig, length in contigs)
        vcf.write('##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n')
        vcf.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
                  + "\t".join(names) + "\n")
        for key in sorted(genotypes, key=lambda site: (order[site[0]], *site[1:])):
            contig, pos, ref, alt = key
            calls = "\t".join(genotypes[key].get(name, "0/0") for name in names)
            vcf.write(f"{contig}\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t.\tGT\t{calls}\n")
    pysam.tabix_index(str(plain), preset="vcf", force=True)
    return truth


def write_sample_sheet(path: Path, bams: Sequence[str]) -> None:
    """A sample sheet naming each BAM's sample by its file name (S01.bam: S01)."""
    rows = "".join(f"{Path(bam).stem}\t{bam}\n" for bam in bams)
    path.write_text("sample\talignment\n" + rows)


def run_freebayes_parallel(reference: Path, bams: Sequence[str], cores: int, size: int,
                           out: Path, spans: Sequence[str] = (),
                           options: Sequence[str] = ()) -> Measured:
    """freebayes' own freebayes-parallel over ``size`` bp regions (fasta_generate_regions.py;
    or ``spans``, freebayes --region strings), listed beside ``out``, ``cores`` freebayes at
    once, into ``out`` (bgzipped), each freebayes with ``options`` too. The peak RSS is the
    largest process of its pipeline (freebayes, parallel, vcfstreamsort, ...)."""
    regions = out.parent / f"{out.name.split('.')[0]}.regions"
    with open(regions, "w") as handle:
        if spans:
            handle.write("".join(f"{span}\n" for span in spans))
        else:
            subprocess.run([sys.executable, str(FREEBAYES_SCRIPTS / "fasta_generate_regions.py"),
                            f"{reference}.fai", str(size)], stdout=handle, check=True)
    env = os.environ | {"PATH": f"{FREEBAYES_SCRIPTS}:{os.environ['PATH']}"}
    command = ["bash", str(FREEBAYES_SCRIPTS / "freebayes-parallel"), str(regions), str(cores),
               "-f", str(reference), *options, *bams]
    return run_measured(command, bgzip_to=out, env=env)


class WorkflowRun(NamedTuple):
    """One workflow run: wall seconds, seconds until the indexed call set existed, and the CPU
    seconds of snakemake and every job it ran (freebayes, the adapters, bcftools, ...)."""

    seconds: float
    calls_ready: float
    cpu_seconds: float


def run_kubecall(workdir: Path, config: str, cores: int, call_threads: int = 0) -> WorkflowRun:
    """The workflow (profiles/local, target ``all``) in ``workdir`` with ``config`` (YAML
    text, written to workdir/config.yaml). ``call_threads``: --set-threads call_batch=N (0:
    the profile's)."""
    workdir.mkdir(parents=True)
    (workdir / "config.yaml").write_text(config)
    started = time.time()
    run = run_measured([sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
                        "--profile", str(REPO / "profiles/local"), "--directory", str(workdir),
                        "--configfile", str(workdir / "config.yaml"), "--cores", str(cores),
                        "--quiet", "all",
                        *(["--set-threads", f"call_batch={call_threads}"] if call_threads
                          else [])], capture=False)
    # The call set (bgzipped and indexed) is ready before statistics and the report.
    calls_ready = (workdir / "results/calls/cohort.vcf.gz.tbi").stat().st_mtime - started
    return WorkflowRun(run.seconds, calls_ready, run.cpu_seconds)


def region_rows(workdir: Path) -> list[dict[str, str]]:
    """The rows of the run's results/qc/region_runtimes.tsv."""
    with open(workdir / "results/qc/region_runtimes.tsv", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def region_seconds(workdir: Path, column: str = "seconds") -> list[float]:
    return [float(row[column]) for row in region_rows(workdir)]


def benchmark_rows(workdir: Path, rule: str = "call_batch") -> dict[str, dict[str, str]]:
    """Snakemake's benchmark of each of the rule's jobs, by job (``<callset>/<batch>``)."""
    rows = {}
    for path in sorted((workdir / "benchmarks" / rule).glob("*/*.tsv")):
        with open(path, newline="") as handle:
            rows[f"{path.parent.name}/{path.stem}"] = next(csv.DictReader(handle,
                                                                          delimiter="\t"))
    return rows
