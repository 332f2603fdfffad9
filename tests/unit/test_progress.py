"""`kubecall progress` on a run directory caught mid-run (files laid out as a run leaves them;
the finished and failed cases run the real workflow in tests/workflow/test_report.py)."""

from __future__ import annotations

from pathlib import Path

from kubecall.report.progress import format_progress, read_progress

# Lines as kubecall.pipeline.calling logs them (logs/call_batch/<callset>/<batch>.log).
START = ("2026-11-28 22:45:51,088 INFO kubecall.pipeline.calling: running: freebayes -f ref.fa -L "
         "results/cohort/alignments.txt -t results/calls/cohort/batches/{b}/{r}.vcf.gz.partial."
         "{r}.targets.bed\n")
DONE = ("2026-11-28 22:45:52,306 INFO kubecall.pipeline.calling: region {r} ({how}): "
        "38 records kept, 0 outside it dropped, 1.45 s\n")
OVER = ("2026-11-28 22:45:51,088 WARNING kubecall.pipeline.calling: region {r} exceeded its 0.2 s "
        "budget: splitting\n")


def lay_out_run(root: Path, locked: bool) -> Path:
    """b000 finished (one region split), b001 half way, b002 not started."""
    (root / "results/regions").mkdir(parents=True)
    plan = {"b000": ["r0", "r1"], "b001": ["r2", "r3", "r4"], "b002": ["r5"]}
    rows = [f"{r}\t{b}\t1.0\t100\n" for b, regions in plan.items() for r in regions]
    (root / "results/regions/batches.tsv").write_text("region\tbatch\tweight\tbases\n"
                                                      + "".join(rows))
    done = root / "results/calls/cohort/batches/b000"
    done.mkdir(parents=True)
    (done / "regions.tsv").write_text("region\thow\tseconds\trecords\tdropped\n"
                                      "r0\tnormal\t1.0\t5\t0\nr1\tsplit\t9.0\t7\t0\n")
    (root / "logs/call_batch/cohort").mkdir(parents=True)
    (root / "logs/call_batch/cohort/b001.log").write_text(
        START.format(b="b001", r="r2") + DONE.format(r="r2", how="normal")
        + START.format(b="b001", r="r3") + OVER.format(r="r3")
        + START.format(b="b001", r="r3"))
    (root / ".snakemake/locks").mkdir(parents=True)
    if locked:
        (root / ".snakemake/locks/0.input.lock").write_text("")
    return root


def states(root: Path) -> dict[str, str]:
    return {name: state for batch in read_progress(root).batches
            for name, state in batch.regions.items()}


def test_a_running_batch_shows_finished_current_and_waiting_regions(tmp_path: Path) -> None:
    root = lay_out_run(tmp_path, locked=True)
    progress = read_progress(root)
    assert {b.name: b.state for b in progress.batches} == {
        "b000": "done", "b001": "running", "b002": "pending"}
    assert states(root) == {"r0": "done", "r1": "runaway", "r2": "done", "r3": "runaway",
                            "r4": "pending", "r5": "pending"}
    table = format_progress(progress)
    assert "snakemake is running" in table
    assert "b001    running       1        1      3" in table
    assert "b000" not in table  # finished batches only with --all
    assert "b000    done          1        1      2" in format_progress(progress, True)


def test_a_started_batch_without_a_running_snakemake_is_failed(tmp_path: Path) -> None:
    root = lay_out_run(tmp_path, locked=False)
    batches = {b.name: b.state for b in read_progress(root).batches}
    assert batches["b001"] == "failed" and batches["b002"] == "pending"
    assert states(root)["r4"] == "pending"


def test_before_the_plan_exists(tmp_path: Path) -> None:
    progress = read_progress(tmp_path)
    assert not progress.planned and progress.batches == []
    assert "no region plan yet" in format_progress(progress)


def test_every_region_a_multi_threaded_batch_is_calling_shows_running(tmp_path: Path) -> None:
    """A batch with threads 2 runs two freebayes at once: both regions are running."""
    root = lay_out_run(tmp_path, locked=True)
    (root / "logs/call_batch/cohort/b001.log").write_text(
        START.format(b="b001", r="r3") + START.format(b="b001", r="r2")
        + DONE.format(r="r3", how="normal") + START.format(b="b001", r="r4"))
    assert {r: s for r, s in states(root).items() if r in ("r2", "r3", "r4")} == {
        "r2": "running", "r3": "done", "r4": "running"}
    assert "b001    running       1        0      3  r2,r4" in format_progress(
        read_progress(root))
