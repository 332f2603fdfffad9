"""The run report on a real demo run: content, figures, a headless browser, snakemake --report,
and `kubecall progress` on finished and failed runs."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kubecall.pipeline.batching import read_batches
from kubecall.report.bcftools_stats import parse_stats
from kubecall.report.progress import _read_batch_log, format_progress, read_progress
from kubecall.report.render import FIGURES, SECTIONS
from tests.conftest import REPO
from tests.support.browser import load_page, needs_chromium

pytestmark = pytest.mark.workflow



def snakemake(workdir: Path, *extra: str, cores: int = 2) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
         "--profile", str(REPO / "profiles" / "default"), "--directory", str(workdir),
         "--cores", str(cores), *extra],
        capture_output=True, text=True, check=False,
    )


def demo_copy(workdir: Path, regions: dict[str, object] | None = None,
              **calling: object) -> Path:
    shutil.copytree(REPO / "config", workdir / "config")
    shutil.copytree(REPO / "resources" / "demo", workdir / "resources" / "demo")
    path = workdir / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["regions"].update(regions or {})
    config["calling"].update(calling)
    path.write_text(yaml.safe_dump(config))
    return workdir


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # No time budget: which regions run away depends on the machine's load, so runaway
    # marking is checked on this run's data with regions marked below, not on timings.
    workdir = demo_copy(tmp_path_factory.mktemp("report"))
    done = snakemake(workdir)
    assert done.returncode == 0, done.stderr[-3000:]
    return workdir


def tsv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def test_report_is_self_contained_and_shows_the_run(run_dir: Path) -> None:
    page = (run_dir / "results/report.html").read_text()
    # nothing fetched from elsewhere: every figure is inline
    assert not re.search(r"""(src|href)=["'](https?:|//)""", page)
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == len(FIGURES) == 9
    run = json.loads((run_dir / "results/run.json").read_text())
    assert run["run_id"] in page
    for tool, version in run["tools"].items():
        assert f"<td>{tool}</td><td>{version}</td>" in page
    for anchor, _ in SECTIONS:
        assert f'<section id="{anchor}">' in page
    for row in tsv(run_dir / "results/qc/region_runtimes.tsv"):
        assert f"<td>{row['region']}</td><td>{row['batch']}</td>" in page
    stats = parse_stats(run_dir / "results/stats/cohort.stats.txt")
    assert f"<b>Ts/Tv</b> {stats.ts_tv:.2f}" in page
    for sample in run["samples"]:
        assert f"<td>{sample}</td>" in page
    assert "Publishing is off" in page


def marked_runaways(page: str) -> set[str]:
    return set(re.findall(r'<tr class="runaway"><td>(r\d+)</td>', page))


def test_runaway_regions_are_marked_as_the_run_recorded(run_dir: Path) -> None:
    runaways = {row["region"] for row in tsv(run_dir / "results/qc/runaway_regions.tsv")}
    page = (run_dir / "results/report.html").read_text()
    assert marked_runaways(page) == runaways
    if not runaways:
        assert "No runaway regions" in page


def test_regions_the_run_split_or_retried_are_marked_with_the_budget(run_dir: Path) -> None:
    from kubecall.report.data import load_run
    from kubecall.report.render import render_report

    data = load_run(run_dir)
    data.budget_seconds = 0.5
    data.regions[1].how, data.regions[4].how = "split", "fallback"
    page = render_report(data)
    assert marked_runaways(page) == {data.regions[1].name, data.regions[4].name}
    assert (f"2 runaway region(s) (time budget 0.5 s): {data.regions[1].name}, "
            f"{data.regions[4].name}") in page


def test_figures_are_written_for_snakemake_report_as_the_page_shows_them(run_dir: Path) -> None:
    import xml.etree.ElementTree as ET

    figures = run_dir / "results/report/figures"
    written = sorted(p.name for p in figures.iterdir() if not p.name.startswith("."))
    assert written == sorted(f"{name}.svg" for name in FIGURES)
    page = (run_dir / "results/report.html").read_text()
    for name in FIGURES:
        svg = (figures / f"{name}.svg").read_text()
        ET.fromstring(svg)  # well-formed on its own
        assert f'<figure id="figure-{name}" aria-label="' in page and svg in page
    # the run's regions are the runtime figure's bars, one each with the region's name
    regions = tsv(run_dir / "results/qc/region_runtimes.tsv")
    runtimes = ET.fromstring((figures / "region_runtimes.svg").read_text())
    tips = [t.text for t in runtimes.iterfind(".//{*}g[@class='series']/{*}rect/{*}title")]
    assert [tip.split(" ")[0] for tip in tips] == [row["region"] for row in regions]


def test_snakemake_report_collects_the_marked_outputs(run_dir: Path) -> None:
    target = run_dir / "snakemake-report.html"
    done = snakemake(run_dir, "--report", str(target))
    assert done.returncode == 0, done.stderr[-3000:]
    text = target.read_text()
    for category in ("Run report", "Figures", "Quality control"):
        assert category in text
    assert "region_runtimes.tsv" in text


@needs_chromium
def test_report_loads_in_headless_chromium_without_errors(run_dir: Path) -> None:
    loaded = load_page(run_dir / "results/report.html")
    assert loaded.errors == []
    assert 'data-report-ready="yes"' in loaded.dom  # the page's script ran to its end
    for anchor, title in SECTIONS:
        assert f'<section id="{anchor}">' in loaded.dom
        assert f"<h2>{title.replace('&', '&amp;')}</h2>" in loaded.dom


@needs_chromium
def test_headless_check_catches_a_script_error(tmp_path: Path) -> None:
    """The browser check can fail: a page whose script throws is reported."""
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>missingFunction();"
                    "document.documentElement.setAttribute('data-report-ready','yes')"
                    "</script></body></html>")
    loaded = load_page(page)
    assert any("missingFunction" in error for error in loaded.errors)
    assert 'data-report-ready="yes"' not in loaded.dom


def test_progress_of_a_finished_run(run_dir: Path) -> None:
    progress = read_progress(run_dir)
    runaways = {row["region"] for row in tsv(run_dir / "results/qc/runaway_regions.tsv")}
    states = {name: state for b in progress.batches for name, state in b.regions.items()}
    assert {n for n, s in states.items() if s == "runaway"} == runaways
    assert {s for n, s in states.items() if n not in runaways} <= {"done"}
    assert len(states) == len(read_batches(run_dir / "results/regions/batches.tsv"))
    assert progress.batch_counts() == {"done": len(progress.batches)}
    # the per-region log lines (what a running batch is read from) agree with the outcome
    for batch in progress.batches:
        finished, _, current = _read_batch_log(run_dir / f"logs/call_batch/cohort/{batch.name}.log")
        outcome = {r["region"]: r["how"] for r in tsv(
            run_dir / f"results/calls/cohort/batches/{batch.name}/regions.tsv")}
        assert finished == outcome and current == set()  # none left running
    table = format_progress(progress)
    assert re.search(rf"^runaway\s+{len(runaways)}\s+-$", table, re.MULTILINE)


def test_progress_of_a_failed_run(tmp_path: Path) -> None:
    # three batches, so one fails and the others are seen never to start (on one core the
    # default is a single batch)
    workdir = demo_copy(tmp_path, regions={"batches": 3}, extra="--min-coverage not-a-number")
    done = snakemake(workdir, cores=1)
    assert done.returncode != 0
    progress = read_progress(workdir)
    (failed,) = [b for b in progress.batches if b.state == "failed"]
    rows = [r for r in read_batches(workdir / "results/regions/batches.tsv")
            if r["batch"] == failed.name]
    plan = [r["region"] for r in rows]
    # freebayes stopped on the batch's first region called, its longest expected (ties in
    # plan order); the rest never started
    first = min(rows, key=lambda r: -float(r["weight"]))["region"]
    assert failed.regions == {name: "failed" if name == first else "pending" for name in plan}
    others = [b for b in progress.batches if b is not failed]
    assert others and all(b.state == "pending" for b in others)
    table = format_progress(progress)
    assert re.search(rf"^{failed.name}\s+failed\s+0\s+0\s+{len(plan)}\s+{first}$", table,
                     re.MULTILINE)
    cli = subprocess.run([sys.executable, "-m", "kubecall.cli", "progress", str(workdir)],
                         capture_output=True, text=True, check=False)
    assert cli.returncode == 0 and cli.stdout == table


def test_resources_set_what_the_jobs_asked_for_against_what_they_used(tmp_path: Path) -> None:
    workdir = demo_copy(tmp_path)
    done = snakemake(workdir, "--default-resources", "mem_mb=1500", "runtime=30",
                     "--set-threads", "call_batch=2")
    assert done.returncode == 0, done.stderr[-3000:]
    # profiles/default's benchmark-extended records each job's request beside its use
    for path in (workdir / "benchmarks/call_batch/cohort").glob("*.tsv"):
        (row,) = tsv(path)
        assert row["threads"] == "2" and "'mem_mb': 1500" in row["resources"]
    page = (workdir / "results/report.html").read_text()
    table = page[page.index('<table id="resource-table">'):]
    # rule, jobs, threads
    assert re.search(r'<tr><td>call_batch</td><td class="num">\d+</td><td class="num">2</td>',
                     table)
    cli = subprocess.run([sys.executable, "-m", "kubecall.cli", "resources", str(workdir)],
                         capture_output=True, text=True, check=False)
    assert cli.returncode == 0, cli.stderr
    block = yaml.safe_load(cli.stdout)["set-resources"]
    # every rule that ran before the report, each sized below the 1500 MB the demo wasted
    assert set(block) >= {"call_batch", "merge_calls", "compute_stats", "preflight_cohort"}
    per_thread = int(block["call_batch"]["mem_mb"].removesuffix(" * threads"))
    largest = max(float(row["max_rss_mb"])
                  for row in tsv(workdir / "results/qc/region_runtimes.tsv"))
    # two freebayes at once, each at most the largest one seen, with headroom
    assert largest * 1.25 <= per_thread * 2 < 1500
    assert all(entry["runtime"] >= 1 for entry in block.values())
    assert all(entry["mem_mb"] < 1500 for rule, entry in block.items() if rule != "call_batch")
