"""Splitting changes nothing: the merged call set equals its regions and matches serial freebayes.

For region counts 1, 3 and 16, on the real NA12878 reads and on the demo cohort (simulated
samples plus NA12878 as CRAM): no record is duplicated or lost at region boundaries, and the
records match one serial freebayes run over the same inputs at CHROM, POS, REF, ALT and every
genotype, exactly (the default regions.padding gives freebayes the context serial freebayes has
at each cut). Every count from 1 to 256, without the workflow around it: test_region_sweep.py.
"""

from __future__ import annotations

import gzip
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from kubecall.devtools.concordance import compare_records
from tests.conftest import NA12878, REPO, run_workflow, write_sheet

pytestmark = pytest.mark.workflow

DEMO = REPO / "resources" / "demo"


def dataset(name: str, tmp: Path) -> tuple[Path, Path]:
    """Reference and sample sheet (absolute paths) for a named dataset."""
    if name == "na12878":
        return NA12878 / "q.fa", write_sheet(
            tmp / "na12878.tsv", [("1", str(NA12878 / "NA12878.chr22.tiny.bam"))])
    rows = [line.split("\t")[:2] for line in (REPO / "config/samples.tsv").read_text().splitlines()
            if line and not line.startswith(("#", "sample\t"))]
    return DEMO / "ref.fa", write_sheet(
        tmp / "demo.tsv", [(s, str((REPO / "config" / a).resolve())) for s, a in rows])


@pytest.fixture(scope="module")
def serial_calls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One serial freebayes run per dataset, the way a user would call the whole thing."""
    calls = {}
    for name in ("na12878", "demo"):
        tmp = tmp_path_factory.mktemp(f"serial-{name}")
        ref, sheet = dataset(name, tmp)
        bams = [line.split("\t")[1] for line in sheet.read_text().splitlines()[1:]]
        out = tmp / "serial.vcf.gz"
        freebayes = subprocess.run(["freebayes", "-f", str(ref), *bams], capture_output=True,
                                   check=True)
        subprocess.run(["bgzip", "-c"], input=freebayes.stdout, stdout=out.open("wb"), check=True)
        calls[name] = out
    return calls


def record_keys(path: Path) -> Counter:
    with gzip.open(path, "rt") as handle:
        return Counter(tuple(line.split("\t")[:5]) for line in handle if not line.startswith("#"))


@pytest.mark.parametrize("count", [1, 3, 16])
@pytest.mark.parametrize("name", ["na12878", "demo"])
def test_split_calls_match_serial(name: str, count: int, serial_calls: dict[str, Path],
                                  tmp_path: Path) -> None:
    ref, sheet = dataset(name, tmp_path)
    run = run_workflow(tmp_path / "work", {"reference": str(ref), "samples": str(sheet),
                                           "regions": {"strategy": "equal", "count": count}})
    assert run.returncode == 0, run.stderr[-3000:]
    results = tmp_path / "work" / "results"
    merged = results / "calls" / "cohort.vcf.gz"

    # exactly the union of the region outputs: nothing duplicated, nothing dropped
    union: Counter = Counter()
    for part in sorted((results / "calls" / "cohort" / "batches").glob("*/*.vcf.gz")):
        union += record_keys(part)
    assert record_keys(merged) == union
    assert max(union.values()) == 1

    comparison = compare_records(serial_calls[name], merged)
    print(f"{name} regions={count} {comparison.summary_line()}")
    assert comparison.records_a > 100
    assert comparison.discordant_sites == 0
