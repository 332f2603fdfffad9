"""Cohort selection through the real workflow: load time and the preflight job agree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, run_workflow

pytestmark = pytest.mark.workflow

DEMO = REPO / "resources" / "demo"
SHEET = ("sample\talignment\tpopulation\tgroup\n"
         "S01\tS01.bam\tSIM\tsimulated\n"
         "S02\tS02.bam\tSIM\tsimulated\n"
         "S03\tS03.bam\tSIM\tsimulated\n"
         "S04\tS04.bam\tSIM\tsimulated\n"
         "NA12878\tNA12878.cram\tCEU\treal\n")


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(DEMO, data)
    (data / "samples.tsv").write_text(SHEET)
    return data


def config_for(data: Path, cohort: dict) -> dict:
    return {"reference": str(data / "ref.fa"), "samples": str(data / "samples.tsv"),
            "cohort": cohort}


def test_preflight_writes_the_selected_cohort_and_caches_headers(demo: Path,
                                                                 tmp_path: Path) -> None:
    work = tmp_path / "work"
    config = config_for(demo, {"select": "groups", "groups": ["real"]})
    run = run_workflow(work, config, "--until", "preflight_cohort")
    assert run.returncode == 0, run.stderr[-3000:]
    assert (work / "results/cohort/samples.txt").read_text() == "NA12878\n"
    assert (work / ".kubecall-cache/preflight-headers.json").exists()
    # another selection reruns preflight (params changed); S01's header is read, not NA12878's
    config["cohort"] = {"select": "samples", "samples": ["S01", "NA12878"]}
    run = run_workflow(work, config, "--until", "preflight_cohort")
    assert run.returncode == 0, run.stderr[-3000:]
    assert (work / "results/cohort/samples.txt").read_text() == "S01\nNA12878\n"
    log = (work / "logs/preflight_cohort.log").read_text()
    assert "2 alignment(s), 1 header(s) read, 1 from the cache" in log


def test_selection_matching_nothing_stops_at_load(demo: Path, tmp_path: Path) -> None:
    config = config_for(demo, {"select": "populations", "populations": ["CEU", "GBR"]})
    run = run_workflow(tmp_path / "work", config)
    assert run.returncode != 0
    assert "cohort.populations names 'GBR', which match(es) no sample" in run.stderr
    assert "the sheet has: CEU, SIM" in run.stderr
    assert not (tmp_path / "work" / "logs").exists()  # not a single job ran
