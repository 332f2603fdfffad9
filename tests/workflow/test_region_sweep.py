"""Split calling matches serial freebayes at every region count from 1 to 256 (issue 17).

On the demo cohort and on the real NA12878 reads under both contig namings they come with
(`q`, and `HLA-DRB1*16:02:01`), with the default config (strategy, padding, freebayes options
and allocator from the schema): for every count the contigs allow, the records the workflow
would merge equal one serial freebayes run at CHROM, POS, REF, ALT and every genotype
(samples matched by name).

Calling all 32,896 regions of the 256 counts would take hours; regions of different counts
share their grid-snapped padded windows (kubecall.pipeline.regions.WINDOW_GRID), so each
distinct window is called once with real freebayes by the workflow's calling code and each
count's call set is assembled from its regions' windows (kubecall.devtools.sweep).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kubecall.devtools.sweep import DATASETS, sweep_dataset
from tests.conftest import REPO

pytestmark = pytest.mark.workflow

MAX_COUNT = 256


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_region_count_matches_serial_freebayes(name: str, tmp_path: Path) -> None:
    result = sweep_dataset(REPO, name, MAX_COUNT, tmp_path)
    print(f"{name}: {result.summary_line()}")
    assert list(result.by_count) == list(range(1, MAX_COUNT + 1))  # the contigs allow all
    assert min(c.records_a for c in result.by_count.values()) > 100
    assert result.discordant() == {}
