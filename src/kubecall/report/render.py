"""Render :class:`~kubecall.report.data.ReportData` as one self-contained HTML page.

Figures are inline SVG (each bar and point with a tooltip) and the style and script are
inline, so the file can be mailed, published to S3 or opened offline. The script only
filters the region table; a page whose script ran to the end carries
``data-report-ready="yes"`` on ``<html>`` (the headless browser test looks for it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from html import escape
from pathlib import Path
from typing import Any

from kubecall import __version__
from kubecall.report import plots
from kubecall.report.data import Publication, ReportData
from kubecall.report.resources import rule_uses, suggested_profile
from kubecall.report.svg import Chart

# (anchor, heading): the page's sections in order; the browser test expects every anchor.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("run", "Run"),
    ("plan", "Region plan"),
    ("runtimes", "Runtimes"),
    ("resources", "Requested vs used"),
    ("work", "Expected work vs runtime"),
    ("variants", "Variants"),
    ("quality", "QUAL, depth and allele balance"),
    ("samples", "Ts/Tv and per-sample counts"),
    ("publication", "Publication"),
)

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#283845;color:#fff;padding:1em 2em}
header h1{margin:0;font-size:1.5em} header p{margin:.3em 0 0;opacity:.85}
nav{background:#e8ecef;padding:.5em 2em;position:sticky;top:0}
nav a{margin-right:1.2em;color:#283845;text-decoration:none;font-size:.9em}
main{padding:0 2em 2em;max-width:1200px}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:1em 1.5em;margin:1em 0}
h2{margin-top:0;font-size:1.2em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left}
th{background:#f0f2f4} td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.runaway td{background:#fde8e8}
.figures{display:flex;flex-wrap:wrap;gap:1em} figure{margin:0}
figure svg{max-width:100%;height:auto}
.scroll{max-height:24em;overflow:auto}
.ok{color:#1a7f37;font-weight:bold} .bad{color:#c62828;font-weight:bold}
.note{color:#555;font-size:.9em}
"""

SCRIPT = """
(function () {
  var toggle = document.getElementById('only-runaway');
  var rows = document.querySelectorAll('#region-table tbody tr');
  function apply() {
    rows.forEach(function (row) {
      row.hidden = toggle.checked && !row.classList.contains('runaway');
    });
  }
  if (toggle) { toggle.addEventListener('change', apply); apply(); }
  document.documentElement.setAttribute('data-report-ready', 'yes');
})();
"""


def _runaway_batches(data: ReportData) -> frozenset[str]:
    return frozenset(r.batch for r in data.runaway_regions)


# Every figure of the page by file-friendly name, in page order: name -> how to draw it.
FIGURES: dict[str, Callable[[ReportData], Chart]] = {
    "region_runtimes": lambda d: plots.region_runtimes_figure(d.regions, d.budget_seconds),
    "batch_runtimes": lambda d: plots.batch_runtimes_figure(d.batch_seconds(),
                                                            _runaway_batches(d)),
    "work_vs_runtime": lambda d: plots.work_vs_runtime_figure(d.regions),
    "variants_per_contig": lambda d: plots.variants_per_contig_figure(d.calls.contig_records),
    "variants_per_region": lambda d: plots.variants_per_region_figure(d.regions),
    "qual": lambda d: plots.histogram_figure(d.calls.qual.values, "QUAL", "QUAL (phred)",
                                             log_counts=True),
    "depth": lambda d: plots.histogram_figure(d.calls.depth.values, "Depth",
                                              "INFO/DP (reads, all samples)"),
    "allele_balance": lambda d: plots.histogram_figure(
        d.calls.allele_balance.values, "Allele balance",
        "INFO/AB (alt reads / reads in het samples)", value_range=(0.0, 1.0)),
    "per_sample": lambda d: plots.per_sample_figure(d.stats.samples),
}


def draw_figures(data: ReportData) -> dict[str, str]:
    """Each figure's SVG by name, in page order."""
    return {name: draw(data).svg() for name, draw in FIGURES.items()}


def render_report(data: ReportData, images: dict[str, str] | None = None) -> str:
    """The whole page as a string (``images``: each figure's SVG by name, drawn if absent)."""
    if images is None:
        images = draw_figures(data)
    run_id = str(data.run.get("run_id", "?"))
    body = "\n".join([
        _run_section(data),
        _plan_section(data),
        _runtimes_section(data, images),
        _resources_section(data),
        _work_section(images),
        _variants_section(data, images),
        _quality_section(data, images),
        _samples_section(data, images),
        _publication_section(data.publication),
    ])
    nav = "".join(f'<a href="#{anchor}">{escape(title)}</a>' for anchor, title in SECTIONS)
    samples = len(data.run.get("samples", []))
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kubecall report {escape(run_id)}</title>
<style>{STYLE}</style>
</head>
<body>
<header><h1>kubecall run report</h1>
<p>run {escape(run_id)} &middot; {samples} samples &middot; {len(data.regions)} regions &middot;
{data.calls.records:,} records &middot; kubecall {escape(__version__)}</p></header>
<nav>{nav}</nav>
<main>
{body}
</main>
<script>{SCRIPT}</script>
</body>
</html>
"""


def write_report(data: ReportData, path: Path, figure_dir: Path | None = None) -> None:
    """Write the page atomically (a reader never sees half a report); with ``figure_dir``,
    also each figure as ``<name>.svg`` there (what ``snakemake --report`` shows)."""
    # Each figure is drawn once; the page and the SVG files share the text.
    images = draw_figures(data)
    if figure_dir is not None:
        figure_dir.mkdir(parents=True, exist_ok=True)
        for name, svg in images.items():
            (figure_dir / f"{name}.svg").write_text(svg)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(render_report(data, images))
    partial.replace(path)


def _section(anchor: str, *parts: str) -> str:
    title = dict(SECTIONS)[anchor]
    return f'<section id="{anchor}">\n<h2>{escape(title)}</h2>\n' + "\n".join(parts) + \
        "\n</section>"


def _figure(images: dict[str, str], name: str, alt: str) -> str:
    return f'<figure id="figure-{name}" aria-label="{escape(alt)}">{images[name]}</figure>'


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]], table_id: str = "",
           row_classes: Sequence[str] = ()) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    lines = []
    for index, row in enumerate(rows):
        cells = "".join(_cell(value) for value in row)
        css = row_classes[index] if index < len(row_classes) and row_classes[index] else ""
        lines.append(f'<tr class="{css}">{cells}</tr>' if css else f"<tr>{cells}</tr>")
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int):
        return f'<td class="num">{value:,}</td>'
    if isinstance(value, float):
        return f'<td class="num">{value:,.3g}</td>' if abs(value) < 1000 else \
            f'<td class="num">{value:,.0f}</td>'
    return f"<td>{escape(str(value))}</td>"


def _run_section(data: ReportData) -> str:
    tools = data.run.get("tools", {})
    config = json.dumps(data.run.get("config", {}), indent=2, sort_keys=True)
    samples = ", ".join(data.run.get("samples", []))
    return _section(
        "run",
        _table(["tool", "version"], sorted(tools.items())),
        f"<p><b>Samples</b> ({len(data.run.get('samples', []))}): {escape(samples)}</p>",
        "<details open><summary>Configuration (science only; publishing settings are not "
        f"part of the run id)</summary><pre>{escape(config)}</pre></details>",
    )


def _plan_section(data: ReportData) -> str:
    batches = sorted({r.batch for r in data.regions})
    total = sum(r.bases for r in data.regions)
    rows = [(r.name, r.batch, r.span, r.bases, r.weight, r.how, r.seconds, r.records)
            for r in data.regions]
    classes = ["runaway" if r.runaway else "" for r in data.regions]
    return _section(
        "plan",
        f"<p>{len(data.regions):,} regions covering {total:,} bases in {len(batches):,} "
        "calling jobs (batches). Coordinates are 1-based inclusive here; "
        "<code>results/regions/regions.bed</code> is 0-based half-open.</p>",
        '<label><input type="checkbox" id="only-runaway"> show only runaway regions</label>',
        '<div class="scroll">' + _table(
            ["region", "batch", "intervals", "bases", "expected work", "how", "seconds",
             "records"], rows, "region-table", classes) + "</div>",
    )


def _runtimes_section(data: ReportData, images: dict[str, str]) -> str:
    runaway = data.runaway_regions
    if runaway:
        budget = f"{data.budget_seconds:g} s" if data.budget_seconds else "none"
        note = (f'<p class="bad">{len(runaway)} runaway region(s) (time budget {budget}): '
                f"{escape(', '.join(r.name for r in runaway))}; see "
                "<code>results/qc/runaway_regions.tsv</code>.</p>")
    else:
        note = '<p class="ok">No runaway regions: every region was called in one piece.</p>'
    jobs = sorted(data.jobs, key=lambda j: -j.seconds)[:15]
    return _section(
        "runtimes",
        note,
        _figure(images, "region_runtimes", "seconds per region"),
        _figure(images, "batch_runtimes", "seconds per batch"),
        "<p class=\"note\">Slowest jobs (from <code>benchmarks/</code>):</p>",
        _table(["rule", "job", "seconds", "max RSS (MB)"],
               [(j.rule, j.job, j.seconds, "-" if j.max_rss_mb is None else j.max_rss_mb)
                for j in jobs]),
    )


def _resources_section(data: ReportData) -> str:
    uses = rule_uses(data)
    if not uses:
        return _section("resources", "<p>No benchmark files: nothing to compare.</p>")

    def shown(value: float | int | None, digits: int = 0) -> str | float | int:
        return "-" if value is None else round(value, digits) if digits else round(value)

    rows = [(u.rule, len(u.jobs), shown(u.requested_threads), shown(u.cpu_efficiency, 2),
             shown(u.requested_mem_mb), shown(u.peak_mb), shown(u.requested_runtime),
             round(u.longest_seconds / 60, 2), shown(u.wasted_core_hours, 3),
             shown(u.wasted_gb_hours, 3)) for u in uses]
    unrecorded = any(u.requested_threads is None for u in uses)
    note = ('<p class="note">What the jobs asked for was not recorded: run with '
            "<code>--benchmark-extended</code> (profiles/default sets it).</p>"
            if unrecorded else "")
    run_id = str(data.run.get("run_id", "?"))
    return _section(
        "resources",
        "<p>Per rule, what its jobs asked for against what they used (snakemake's "
        "<code>benchmarks/</code>; for calling, each freebayes' own wait4 figures where "
        "larger, as the benchmark samples miss short processes). CPU use is CPU time over "
        "threads &times; wall; waste is reserved minus used, in core-hours and GB-hours. "
        "<code>kubecall resources</code> prints the suggested block below.</p>",
        note,
        _table(["rule", "jobs", "threads", "CPU use", "mem_mb asked", "peak MB",
                "runtime asked (min)", "longest job (min)", "wasted core-h", "wasted GB-h"],
               rows, "resource-table"),
        f"<details><summary>Suggested profile entries</summary><pre>"
        f"{escape(suggested_profile(uses, run_id))}</pre></details>",
    )


def _work_section(images: dict[str, str]) -> str:
    return _section(
        "work",
        "<p>Each point is a region: the plan's expected work (from the alignment indexes) "
        "against the measured freebayes time. Points far above the trend are regions the "
        "plan underestimated.</p>",
        _figure(images, "work_vs_runtime", "expected work vs runtime"),
    )


def _variants_section(data: ReportData, images: dict[str, str]) -> str:
    stats = data.stats
    summary = [(key, stats.count(key)) for key in (
        "number of records", "number of SNPs", "number of MNPs", "number of indels",
        "number of others", "number of multiallelic sites")]
    return _section(
        "variants",
        _table(["bcftools stats", "value"], summary),
        _figure(images, "variants_per_contig", "variants per contig"),
        _figure(images, "variants_per_region", "variants per region"),
    )


def _quality_section(data: ReportData, images: dict[str, str]) -> str:
    calls = data.calls
    sampled = calls.qual.seen > len(calls.qual.values)
    note = (f'<p class="note">Distributions from a seeded sample of {len(calls.qual.values):,} '
            f"of {calls.qual.seen:,} records.</p>") if sampled else ""
    return _section(
        "quality",
        note,
        '<div class="figures">',
        _figure(images, "qual", "QUAL distribution"),
        _figure(images, "depth", "depth distribution"),
        _figure(images, "allele_balance", "allele balance distribution"),
        "</div>",
    )


def _samples_section(data: ReportData, images: dict[str, str]) -> str:
    stats = data.stats
    rows = [(s.sample, s.ref_hom, s.hets, s.nonref_hom, s.indels, s.singletons,
             s.transitions, s.transversions,
             round(s.transitions / s.transversions, 2) if s.transversions else "-",
             s.mean_depth, s.missing) for s in stats.samples]
    return _section(
        "samples",
        f"<p><b>Ts/Tv</b> {stats.ts_tv:.2f} ({stats.ts:,} transitions, {stats.tv:,} "
        "transversions).</p>",
        _figure(images, "per_sample", "per-sample counts"),
        '<div class="scroll">' + _table(
            ["sample", "ref-hom", "het", "hom-alt", "indels", "singletons", "ts", "tv",
             "ts/tv", "mean depth", "missing"], rows) + "</div>",
    )


def _publication_section(publication: Publication | None) -> str:
    if publication is None:
        return _section("publication", "<p>Publishing is off for this run "
                        "(<code>publish.enabled: false</code>).</p>")
    where = f"<p>Destination: <code>{escape(publication.url)}</code></p>"
    receipt = publication.receipt
    if receipt is None:
        return _section(
            "publication", where,
            "<p>Not published yet when this page was written: the report is itself one of "
            "the published files. <code>results/publish/report.html</code>, written after "
            "publication, adds the receipt.</p>")
    if not publication.verified:
        status = '<p class="bad">Dry run only: nothing was uploaded.</p>'
    elif receipt.get("already_complete"):
        status = ('<p class="ok">Published and verified: the run was already complete '
                  "(<code>_SUCCESS</code> present); every object's size and recorded SHA-256 "
                  "matched this run's manifest, so nothing was uploaded.</p>")
    else:
        status = ('<p class="ok">Published and verified: every object\'s size and SHA-256 '
                  "were checked after upload, then <code>manifest.json</code> and "
                  "<code>_SUCCESS</code> were written.</p>")
    objects = [(o.get("name", ""), o.get("action", ""), int(o.get("size", 0)),
                int(o.get("uploaded_bytes", 0)), str(o.get("sha256", ""))[:16] + "…")
               for o in receipt.get("objects", [])]
    summary = (f"<p>{receipt.get('uploaded_objects', 0)} object(s) uploaded "
               f"({receipt.get('uploaded_bytes', 0):,} bytes), "
               f"{receipt.get('skipped_objects', 0)} already present and skipped"
               f"{' (the run was already complete)' if receipt.get('already_complete') else ''}"
               f". Manifest SHA-256 <code>{escape(str(receipt.get('manifest_sha256', '')))}"
               "</code>.</p>")
    return _section("publication", where, status, summary,
                    _table(["object", "action", "bytes", "bytes sent", "sha256"], objects))
