"""A calling job with N threads: N freebayes processes at once, each taking the next region
(longest expected first) when one finishes; per-region CPU from that region's process only;
a failing region or a stop signal ends every freebayes process.

The scheduling cases use a fake freebayes (a Python script) whose run time and CPU time per
region are set by the test, since real freebayes' timing cannot be controlled; the records
themselves are checked with real freebayes in test_calling.py and tests/workflow/.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubecall.errors import KubecallError
from kubecall.pipeline.calling import CallSettings, call_batch, dispatch_order
from kubecall.pipeline.regions import Interval, Region
from tests.conftest import REPO

# What the fake does per region: ["sleep", seconds], ["cpu", seconds], ["fail", seconds], or
# ["until", region]: run until that region's fake has ended (at most 120 s), whatever the load.
FAKE = r'''#!{python}
import json, os, sys, time
args = sys.argv[1:]
targets = os.path.basename(args[args.index("-t") + 1])
region = targets.split(".")[0]
plan = json.loads({plan!r})
kind, seconds = plan[region]
journal = {journal!r}
def note(what):
    with open(journal, "a") as handle:
        handle.write(json.dumps([what, region, os.getpid(), time.monotonic()]) + "\n")
note("start")
if kind == "cpu":
    while time.process_time() < seconds:
        pass
elif kind == "until":
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(
            json.loads(line)[:2] == ["end", seconds] for line in open(journal)):
        time.sleep(0.05)
else:
    time.sleep(seconds)
if kind == "fail":
    sys.stderr.write("ERROR(freebayes): could not open the fake alignment\n")
    sys.exit(1)
sys.stdout.write("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
note("end")
'''

LENGTHS = {"q": 100_000}


def regions(count: int) -> list[Region]:
    return [Region(f"r{i:04d}", (Interval("q", i * 1000, (i + 1) * 1000),)) for i in range(count)]


def fake_freebayes(tmp: Path, plan: dict[str, list]) -> tuple[CallSettings, Path]:
    """Settings that run the fake with ``plan``, and the journal it writes."""
    journal = tmp / "journal.jsonl"
    script = tmp / "freebayes"
    script.write_text(FAKE.format(python=sys.executable, plan=json.dumps(plan),
                                  journal=str(journal)))
    script.chmod(0o755)
    manifest = tmp / "alignments.txt"
    manifest.write_text("none.bam\n")
    return CallSettings(tmp / "ref.fa", manifest, freebayes=str(script)), journal


def events(journal: Path) -> list[tuple[str, str, int, float]]:
    if not journal.exists():
        return []
    return [tuple(json.loads(line)) for line in journal.read_text().splitlines()]


def spans(journal: Path) -> dict[str, tuple[float, float]]:
    """Region -> (start, end) of its fake freebayes run."""
    found: dict[str, list[float]] = {}
    for what, region, _, when in events(journal):
        found.setdefault(region, [0.0, 0.0])[0 if what == "start" else 1] = when
    return {region: (start, end) for region, (start, end) in found.items()}


def records(path: Path) -> list[bytes]:
    with gzip.open(f"{path}.vcf.gz", "rb") as handle:
        return [line for line in handle if not line.startswith(b"#")]


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie has ended: it only waits to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def no_leftovers() -> Iterator[list[int]]:
    """Pids the test must leave ended; any still running is killed, and the test fails."""
    pids: list[int] = []
    yield pids
    running = [pid for pid in pids if alive(pid)]
    for pid in running:
        os.kill(pid, signal.SIGKILL)
    assert running == [], f"freebayes processes left running: {running}"


def test_dispatch_order_is_longest_expected_first_ties_in_plan_order() -> None:
    plan = regions(5)
    weights = {"r0000": 1.0, "r0001": 7.0, "r0002": 3.0, "r0003": 7.0, "r0004": 2.0}
    assert [r.name for r in dispatch_order(plan, weights)] == [
        "r0001", "r0003", "r0002", "r0004", "r0000"]
    # without weights: the plan's order
    assert [r.name for r in dispatch_order(plan, {})] == [r.name for r in plan]


def test_two_threads_run_two_freebayes_and_the_first_free_takes_the_next_longest(
        tmp_path: Path) -> None:
    # r0001 runs until r0000, the last one dispatched, has ended: the other worker must have
    # taken r0003 and r0000 in turn meanwhile, however slow the machine
    plan = {"r0000": ["sleep", 0.5], "r0001": ["until", "r0000"], "r0002": ["sleep", 1.0],
            "r0003": ["sleep", 1.0]}
    weights = {"r0000": 1.0, "r0001": 6.0, "r0002": 3.0, "r0003": 2.0}
    settings, journal = fake_freebayes(tmp_path, plan)
    outcomes = call_batch(regions(4), LENGTHS, settings, tmp_path / "out",
                          tmp_path / "fb.log", workers=2, weights=weights)
    started = [region for what, region, _, _ in events(journal) if what == "start"]
    # longest expected first (the first two start together, in either order)
    assert set(started[:2]) == {"r0001", "r0002"} and started[2:] == ["r0003", "r0000"]
    at = spans(journal)
    assert at["r0002"][0] < at["r0001"][1]  # two at once
    # the worker freed by r0002 takes r0003, then r0000, while r0001 still runs
    assert at["r0002"][1] <= at["r0003"][0] < at["r0001"][1]
    assert at["r0003"][1] <= at["r0000"][0] < at["r0001"][1]
    # never more than two at once
    edges = sorted([(s, 1) for s, _ in at.values()] + [(e, -1) for _, e in at.values()])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    assert peak == 2
    # the table stays in plan order whatever order regions finished in
    assert [o.region for o in outcomes] == ["r0000", "r0001", "r0002", "r0003"]
    table = (tmp_path / "out" / "regions.tsv").read_text().splitlines()
    assert [line.split("\t")[0] for line in table[1:]] == ["r0000", "r0001", "r0002", "r0003"]
    # each region's stderr block is whole in the batch log, headed by its command
    log = (tmp_path / "fb.log").read_text()
    assert sorted(line.split(":")[0] for line in log.splitlines() if line.startswith("# ")) == [
        "# region r0000", "# region r0001", "# region r0002", "# region r0003"]


def test_cpu_seconds_are_each_regions_own_when_regions_run_at_once(tmp_path: Path) -> None:
    plan = {"r0000": ["cpu", 1.5], "r0001": ["cpu", 0.3]}
    settings, journal = fake_freebayes(tmp_path, plan)
    call_batch(regions(2), LENGTHS, settings, tmp_path / "out", tmp_path / "fb.log",
               workers=2, weights={"r0000": 2.0, "r0001": 1.0})
    at = spans(journal)
    assert at["r0001"][0] < at["r0000"][1]  # they did overlap
    rows = [line.split("\t") for line in
            (tmp_path / "out" / "regions.tsv").read_text().splitlines()[1:]]
    cpu = {row[0]: float(row[3]) for row in rows}
    assert 1.5 <= cpu["r0000"] < 2.3
    assert 0.3 <= cpu["r0001"] < 1.1


def test_a_failing_region_stops_the_others_and_names_itself(tmp_path: Path,
                                                           no_leftovers: list[int]) -> None:
    plan = {"r0000": ["sleep", 60.0], "r0001": ["fail", 0.5], "r0002": ["sleep", 0.0]}
    weights = {"r0000": 3.0, "r0001": 2.0, "r0002": 1.0}
    settings, journal = fake_freebayes(tmp_path, plan)
    began = time.monotonic()
    with pytest.raises(KubecallError, match=r"freebayes failed on region r0001 \(\{q\}:1001-"
                                            r"2000\): ERROR\(freebayes\): could not open"):
        call_batch(regions(3), LENGTHS, settings, tmp_path / "out", tmp_path / "fb.log",
                   workers=2, weights=weights)
    no_leftovers.extend(pid for what, _, pid, _ in events(journal) if what == "start")
    assert time.monotonic() - began < 40  # r0000 was stopped, not waited for
    started = {region for what, region, _, _ in events(journal) if what == "start"}
    assert started == {"r0000", "r0001"}  # nothing new starts after a failure
    assert [pid for pid in no_leftovers if alive(pid)] == []
    assert not list((tmp_path / "out").glob("*.partial*"))
    assert "could not open the fake alignment" in (tmp_path / "fb.log").read_text()


BATCH = r'''
import json, sys
from pathlib import Path
from kubecall.pipeline.calling import CallSettings, call_batch
from kubecall.pipeline.regions import Interval, Region
tmp = Path(sys.argv[1])
regions = [Region(f"r{i:04d}", (Interval("q", i * 1000, (i + 1) * 1000),)) for i in range(3)]
settings = CallSettings(tmp / "ref.fa", tmp / "alignments.txt", freebayes=str(tmp / "freebayes"))
call_batch(regions, {"q": 100000}, settings, tmp / "out", tmp / "fb.log", workers=2,
           weights={"r0000": 3.0, "r0001": 2.0, "r0002": 1.0})
'''


def send_to_a_worker_thread(pid: int, signum: int) -> None:
    """Signal one of ``pid``'s threads other than its main one (tgkill), as the kernel may
    hand a signal sent to the process to any thread that does not block it."""
    import ctypes

    tid = next(int(task.name) for task in Path(f"/proc/{pid}/task").iterdir()
               if int(task.name) != pid)
    number = {"x86_64": 234, "aarch64": 131}[os.uname().machine]  # tgkill's syscall number
    if ctypes.CDLL(None, use_errno=True).syscall(number, pid, tid, signum) != 0:
        raise OSError(ctypes.get_errno(), f"tgkill {pid} {tid}")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("target", ["process", "worker thread"])
def test_a_stop_signal_to_the_job_stops_every_freebayes(tmp_path: Path, signum: int,
                                                        target: str,
                                                        no_leftovers: list[int]) -> None:
    """Only the job's own process gets the signal (as when a scheduler or snakemake stops
    it, not a terminal's Ctrl-C to the whole group): its freebayes processes end with it,
    also when the kernel hands the signal to a worker thread rather than the main one (the
    main thread must still wake to handle it; the fakes would run 60 s)."""
    plan = {name: ["sleep", 60.0] for name in ("r0000", "r0001", "r0002")}
    _, journal = fake_freebayes(tmp_path, plan)
    job = subprocess.Popen([sys.executable, "-c", BATCH, str(tmp_path)], cwd=REPO,
                           stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60  # a hang guard, not a speed
        while len(events(journal)) < 2 and job.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        no_leftovers.extend(pid for _, _, pid, _ in events(journal))
        assert len(no_leftovers) == 2, job.stderr.read() if job.poll() is not None else ""
        if target == "process":
            job.send_signal(signum)
        else:
            send_to_a_worker_thread(job.pid, signum)
        returncode = job.wait(timeout=40)
    finally:
        if job.poll() is None:
            job.kill()
            job.wait()
        job.stderr.close()
    assert returncode != 0
    # every freebayes was ended (and reaped) before the job exited
    assert [pid for pid in no_leftovers if alive(pid)] == []
    assert {region for what, region, _, _ in events(journal) if what == "start"} == {
        "r0000", "r0001"}


def test_real_freebayes_calls_the_same_records_with_two_threads(na12878: dict[str, Path],
                                                                tmp_path: Path) -> None:
    from kubecall.pipeline.regions import plan_equal, read_fai

    manifest = tmp_path / "alignments.txt"
    manifest.write_text(f"{na12878['hla_bam']}\n")
    contigs = read_fai(Path(f"{na12878['hla_ref']}.fai"))
    plan = plan_equal(contigs, 6)
    settings = CallSettings(na12878["hla_ref"], manifest, padding=50)
    weights = {region.name: float(index % 3) for index, region in enumerate(plan)}
    one = call_batch(plan, dict(contigs), settings, tmp_path / "one", tmp_path / "one.log")
    two = call_batch(plan, dict(contigs), settings, tmp_path / "two", tmp_path / "two.log",
                     workers=2, weights=weights)
    assert [(o.region, o.how, o.records, o.dropped) for o in two] == [
        (o.region, o.how, o.records, o.dropped) for o in one]
    assert sum(o.records for o in two) == 154
    for region in plan:  # every record byte for byte (headers carry paths and dates)
        assert records(tmp_path / "one" / region.name) == records(
            tmp_path / "two" / region.name), region.name
    assert all(o.cpu_seconds > 0 for o in two)
