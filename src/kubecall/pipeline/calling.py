"""Run freebayes over regions for the whole cohort, keeping only the records each region owns.

A batch job calls its regions with one freebayes process per region, ``workers`` (the job's
threads) at a time: each worker takes the next region, longest expected first, when its last
one is done. A region's records depend on the region alone (not on the batch, the thread or
core count, or the order regions ran in). Each region may be called over a padded window;
only records whose POS the region owns are kept. A region that exceeds its time budget is
split in two and retried; a half that still exceeds it is called with the fallback options
(no budget) and reported. A region that fails, or a stop signal to the job, ends every
freebayes process the job runs before the job exits.
"""

from __future__ import annotations

import logging
import operator
import os
import shlex
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kubecall.errors import KubecallError
from kubecall.pipeline.allocator import allocator_name, preload_environment
from kubecall.pipeline.eof_markers import BGZF_EOF
from kubecall.pipeline.freebayes_options import parse_options, refusal
from kubecall.pipeline.regions import Interval, Region, padded_intervals, write_targets

if TYPE_CHECKING:
    import pysam

log = logging.getLogger(__name__)

# freebayes exits 0 after these (e.g. a missing index, a contig absent from a BAM), having
# written a header and no records: a silent hole in the call set unless the job fails.
FATAL_STDERR_MARKERS = ("ERROR(freebayes)", "EOF marker is absent", "[E::")
# Regions of one batch append their freebayes stderr to the batch's log one whole run at a
# time, so concurrent regions never interleave their lines.
_LOG_LOCK = threading.Lock()

@dataclass(frozen=True)
class CallSettings:
    """How every region is called: inputs, freebayes options, padding and the runaway guard."""

    reference: Path
    manifest: Path
    extra: str = ""
    padding: int = 0
    time_budget: float = 0.0  # seconds per region; 0 turns the runaway guard off
    fallback_extra: str = "--use-best-n-alleles 4 --limit-coverage 250"
    freebayes: str = "freebayes"
    allocator: Path | None = None  # shared library preloaded into freebayes (None: system)
    # the call set's samples in the sheet's order, which each region's VCF is written in
    # (freebayes writes its own order); empty: freebayes' order
    samples: tuple[str, ...] = ()


@dataclass(frozen=True)
class Usage:
    """What freebayes runs used, from wait4: CPU seconds (user + system) summed, and the
    largest peak RSS of one of them in MiB (exact, where a sampling benchmark of the job
    misses processes that start and end between its samples)."""

    cpu_seconds: float = 0.0
    max_rss_mb: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.cpu_seconds + other.cpu_seconds,
                     max(self.max_rss_mb, other.max_rss_mb))


@dataclass(frozen=True)
class RegionOutcome:
    """What calling one region did; ``how`` is normal, split or fallback; ``cpu_seconds`` is
    freebayes' user + system time (what padding costs, apart from a loaded machine's wall),
    ``max_rss_mb`` the peak RSS of its largest freebayes process."""

    region: str
    how: str
    seconds: float
    records: int
    dropped: int
    cpu_seconds: float
    max_rss_mb: float = 0.0


class _Cancelled(Exception):
    """The batch is stopping (a region failed, or the job was told to stop): start nothing."""


class Children:
    """The freebayes processes a batch runs; once stopped, every one is killed and no new
    one starts (the check and the start are one step, so none slips through)."""

    def __init__(self) -> None:
        # reentrant: the SIGTERM handler stops the batch in the main thread, which may
        # already be inside stop()
        self._lock = threading.RLock()
        self._running: set[subprocess.Popen] = set()
        self._stopped = False

    def start(self, command: Sequence[str], **options: object) -> subprocess.Popen:
        """Popen(command, **options), unless the batch is stopping."""
        with self._lock:
            if self._stopped:
                raise _Cancelled()
            process = subprocess.Popen(command, **options)  # type: ignore[call-overload]
            self._running.add(process)
            return process

    def finished(self, process: subprocess.Popen) -> None:
        """Forget a process its caller has reaped."""
        with self._lock:
            self._running.discard(process)

    def stop(self) -> None:
        """Kill every running process; refuse new ones. Their callers still reap them."""
        with self._lock:
            self._stopped = True
            for process in self._running:
                process.kill()


class _OverBudget(Exception):
    """freebayes was stopped after using up the region's time budget."""

    def __init__(self, region: str, usage: Usage) -> None:
        super().__init__(region)
        self.usage = usage


def parse_extra(extra: str, key: str = "calling.extra") -> list[str]:
    """Split freebayes options from config, read as freebayes reads them; refuse the unsafe.

    Refused: words freebayes would take as extra BAMs, options that change its inputs,
    outputs, regions or output format (:data:`kubecall.pipeline.freebayes_options.REFUSED`), options
    freebayes 1.3.6 does not have, and braces (snakemake would expand them).
    """
    fix = f"fix or remove it in '{key}' (freebayes options are listed by 'freebayes --help')"
    if "{" in extra or "}" in extra:
        raise KubecallError(
            f"config {key}: {extra!r} contains '{{' or '}}', which snakemake would take for a "
            f"wildcard; freebayes options need no braces, so {fix}"
        )
    try:
        args = shlex.split(extra)
    except ValueError as exc:
        raise KubecallError(f"config {key}: cannot parse {extra!r} ({exc}); {fix}") from None
    try:
        options = parse_options(args)
    except ValueError as exc:
        raise KubecallError(f"config {key}: {exc}; {fix}") from None
    for option in options:
        reason = refusal(option)
        if reason:
            raise KubecallError(
                f"config {key}: {option.word!r} ({option.name}) is refused: {reason}; remove "
                f"it from '{key}'"
            )
    return args


def call_region(
    region: Region,
    lengths: dict[str, int],
    settings: CallSettings,
    output: Path,
    stderr_log: Path,
    children: Children | None = None,
) -> RegionOutcome:
    """Call one region into a bgzipped VCF, written under a temporary name then renamed;
    freebayes' stderr is appended to ``stderr_log``. ``children`` is the batch's set of
    freebayes processes (stopped together); by default the region has its own."""
    children = children or Children()
    started = time.monotonic()
    partial = output.with_name(output.name + ".partial")
    budget = settings.time_budget or None
    try:
        try:
            kept, dropped, usage = _call_into(region, lengths, settings, partial, stderr_log,
                                              budget, children, header=True, fallback=False)
            how = "normal"
        except _OverBudget as over:
            log.warning("region %s exceeded its %.1f s budget: splitting", region.name, budget)
            kept, dropped, usage, how = _call_split(region, lengths, settings, partial,
                                                    stderr_log, children)
            usage += over.usage
    except BaseException:
        for leftover in (partial, *partial.parent.glob(f"{partial.name}.*")):
            leftover.unlink(missing_ok=True)
        raise
    os.replace(partial, output)
    seconds = time.monotonic() - started
    log.info("region %s (%s): %d records kept, %d outside it dropped, %.2f s (%.2f s CPU, "
             "%.0f MiB)", region.name, how, kept, dropped, seconds, usage.cpu_seconds,
             usage.max_rss_mb)
    return RegionOutcome(region.name, how, seconds, kept, dropped, usage.cpu_seconds,
                         usage.max_rss_mb)


def _call_split(
    region: Region, lengths: dict[str, int], settings: CallSettings, output: Path,
    stderr_log: Path, children: Children,
) -> tuple[int, int, Usage, str]:
    """Call the two halves in order into one file; a half over budget gets the fallback.

    Each attempt writes a file of its own, joined to the output only once it succeeded, so
    the records of an attempt stopped half-way never reach the call set.
    """
    how = "split"
    kept = dropped = 0
    usage = Usage()
    parts = []
    for index, half in enumerate(split_region(region)):
        part = output.with_name(f"{output.name}.{half.name}")
        parts.append(part)
        try:
            counts = _call_into(half, lengths, settings, part, stderr_log,
                                settings.time_budget, children, header=index == 0,
                                fallback=False)
        except _OverBudget as over:
            log.warning("region %s still over budget: calling with fallback options %r",
                        half.name, settings.fallback_extra)
            usage += over.usage
            counts = _call_into(half, lengths, settings, part, stderr_log, None, children,
                                header=index == 0, fallback=True)
            how = "fallback"
        kept, dropped, usage = kept + counts[0], dropped + counts[1], usage + counts[2]
    _join_bgzf(parts, output)
    return kept, dropped, usage, how


def _join_bgzf(parts: Sequence[Path], output: Path) -> None:
    """Concatenate BGZF files into ``output`` (dropping inner EOF blocks), removing the parts."""
    with open(output, "wb") as joined:
        for number, part in enumerate(parts):
            data = part.read_bytes()
            if number < len(parts) - 1 and data.endswith(BGZF_EOF):
                data = data[: -len(BGZF_EOF)]
            joined.write(data)
            part.unlink()


def split_region(region: Region) -> tuple[Region, Region]:
    """Two regions of half the bases each (``<name>a`` then ``<name>b``), in genome order."""
    half = region.length // 2
    first: list[Interval] = []
    second: list[Interval] = []
    seen = 0
    for interval in region.intervals:
        if seen + interval.length <= half:
            first.append(interval)
        elif seen >= half:
            second.append(interval)
        else:
            cut = interval.start + (half - seen)
            first.append(Interval(interval.contig, interval.start, cut))
            second.append(Interval(interval.contig, cut, interval.end))
        seen += interval.length
    if not first or not second:
        raise KubecallError(f"region {region.name} ({region.length} bp) is too small to split")
    return Region(f"{region.name}a", tuple(first)), Region(f"{region.name}b", tuple(second))


def _call_into(
    region: Region,
    lengths: dict[str, int],
    settings: CallSettings,
    output: Path,
    stderr_log: Path,
    budget: float | None,
    children: Children,
    *,
    header: bool,
    fallback: bool,
) -> tuple[int, int, Usage]:
    """One freebayes run over the region's padded window, owned records into ``output``;
    returns records kept and dropped, and what freebayes used.

    freebayes' stderr goes to a file of this run's own, appended whole to ``stderr_log``
    (the batch's log) when it ends: regions running at once share the batch's log, and a
    fatal line found in it must be this run's."""
    targets = output.with_name(f"{output.name}.{region.name}.targets.bed")
    own_stderr = output.with_name(f"{output.name}.{region.name}.stderr")
    write_targets(padded_intervals(region, settings.padding, lengths), targets)
    extra = parse_extra(settings.extra)
    if fallback:
        extra += parse_extra(settings.fallback_extra, "calling.runaway_fallback")
    command = [settings.freebayes, "-f", str(settings.reference), "-L", str(settings.manifest),
               "-t", str(targets), *extra]
    log.info("running: %s", shlex.join(command))
    stopped = threading.Event()
    try:
        with open(own_stderr, "w") as err:
            # same process group as this job, so that stopping the job's group stops freebayes
            process = children.start(command, stdout=subprocess.PIPE, stderr=err, text=True,
                                     env=preload_environment(settings.allocator))
        timer = threading.Timer(budget, _stop, (process, stopped)) if budget else None
        if timer:
            timer.start()
        assert process.stdout is not None
        try:
            # Imported here, not at the top: every snakemake start imports this module for
            # parse_extra (workflow/rules/common.smk), and only calling needs pysam.
            import pysam

            with pysam.BGZFile(str(output), "wb") as out:
                kept, dropped = write_owned_records(process.stdout, region, out, header,
                                                    settings.samples)
        finally:
            process.stdout.close()
            returncode, usage = _reap(process)
            children.finished(process)
            if timer:
                timer.cancel()
        added = own_stderr.read_text(errors="replace")
        _append_log(stderr_log, f"# region {region.name}: {shlex.join(command)}\n", added)
    finally:
        targets.unlink(missing_ok=True)
        own_stderr.unlink(missing_ok=True)
    if stopped.is_set():
        raise _OverBudget(region.name, usage)
    _raise_on_failure(returncode, added, stderr_log, region)
    return kept, dropped, usage


def _append_log(stderr_log: Path, heading: str, text: str) -> None:
    """Append one freebayes run's stderr, under its heading, to the batch's log in one
    write: the job's logging handler appends its lines to the same file (O_APPEND)."""
    data = (heading + text + ("" if not text or text.endswith("\n") else "\n")).encode()
    with _LOG_LOCK:
        fd = os.open(stderr_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            while data:
                data = data[os.write(fd, data):]
        finally:
            os.close(fd)


def _reap(process: subprocess.Popen) -> tuple[int, Usage]:
    """Wait for freebayes; its exit status and what it used, from wait4."""
    try:
        _, status, rusage = os.wait4(process.pid, 0)
    except ChildProcessError:  # reaped by Popen.poll() in a kill (budget timer, batch stop)
        return process.wait(), Usage()
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in KiB on Linux
    return process.returncode, Usage(rusage.ru_utime + rusage.ru_stime, rusage.ru_maxrss / 1024)


def _stop(process: subprocess.Popen, stopped: threading.Event) -> None:
    stopped.set()
    process.kill()


def write_owned_records(
    lines: Iterable[str], region: Region, out: pysam.BGZFile, header: bool = True,
    samples: Sequence[str] = (),
) -> tuple[int, int]:
    """Copy the header (when asked) and the records whose POS the region owns to ``out``,
    sample columns in the order of ``samples`` (empty: freebayes' own).

    The kept records are checked in order and each CHROM/POS/REF/ALT once, which with
    regions that own disjoint spans in reference order is what lets the merge concatenate
    region files as they are (:func:`kubecall.pipeline.merge.merge_region_vcfs`).
    """
    kept = dropped = 0
    reorder: Callable[[list[str]], str] | None = None
    columns_known = not samples
    previous: tuple[int, int] = (-1, -1)
    seen_here: set[tuple[str, str]] = set()
    for line in lines:
        if line.startswith("#"):
            if line.startswith("#CHROM") and samples:
                reorder = sample_reordering(line.rstrip("\n").split("\t")[9:], samples)
                columns_known = True
                if reorder:
                    line = reorder(line.rstrip("\n").split("\t"))
            if header:
                out.write(line.encode())
            continue
        site = line.split("\t", 5)
        if len(site) < 6 or not site[1].isdigit() or not columns_known:
            raise KubecallError(f"freebayes wrote a line that is not a VCF record after a "
                                f"#CHROM line in region {region.name}: {line[:80]!r}")
        contig, pos, _, ref, alt, _ = site
        pos0 = int(pos) - 1
        interval = region.owner(contig, pos0)
        if interval is None:
            dropped += 1
            continue
        key = (interval, pos0)
        if key < previous:
            raise KubecallError(f"freebayes wrote region {region.name}'s records out of order "
                                f"at {contig}:{pos}")
        if key != previous:
            seen_here.clear()
        if (ref, alt) in seen_here:
            raise KubecallError(f"freebayes wrote {contig}:{pos} {ref}>{alt} twice in region "
                                f"{region.name}")
        seen_here.add((ref, alt))
        previous = key
        out.write((reorder(line.rstrip("\n").split("\t")) if reorder else line).encode())
        kept += 1
    return kept, dropped


def sample_reordering(written: Sequence[str],
                      wanted: Sequence[str]) -> Callable[[list[str]], str] | None:
    """A function from a VCF line's fields to the line with its sample columns in the order
    of ``wanted``, given the order freebayes ``written``; None when they are the same."""
    if list(written) == list(wanted):
        return None
    if sorted(written) != sorted(wanted):
        extra = sorted(set(written) - set(wanted))[:5]
        missing = sorted(set(wanted) - set(written))[:5]
        raise KubecallError(
            f"freebayes wrote samples the call set does not have ({', '.join(extra) or '-'}) "
            f"and lacks some it has ({', '.join(missing) or '-'}): the alignments' read "
            "groups changed since preflight; rerun preflight_cohort (snakemake --forcerun "
            "preflight_cohort)")
    column = {name: index + 9 for index, name in enumerate(written)}
    # C-level gathering: a line of 2,504 samples is reordered without a loop over them
    pick = operator.itemgetter(*(column[name] for name in wanted))
    if len(wanted) == 1:
        return lambda fields: "\t".join((*fields[:9], pick(fields))) + "\n"
    return lambda fields: "\t".join((*fields[:9], *pick(fields))) + "\n"


def _raise_on_failure(returncode: int, stderr: str, stderr_log: Path, region: Region) -> None:
    """Fail on a non-zero exit or a fatal line in this run's stderr."""
    fatal = list(_fatal_lines(stderr.splitlines()))
    if returncode == 0 and not fatal:
        return
    spans = ", ".join(i.htslib_region() for i in region.intervals)
    reason = fatal[0] if fatal else f"exit status {returncode}"
    raise KubecallError(
        f"freebayes failed on region {region.name} ({spans}): {reason}; "
        f"full stderr in {stderr_log}"
    )


def _fatal_lines(lines: Iterable[str]) -> Iterator[str]:
    return (line for line in lines if any(marker in line for marker in FATAL_STDERR_MARKERS))


def dispatch_order(regions: Sequence[Region], weights: Mapping[str, float]) -> list[Region]:
    """Regions by decreasing expected work (the plan's weight), ties in plan order: the long
    ones start first, so the short ones fill the end of the job."""
    rank = {region.name: index for index, region in enumerate(regions)}
    return sorted(regions, key=lambda r: (-weights.get(r.name, 0.0), rank[r.name]))


def call_batch(
    regions: Sequence[Region],
    lengths: dict[str, int],
    settings: CallSettings,
    out_dir: Path,
    stderr_log: Path,
    workers: int = 1,
    weights: Mapping[str, float] | None = None,
) -> list[RegionOutcome]:
    """Call each region into ``out_dir/<region>.vcf.gz``, ``workers`` freebayes at a time,
    longest expected first (``weights``: the plan's expected work per region); write
    ``out_dir/regions.tsv`` in plan order. Each freebayes' stderr is appended to
    ``stderr_log`` (the job's log) under a heading naming its region."""
    out_dir.mkdir(parents=True, exist_ok=True)
    allocator = allocator_name(settings.allocator)
    log.info("freebayes allocator: %s", settings.allocator or "system malloc")
    order = dispatch_order(regions, weights or {})
    workers = max(1, min(workers, len(order)))
    log.info("%d regions, %d freebayes at a time, longest expected first", len(order), workers)
    children = Children()

    def call(region: Region) -> RegionOutcome:
        return call_region(region, lengths, settings, out_dir / f"{region.name}.vcf.gz",
                           stderr_log, children)

    with _stop_on_signals(children):
        done = run_queue(order, workers, call, children)
    outcomes = [done[region.name] for region in regions]
    write_outcomes(outcomes, allocator, out_dir / "regions.tsv")
    return outcomes


def write_outcomes(outcomes: Iterable[RegionOutcome], allocator: str, path: Path) -> None:
    """A batch's ``regions.tsv``: each region's outcome, in the order given."""
    with open(path, "w") as table:
        table.write("region\thow\tseconds\tcpu_seconds\tmax_rss_mb\trecords\tdropped"
                    "\tallocator\n")
        for o in outcomes:
            table.write(f"{o.region}\t{o.how}\t{o.seconds:.3f}\t{o.cpu_seconds:.3f}"
                        f"\t{o.max_rss_mb:.1f}\t{o.records}\t{o.dropped}\t{allocator}\n")


def run_queue(
    order: Sequence[Region],
    workers: int,
    call: Callable[[Region], RegionOutcome],
    children: Children,
) -> dict[str, RegionOutcome]:
    """Run ``call`` on each region in ``order`` in ``workers`` threads, each taking the next
    region when it is free. The first failure stops ``children`` and the queue, and is raised
    once every thread has ended (so no freebayes outlives the job); so is an exception in
    this thread (KeyboardInterrupt, a stop signal)."""
    queue = list(reversed(order))
    lock = threading.Lock()
    done: dict[str, RegionOutcome] = {}
    failures: list[BaseException] = []

    def work() -> None:
        while True:
            with lock:
                if failures or not queue:
                    return
                region = queue.pop()
            try:
                outcome = call(region)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                with lock:
                    first = not failures
                    failures.append(exc)
                if first and not isinstance(exc, _Cancelled):
                    log.error("region %s failed: stopping the batch's other freebayes runs",
                              region.name)
                children.stop()
                return
            with lock:
                done[region.name] = outcome

    threads = [threading.Thread(target=work, name=f"freebayes-{index}")
               for index in range(workers)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            _join_awake(thread)
    except BaseException:
        children.stop()
        for thread in threads:
            if thread.ident is not None:
                thread.join()
        raise
    if failures:
        raise failures[0]
    return done


# How often the main thread wakes while it waits for the workers (see _join_awake).
SIGNAL_CHECK_SECONDS = 0.2


def _join_awake(thread: threading.Thread) -> None:
    """Wait for ``thread``, waking every SIGNAL_CHECK_SECONDS. The kernel may hand a signal
    to the job (SIGTERM, SIGINT) to any of its threads; Python runs the handler in the main
    thread only, and a main thread asleep in an untimed join would not run it until a
    worker's freebayes ended by itself (an hour, at 2,504 samples)."""
    while thread.is_alive():
        thread.join(SIGNAL_CHECK_SECONDS)


class _Terminated(SystemExit):
    """SIGTERM reached the job: like Ctrl-C, it stops every freebayes, then the job exits
    with 128 + the signal's number, as a shell reports a process the signal ended."""


@contextmanager
def _stop_on_signals(children: Children) -> Iterator[None]:
    """While the batch runs, SIGTERM raises in the main thread (as SIGINT does), so the
    queue's cleanup kills and reaps every freebayes; without it the job would die at once
    and leave them running. Only the main thread may set handlers; elsewhere nothing
    changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def terminate(signum: int, frame: object) -> None:
        nonlocal raised
        children.stop()
        if not raised:  # once: a second signal must not cut the cleanup short
            raised = True
            log.error("stopped by signal %d: ending every freebayes run", signum)
            raise _Terminated(128 + signum)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
