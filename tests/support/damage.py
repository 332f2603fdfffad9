"""Bad inputs made from the real NA12878 files, one builder per kind of damage.

Each builder takes the writable copy from the ``na12878`` fixture and a scratch directory
and returns the workflow config to run and a regex the error message must match. The unit
tests feed the same cases to preflight directly; the workflow tests run snakemake on them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.conftest import write_sheet

Case = tuple[dict, str]


def _config(ref: Path, sheet: Path, count: int = 2) -> dict:
    return {"reference": str(ref), "samples": str(sheet), "regions": {"count": count}}


def missing_alignment(data: dict[str, Path], tmp: Path) -> Case:
    sheet = write_sheet(tmp / "s.tsv", [("1", "gone.bam")])
    return _config(data["ref"], sheet), r"sample 1 \(sheet line 2\): .*gone.bam: file not found"


def truncated_mid_file(data: dict[str, Path], tmp: Path) -> Case:
    bam = tmp / "cut.bam"
    bam.write_bytes(data["bam"].read_bytes()[:100_000])
    subprocess.run(["samtools", "index", str(data["bam"]), f"{bam}.bai"], check=True)
    sheet = write_sheet(tmp / "s.tsv", [("1", bam.name)])
    return _config(data["ref"], sheet), r"cut.bam: EOF marker is absent, the file is truncated"


def eof_block_missing(data: dict[str, Path], tmp: Path) -> Case:
    """Every read present, only the 28-byte EOF block gone: an interrupted copy."""
    bam = tmp / "noeof.bam"
    bam.write_bytes(data["bam"].read_bytes()[:-28])
    shutil.copy(f"{data['bam']}.bai", f"{bam}.bai")
    sheet = write_sheet(tmp / "s.tsv", [("1", bam.name)])
    return _config(data["ref"], sheet), r"noeof.bam: EOF marker is absent"


def eof_block_only(data: dict[str, Path], tmp: Path) -> Case:
    """A file holding nothing but the EOF block (a write that failed before any data)."""
    bam = tmp / "empty.bam"
    bam.write_bytes(data["bam"].read_bytes()[-28:])
    shutil.copy(f"{data['bam']}.bai", f"{bam}.bai")
    sheet = write_sheet(tmp / "s.tsv", [("1", bam.name)])
    return _config(data["ref"], sheet), r"empty.bam: holds no data \(only 28 bytes\)"


def missing_index(data: dict[str, Path], tmp: Path) -> Case:
    bam = tmp / "noidx.bam"
    shutil.copy(data["bam"], bam)
    sheet = write_sheet(tmp / "s.tsv", [("1", bam.name)])
    return _config(data["ref"], sheet), r"noidx.bam: no index found .* run 'samtools index"


def stale_index(data: dict[str, Path], tmp: Path) -> Case:
    bam = tmp / "stale.bam"
    shutil.copy(data["bam"], bam)
    shutil.copy(f"{data['bam']}.bai", f"{bam}.bai")
    old = bam.stat().st_mtime - 3600
    os.utime(f"{bam}.bai", (old, old))
    sheet = write_sheet(tmp / "s.tsv", [("1", bam.name)])
    return _config(data["ref"], sheet), r"index .*stale.bam.bai is older than the alignment"


def contig_name_mismatch(data: dict[str, Path], tmp: Path) -> Case:
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"]))])
    return (_config(data["hla_ref"], sheet),
            r"reference contig 'HLA-DRB1\*16:02:01' is not in the alignment header")


def contig_length_mismatch(data: dict[str, Path], tmp: Path) -> Case:
    ref = tmp / "short.fa"
    sequence = "".join(data["ref"].read_text().splitlines()[1:])[:12000]
    ref.write_text(">q\n" + sequence + "\n")
    subprocess.run(["samtools", "faidx", str(ref)], check=True)
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"]))])
    return _config(ref, sheet), r"contig 'q' is 12356 bp in the alignment but 12000 bp"


def duplicate_sheet_name(data: dict[str, Path], tmp: Path) -> Case:
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"])), ("1", str(data["cram"]))])
    return _config(data["ref"], sheet), r"s.tsv:3: sample '1' is listed again"


def duplicate_read_group_sample(data: dict[str, Path], tmp: Path) -> Case:
    copy = tmp / "copy.bam"
    shutil.copy(data["bam"], copy)
    shutil.copy(f"{data['bam']}.bai", f"{copy}.bai")
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"])), ("2", copy.name)])
    return (_config(data["ref"], sheet),
            r"copy.bam and .*NA12878.chr22.tiny.bam both carry read-group sample '1'")


def sheet_name_differs_from_sm(data: dict[str, Path], tmp: Path) -> Case:
    sheet = write_sheet(tmp / "s.tsv", [("NA12878", str(data["bam"]))])
    return (_config(data["ref"], sheet),
            r"read-group sample is '1' but the sheet says 'NA12878'; rename the sheet's sample")


def _rewritten_bam(data: dict[str, Path], tmp: Path, name: str, *command: str) -> Path:
    """``samtools <command> -o tmp/name`` over the NA12878 BAM, indexed."""
    bam = tmp / name
    subprocess.run(["samtools", *command, "-o", str(bam), str(data["bam"])], check=True)
    subprocess.run(["samtools", "index", str(bam)], check=True)
    return bam


def reads_without_read_group_tags(data: dict[str, Path], tmp: Path) -> Case:
    """@RG in the header, no RG tag on the reads: freebayes stops hours into calling."""
    bam = _rewritten_bam(data, tmp, "untagged.bam", "view", "-b", "-x", "RG")
    sheet = write_sheet(tmp / "s.tsv", [("1", bam.name)])
    return (_config(data["ref"], sheet),
            r"untagged.bam: 1000 of its first 1000 reads carry no RG tag .* addreplacerg")


def index_of_another_file(data: dict[str, Path], tmp: Path) -> Case:
    """The sheet's index column names another BAM's (fresh, well-formed) .bai."""
    half = _rewritten_bam(data, tmp, "half.bam", "view", "-b", "-s", "0.5")
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"]), f"{half}.bai")])
    return (_config(data["ref"], sheet),
            r"index .*half.bam.bai does not belong to it .* own index")


def cram_against_other_bases(data: dict[str, Path], tmp: Path) -> Case:
    """A CRAM written against a reference with the same names and lengths, other bases."""
    other = tmp / "other.fa"
    lines = data["ref"].read_text().splitlines()
    lines[1] = ("C" if lines[1][0] != "C" else "A") + lines[1][1:]
    other.write_text("\n".join(lines) + "\n")
    # the BAM's @SQ already has M5 (samtools would keep it): drop it, the CRAM gets other's
    header = subprocess.run(["samtools", "view", "-H", str(data["bam"])], check=True,
                            capture_output=True, text=True).stdout
    (tmp / "h.sam").write_text(re.sub(r"\tM5:[0-9a-f]+", "", header))
    unstamped = tmp / "nom5.bam"
    unstamped.write_bytes(subprocess.run(
        ["samtools", "reheader", str(tmp / "h.sam"), str(data["bam"])], check=True,
        capture_output=True).stdout)
    cram = tmp / "other.cram"
    subprocess.run(["samtools", "view", "-C", "-T", str(other), "-o", str(cram),
                    str(unstamped)], check=True)
    subprocess.run(["samtools", "index", str(cram)], check=True)
    sheet = write_sheet(tmp / "s.tsv", [("1", cram.name)])
    return (_config(data["ref"], sheet),
            r"other.cram: contig 'q' has M5 \w+ in the CRAM header but .*q.fa has MD5 \w+ "
            r"\(same name and length, other bases\); set 'reference' to the FASTA")


def fai_of_another_fasta(data: dict[str, Path], tmp: Path) -> Case:
    """A .fai copied from the same sequence wrapped at 70 columns: names and lengths agree."""
    ref = tmp / "rewrapped.fa"
    sequence = "".join(data["ref"].read_text().splitlines()[1:])
    ref.write_text(">q\n" + "".join(sequence[i:i + 70] + "\n"
                                     for i in range(0, len(sequence), 70)))
    subprocess.run(["samtools", "faidx", str(ref)], check=True)
    shutil.copy(f"{ref}.fai", f"{data['ref']}.fai")
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"]))])
    return (_config(data["ref"], sheet),
            r"q.fa.fai:1: contig 'q': .*; the index .* was not made from .*q.fa; delete it")


def iupac_in_reference(data: dict[str, Path], tmp: Path) -> Case:
    ref = tmp / "iupac.fa"
    lines = data["ref"].read_text().splitlines()
    lines[5] = lines[5][:10] + "R" + lines[5][11:]
    ref.write_text("\n".join(lines) + "\n")
    subprocess.run(["samtools", "faidx", str(ref)], check=True)
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"]))])
    return (_config(ref, sheet),
            r"iupac.fa has 1 IUPAC ambiguity code\(s\) \(q:251 R\); .*reference_iupac: keep")


def read_group_sample_not_a_sheet_name(data: dict[str, Path], tmp: Path) -> Case:
    bam = _rewritten_bam(data, tmp, "badsm.bam", "addreplacerg", "-m", "overwrite_all", "-r",
                         "ID:x\tSM:NA12878#1")
    sheet = write_sheet(tmp / "s.tsv", [("NA12878", bam.name)])
    return (_config(data["ref"], sheet),
            r"read-group sample is 'NA12878#1', which cannot be a sheet name .* "
            r"-r \"SM:NA12878\" -o fixed.bam .*badsm.bam")


def bgzipped_reference(data: dict[str, Path], tmp: Path) -> Case:
    ref = tmp / "zipped.fa"
    ref.write_bytes(subprocess.run(["bgzip", "-c", str(data["ref"])], check=True,
                                   capture_output=True).stdout)
    subprocess.run(["samtools", "faidx", str(ref)], check=True)  # works, sadly
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"]))])
    return (_config(ref, sheet),
            r"zipped.fa \(config key 'reference'\) is bgzip-compressed, but freebayes needs "
            r"a plain FASTA .*gzip -dc .*zipped.fa > .*zipped.plain.fa")


def gzipped_reference(data: dict[str, Path], tmp: Path) -> Case:
    ref = tmp / "gz.fa"
    ref.write_bytes(subprocess.run(["gzip", "-c", str(data["ref"])], check=True,
                                   capture_output=True).stdout)
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"]))])
    return _config(ref, sheet), r"gz.fa \(config key 'reference'\) is gzip-compressed"


def schema_unknown_key(data: dict[str, Path], tmp: Path) -> Case:
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"]))])
    config = _config(data["ref"], sheet) | {"calling": {"extra": "", "ploidy": 2}}
    return config, r"calling: Additional properties are not allowed \('ploidy' was unexpected\)"


def schema_wrong_type(data: dict[str, Path], tmp: Path) -> Case:
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"]))])
    return _config(data["ref"], sheet) | {"regions": {"count": "many"}}, \
        r"regions.count: 'many' is not of type 'integer'"


def schema_missing_sheet(data: dict[str, Path], tmp: Path) -> Case:
    return (_config(data["ref"], tmp / "absent.tsv"),
            r"sample sheet .*absent.tsv \(config key 'samples'\) not found")


def reserved_freebayes_option(data: dict[str, Path], tmp: Path) -> Case:
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"]))])
    config = _config(data["ref"], sheet) | {"calling": {"extra": "--min-coverage 3 -r q:1-10"}}
    return config, r"calling.extra: '-r' \(-r\) is refused: it sets the regions"


def extra_word_is_another_bam(data: dict[str, Path], tmp: Path) -> Case:
    """A path without a dash in calling.extra: freebayes would read it as one more BAM."""
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"]))])
    config = _config(data["ref"], sheet) | {"calling": {"extra": str(data["bam"])}}
    return config, r"calling.extra: '.*NA12878.chr22.tiny.bam' is not an option: .* another BAM"


def extra_attached_output(data: dict[str, Path], tmp: Path) -> Case:
    """``-vFILE``: an attached value, which a word-by-word check would not see."""
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"]))])
    config = _config(data["ref"], sheet) | {"calling": {"extra": "-jvout.vcf"}}
    return config, r"calling.extra: '-jvout.vcf' \(-v\) is refused: it redirects the records"


def extra_with_braces(data: dict[str, Path], tmp: Path) -> Case:
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"]))])
    config = _config(data["ref"], sheet) | {"calling": {"extra": "--min-coverage ${DP}"}}
    return config, r"config calling.extra: .* contains '\{' or '\}'"


def allocator_not_a_library(data: dict[str, Path], tmp: Path) -> Case:
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"]))])
    config = _config(data["ref"], sheet) | {"calling": {"allocator": "jemalloc"}}
    return config, r"calling.allocator: 'jemalloc' is not 'tcmalloc', 'system' or the absolute"


def publish_without_credentials(data: dict[str, Path], tmp: Path) -> Case:
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"]))])
    config = _config(data["ref"], sheet) | {"publish": {
        "enabled": True, "bucket": "calls", "credentials_dir": str(tmp / "no-secret-here")}}
    return config, r"publish.credentials_dir .*no-secret-here is not a directory; mount the MinIO"


def publish_without_bucket(data: dict[str, Path], tmp: Path) -> Case:
    sheet = write_sheet(tmp / "s.tsv", [("1", str(data["bam"]))])
    config = _config(data["ref"], sheet) | {"publish": {"enabled": True, "bucket": ""}}
    return config, r"publish.bucket: '' is too short"


# Cases caught by preflight (file contents) vs at Snakefile load (config and sheet).
PREFLIGHT_CASES: dict[str, Callable[[dict[str, Path], Path], Case]] = {
    f.__name__: f
    for f in (missing_alignment, truncated_mid_file, eof_block_missing, eof_block_only,
              missing_index, stale_index, contig_name_mismatch, contig_length_mismatch,
              duplicate_read_group_sample, sheet_name_differs_from_sm,
              reads_without_read_group_tags, index_of_another_file, cram_against_other_bases,
              fai_of_another_fasta, iupac_in_reference, read_group_sample_not_a_sheet_name)
}
LOAD_CASES: dict[str, Callable[[dict[str, Path], Path], Case]] = {
    f.__name__: f
    for f in (schema_unknown_key, schema_wrong_type, schema_missing_sheet, duplicate_sheet_name,
              reserved_freebayes_option, extra_word_is_another_bam, extra_attached_output,
              extra_with_braces, bgzipped_reference, gzipped_reference,
              allocator_not_a_library,
              publish_without_credentials, publish_without_bucket)
}
