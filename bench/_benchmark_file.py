"""Snakemake's benchmark file, as the report reads it (standard library only: the benches'
parent processes import it and stay small)."""

from __future__ import annotations

from pathlib import Path


def write_benchmark(path: Path, seconds: float, max_rss_mb: float) -> None:
    """``benchmarks/<rule>[/<job>].tsv``: the columns the report reads, and h:m:s."""
    path.parent.mkdir(parents=True, exist_ok=True)
    whole = int(seconds)
    clock = f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
    path.write_text(f"s\th:m:s\tmax_rss\n{seconds:.4f}\t{clock}\t{max_rss_mb:.2f}\n")
