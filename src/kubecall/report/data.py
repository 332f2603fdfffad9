"""Gather what the report shows: a run's deliverables (paths as the rule declares them, or as
kubecall.layout places them in a run directory), its benchmarks and its publication."""

from __future__ import annotations

import ast
import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubecall.errors import KubecallError
from kubecall.layout import BENCHMARKS, RECEIPT, deliverable_paths
from kubecall.pipeline.regions import read_plan
from kubecall.report.bcftools_stats import BcftoolsStats, parse_stats
from kubecall.report.vcf_summary import MAX_VALUES, CallSetSummary, summarize_calls


@dataclass
class RegionRow:
    """One planned region with its measured outcome (``results/qc/region_runtimes.tsv``)."""

    name: str
    batch: str
    weight: float
    bases: int
    how: str  # normal | split | fallback
    seconds: float
    records: int
    span: str  # the region's intervals, 1-based inclusive, for people to read
    callset: str = ""
    cpu_seconds: float = 0.0  # freebayes' own CPU time (wait4)
    max_rss_mb: float = 0.0  # peak RSS of the region's largest freebayes process, MiB

    @property
    def runaway(self) -> bool:
        return self.how != "normal"


@dataclass
class JobTiming:
    """One benchmark file: wall seconds, peak memory (MiB) and CPU seconds of one job, as
    snakemake samples them; with ``--benchmark-extended`` (profiles/default) also the threads
    and resources the job asked for (else None and {})."""

    rule: str
    job: str  # wildcard part, '' for single-job rules
    seconds: float
    max_rss_mb: float | None
    cpu_seconds: float | None = None
    threads: int | None = None
    requested: dict[str, Any] = field(default_factory=dict)


@dataclass
class Publication:
    """Where the run goes on S3 and, once published, the receipt."""

    url: str
    receipt: dict[str, Any] | None = None

    @property
    def verified(self) -> bool:
        """Publication checks every object after upload; a receipt means all passed."""
        return self.receipt is not None and not self.receipt.get("dry_run", False)


@dataclass
class ReportData:
    """Everything the report shows, read from one run directory."""

    run: dict[str, Any]
    regions: list[RegionRow]
    budget_seconds: float | None
    jobs: list[JobTiming]
    stats: BcftoolsStats
    calls: CallSetSummary
    publication: Publication | None = None

    @property
    def runaway_regions(self) -> list[RegionRow]:
        return [r for r in self.regions if r.runaway]

    def batch_seconds(self) -> dict[str, float]:
        """Wall seconds per calling batch: the job's benchmark, else its regions' sum."""
        measured = {j.job: j.seconds for j in self.jobs if j.rule == "call_batch"}
        totals: dict[str, float] = {}
        for region in self.regions:
            totals[region.batch] = totals.get(region.batch, 0.0) + region.seconds
        return {batch: measured.get(batch, total) for batch, total in sorted(totals.items())}


def load_report_data(
    deliverables: Mapping[str, Path], benchmarks: Path,
    publish: Mapping[str, Any] | None = None, receipt: Path | None = None,
    sample_size: int = MAX_VALUES, calls: CallSetSummary | None = None,
) -> ReportData:
    """Read a finished run: ``deliverables`` keyed as kubecall.layout.DELIVERABLES,
    ``benchmarks`` the run's timings directory, ``publish`` the config's publish section and
    ``receipt`` its receipt (if published); ``calls``, a summary made earlier, saves reading
    the call set again."""
    run = read_json(deliverables["run"])
    regions = read_regions(deliverables["region_runtimes"], deliverables["regions"])
    data = ReportData(
        run=run,
        regions=regions,
        budget_seconds=_budget(run),
        jobs=read_benchmarks(benchmarks),
        stats=parse_stats(deliverables["stats"]),
        calls=calls or summarize_calls(deliverables["vcf"], sample_size),
    )
    if publish and publish.get("enabled"):
        data.publication = read_publication(publish, str(run["run_id"]), receipt)
    return data


def load_run(workdir: Path, publish: Mapping[str, Any] | None = None,
             sample_size: int = MAX_VALUES, calls: CallSetSummary | None = None) -> ReportData:
    """The report's data for the run in ``workdir``, laid out as kubecall.layout says."""
    return load_report_data(deliverable_paths(workdir), Path(workdir) / BENCHMARKS, publish,
                            Path(workdir) / RECEIPT, sample_size, calls)


def read_regions(runtimes: Path, plan: Path) -> list[RegionRow]:
    """Region rows in plan order, each with its intervals spelled out."""
    spans = {
        region.name: ", ".join(f"{i.contig}:{i.start + 1:,}-{i.end:,}" for i in region.intervals)
        for region in read_plan(plan)
    }
    rows = []
    for row in _read_tsv(runtimes):
        try:
            rows.append(RegionRow(
                name=row["region"], batch=row["batch"], weight=float(row["weight"]),
                bases=int(row["bases"]), how=row["how"], seconds=float(row["seconds"]),
                records=int(row["records"]), span=spans.get(row["region"], ""),
                callset=row.get("callset", ""),
                # absent from runs made before kubecall measured them
                cpu_seconds=float(row.get("cpu_seconds") or 0),
                max_rss_mb=float(row.get("max_rss_mb") or 0),
            ))
        except (KeyError, ValueError) as exc:
            raise KubecallError(
                f"{runtimes}: bad row {row} ({exc}); rerun the summarize_regions rule"
            ) from None
    return rows


# Rules that run while or after the page is written: their timings exist only once a page
# does, so showing them would make every re-render differ from the last (and a re-published
# run's report.html differ from the one published).
AFTER_THE_REPORT = frozenset({"render_report", "render_published_report", "publish_results"})


def read_benchmarks(root: Path) -> list[JobTiming]:
    """Every ``benchmarks/<rule>.tsv`` and ``benchmarks/<rule>/<job>.tsv`` (last line each),
    but those of the rules in AFTER_THE_REPORT."""
    timings = []
    for path in sorted(root.glob("**/*.tsv")):
        if path.relative_to(root).parts[0].removesuffix(".tsv") in AFTER_THE_REPORT:
            continue
        rows = _read_tsv(path)
        if not rows:
            continue
        relative = path.relative_to(root).with_suffix("")
        rule, job = (relative.parts[0], "/".join(relative.parts[1:])) if len(
            relative.parts) > 1 else (relative.name, "")
        last = rows[-1]
        try:
            timings.append(JobTiming(rule, job, float(last["s"]), _measured(last, "max_rss"),
                                     _measured(last, "cpu_time"), _threads(last),
                                     _resources(last)))
        except (KeyError, ValueError):
            continue  # not a snakemake benchmark file
    return timings


def _measured(row: Mapping[str, str], column: str) -> float | None:
    """A sampled figure; None where snakemake collected none (a job ended before its first
    sample: 'NA', or '-' in older files)."""
    value = row.get(column)
    return None if value in (None, "", "-", "NA") else float(value)


def _threads(row: Mapping[str, str]) -> int | None:
    threads = _measured(row, "threads")
    return None if threads is None else int(threads)


def _resources(row: Mapping[str, str]) -> dict[str, Any]:
    """The extended format's resources column: a Python dict literal snakemake printed."""
    try:
        value = ast.literal_eval(row.get("resources") or "{}")
    except (ValueError, SyntaxError):
        return {}
    return value if isinstance(value, dict) else {}


def read_publication(publish: Mapping[str, Any], run_id: str,
                     receipt: Path | None) -> Publication:
    """The destination URL from config (same rule as publishing) and the receipt if any."""
    from kubecall.publish.publishing import PublishSettings

    url = PublishSettings.from_config(publish).run_url(run_id)
    return Publication(url, read_json(receipt) if receipt and receipt.is_file() else None)


def _budget(run: Mapping[str, Any]) -> float | None:
    budget = run.get("config", {}).get("calling", {}).get("region_time_budget")
    return float(budget) if budget else None


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise KubecallError(f"cannot read {path}: {exc.strerror}; finish the run first") from None
    except json.JSONDecodeError as exc:
        raise KubecallError(f"{path} is not valid JSON ({exc})") from None


def _read_tsv(path: Path) -> list[dict[str, str]]:
    try:
        with open(path, newline="") as handle:
            return list(csv.DictReader(handle, delimiter="\t"))
    except OSError as exc:
        raise KubecallError(f"cannot read {path}: {exc.strerror}; finish the run first") from None
