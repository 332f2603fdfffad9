"""The kubecall executor over an N-job run on the test cluster: API requests, driver cost, pace.

Run by hand (root, as the test cluster needs; niced on a shared machine):
    PYTHONPATH=src:. nice -n 19 .venv/bin/python bench/k8s_requests.py [--jobs 100]
        [--hold-seconds 60] [--quota-seconds 90] [--pods stand-in] [--log driver.log]

N trivial jobs (tests/executor/conftest.py's MANY_JOBS_SNAKEFILE) run with profiles/kubernetes
and `--jobs 60` (60 at once: the profile's value when README's figures were taken; the profile
now runs 15 four-thread calling jobs) in this checkout's job image. The run has three phases:
- held: every pod stays Pending (scheduled, not started) until --hold-seconds after the
  first Job was created;
- quota: once the pods are released and half of the Jobs were created, a ResourceQuota of
  0 pods refuses every new pod (FailedCreate events, Jobs without pods) until --quota-seconds
  after its first refusal;
- free: the rest.
--pods stand-in: a mutating webhook (installed in the test cluster, as an admission webhook
would be) gives each touch_one pod the rule's own shell line in place of snakemake's job
process. The executor still sees the same Jobs, pods, phases and output files, but a job
costs the machine a fraction of the ~2 CPU-s of a real one, so 3,000 fit a 2-core machine.
Compare the two kinds at one size (`--jobs 60` with and without it) before trusting it.
Prints the driver's requests by verb and resource (whole run and per phase), requests per
job, the busiest seconds, the requests naming one object most often (per-Job polling would
show there), the driver's peak RSS and CPU seconds (os.wait4), Jobs created per second, the
time from the last pod's end to the driver's exit, then one summary line of key=value pairs.
CPU seconds are the figure to trust on a loaded machine; wall times depend on the load.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _kube_env import bench_env  # noqa: E402
from kubernetes import client  # noqa: E402

from kubecall.cluster.contract import CONTAINER  # noqa: E402
from tests.executor.conftest import (  # noqa: E402
    NAMESPACE,
    TOUCH_ONE_SHELL,
    KubeEnv,
    count_requests,
    is_driver,
    write_many_jobs,
)
from tests.support.cluster.faults import RequestRecord  # noqa: E402
from tests.support.cluster.objects import PODS  # noqa: E402
from tests.support.cluster.resources import lookup  # noqa: E402
from tests.support.cluster.store import Event, Obj  # noqa: E402

BLOCKING_QUOTA = "kubecall-bench-block"
# Jobs at once, as when README's figures were taken (then profiles/kubernetes' `jobs`).
AT_ONCE = 60
TERMINAL = ("Succeeded", "Failed")
EVENTS = lookup("", "events")
# snakemake's --target-jobs argument in a touch_one job's command.
TARGET = re.compile(r"\btouch_one:i=(\d+)\b")


@dataclass
class Seen:
    """Store listener: when the last pod reached Succeeded or Failed, and when the blocking
    quota first refused a pod (time.monotonic(); 0.0: not yet)."""

    last_end: float = 0.0
    ended: set[str] = field(default_factory=set)
    refused: float = 0.0

    def __call__(self, event: Event) -> None:
        # Called under the store's lock: only note what happened.
        if event.type == "DELETED":
            return
        if event.rt is PODS:
            if (event.obj.get("status") or {}).get("phase") in TERMINAL and \
                    event.obj["metadata"]["uid"] not in self.ended:
                self.ended.add(event.obj["metadata"]["uid"])
                self.last_end = time.monotonic()
        elif event.rt is EVENTS and not self.refused and \
                event.obj.get("reason") == "FailedCreate" and \
                BLOCKING_QUOTA in (event.obj.get("message") or ""):
            self.refused = time.monotonic()


@dataclass
class Marks:
    """When each phase began (time.time(), comparable with RequestRecord.received)."""

    times: dict[str, float] = field(default_factory=dict)

    def set(self, name: str) -> None:
        self.times[name] = time.time()


def stand_in(pod: Obj) -> None:
    """Pod webhook: a touch_one job's snakemake container runs the rule's shell line itself
    (same image, working directory, environment and secret check) instead of snakemake."""
    for container in pod.get("spec", {}).get("containers") or []:
        target = TARGET.search(" ".join(container.get("command") or []))
        if container.get("name") == CONTAINER and target:
            # mkdir: snakemake's job process makes the output's directory before the rule.
            container["command"] = ["/bin/sh", "-c",
                                    f"mkdir -p many && {TOUCH_ONE_SHELL.format(i=target[1])}"]


def creates(env: KubeEnv) -> int:
    return sum(1 for r in env.cluster.requests.snapshot()  # type: ignore[attr-defined]
               if is_driver(r) and r.verb == "create" and r.resource == "jobs")


def run_phases(env: KubeEnv, jobs: int, hold: float, quota: float, marks: Marks,
               seen: Seen, running: Callable[[], bool]) -> None:
    """Release the held pods `hold` s after the first Job; then, once half of the Jobs
    exist, block new pods by quota until `quota` s after its first refusal. Reads the
    cluster's state directly (no request but the quota's create and delete, as admin)."""
    def wait(predicate: Callable[[], bool]) -> bool:
        while running() and not predicate():
            time.sleep(0.5)
        return running()
    if not wait(lambda: creates(env) > 0):
        return
    marks.set("first_job")
    time.sleep(hold)
    env.cluster.release_pods()  # type: ignore[attr-defined]
    marks.set("released")
    if quota <= 0 or not wait(lambda: creates(env) >= jobs // 2):
        return
    core = client.CoreV1Api(env.admin)
    core.create_namespaced_resource_quota(NAMESPACE, {
        "metadata": {"name": BLOCKING_QUOTA}, "spec": {"hard": {"pods": "0"}}})
    marks.set("quota_on")
    if not wait(lambda: seen.refused > 0):
        return
    marks.set("refused")
    time.sleep(quota)
    core.delete_namespaced_resource_quota(BLOCKING_QUOTA, NAMESPACE)
    marks.set("quota_off")


def drain(stream: IO[str], sink: IO[str] | None, tail: list[str]) -> None:
    """Copy a driver stream to `sink` (if any), keeping its last 200 lines in `tail`."""
    for line in stream:
        if sink is not None:
            sink.write(line)
        tail.append(line)
        del tail[:-200]


def busiest(records: list[RequestRecord]) -> tuple[int, int]:
    """(the most requests in one wall-clock second, how many seconds had any)."""
    buckets = Counter(int(r.received) for r in records)
    return (max(buckets.values()) if buckets else 0), len(buckets)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--hold-seconds", type=float, default=60.0,
                        help="pods held Pending this long after the first Job (0: no hold)")
    parser.add_argument("--quota-seconds", type=float, default=90.0,
                        help="new pods refused by quota until this long after the first refusal "
                             "(0: no quota phase)")
    parser.add_argument("--pods", choices=("real", "stand-in"), default="real",
                        help="real: each pod runs snakemake's job process; stand-in: the "
                             "rule's shell line only (see above)")
    parser.add_argument("--timeout", type=float, default=4 * 3600.0,
                        help="stop the driver after this many seconds")
    parser.add_argument("--log", type=Path, help="write the driver's output here")
    args = parser.parse_args()
    sink = args.log.open("w") if args.log else None
    try:
        with bench_env() as env:
            write_many_jobs(env)
            if args.pods == "stand-in":
                env.cluster.api.pod_webhooks.append(stand_in)  # type: ignore[attr-defined]
            seen = Seen()
            env.cluster.store.add_listener(seen)  # type: ignore[attr-defined]
            if args.hold_seconds > 0:
                env.cluster.hold_pods()  # type: ignore[attr-defined]
            before = len(env.cluster.requests.snapshot())  # type: ignore[attr-defined]
            self_before = resource.getrusage(resource.RUSAGE_SELF)
            children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            marks = Marks()
            marks.set("start")
            began = time.monotonic()
            driver = env.start("--config", f"jobs={args.jobs}", "--jobs", str(AT_ONCE))
            tails: list[list[str]] = [[], []]
            drains = [threading.Thread(target=drain, args=(s, sink, t), daemon=True)
                      for s, t in zip((driver.stdout, driver.stderr), tails, strict=True)]
            for thread in drains:
                thread.start()
            done = threading.Event()
            phases = threading.Thread(target=run_phases, daemon=True, args=(
                env, args.jobs, args.hold_seconds, args.quota_seconds, marks, seen,
                lambda: not done.is_set()))
            phases.start()
            timer = threading.Timer(args.timeout, os.killpg, (driver.pid, signal.SIGKILL))
            timer.daemon = True  # an interrupted bench must not wait out the timeout to exit
            timer.start()
            # wait4: the driver's own rusage (setpriv execs snakemake in the same process).
            _, status, usage = os.wait4(driver.pid, 0)
            exited = time.monotonic()
            timer.cancel()
            driver.returncode = os.waitstatus_to_exitcode(status)
            marks.set("end")
            done.set()
            for thread in drains:
                thread.join()
            phases.join()
            self_after = resource.getrusage(resource.RUSAGE_SELF)
            children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if driver.returncode != 0:
                print("".join(tails[1])[-3000:], file=sys.stderr)
                return 1
            deadline = time.monotonic() + 60
            while env.leftovers() and time.monotonic() < deadline:  # garbage collection of pods
                time.sleep(0.5)
            records = [r for r in env.cluster.requests.snapshot()[before:]  # type: ignore[attr-defined]
                       if is_driver(r)]
            report(args, records, marks, seen, began, exited, usage,
                   cpu(self_after) - cpu(self_before),
                   cpu(children_after) - cpu(children_before) - cpu(usage),
                   len(env.leftovers()))
            return 0
    finally:
        if sink is not None:
            sink.close()


def cpu(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def report(args: argparse.Namespace, records: list[RequestRecord], marks: Marks,
           seen: Seen, began: float, exited: float, usage: resource.struct_rusage,
           cluster_cpu: float, pods_cpu: float, leftovers: int) -> None:
    jobs = args.jobs
    counts = count_requests(records)
    # The server logs a request when it ends; the run's one watch may still be open.
    if not counts.get("watch pods"):
        counts["watch pods (still open)"] = 1
    total = sum(counts.values())
    print("driver requests, whole run:")
    for key, count in sorted(counts.items()):
        print(f"  {key:32s} {count}")
    order = ["start", "first_job", "released", "quota_on", "refused", "quota_off", "end"]
    times = [(name, marks.times[name]) for name in order if name in marks.times]
    print("driver requests by phase (seconds from the driver's start):")
    for (name, since), (_, until) in zip(times, times[1:], strict=False):
        inside = [r for r in records if since <= r.received < until]
        parts = ", ".join(f"{k} {v}" for k, v in sorted(count_requests(inside).items()))
        print(f"  {name:10s} {since - marks.times['start']:7.1f}-"
              f"{until - marks.times['start']:7.1f} s: {parts or 'none'}")
    peak, seconds = busiest(records)
    named = Counter((r.verb, r.resource, r.name) for r in records if r.name)
    top = named.most_common(1)
    created = sorted(r.received for r in records if r.verb == "create" and r.resource == "jobs")
    create_peak, _ = busiest([r for r in records if r.verb == "create" and r.resource == "jobs"])
    span = created[-1] - created[0] if len(created) > 1 else 0.0
    create_rate = (len(created) - 1) / span if span else 0.0
    driver_cpu = cpu(usage)
    rss_mb = usage.ru_maxrss / 1024  # KiB on Linux
    tail = exited - seen.last_end if seen.last_end else float("nan")
    wall = exited - began
    print(f"busiest second: {peak} requests; requests came in {seconds} distinct seconds")
    if top:
        (verb, res, name), most = top[0]
        print(f"most requests naming one object: {most} ({verb} {res} {name})")
    print(f"Jobs created: {len(created)}, {create_rate:.2f}/s from the first to the last, "
          f"at most {create_peak} in one second")
    print(f"driver: peak RSS {rss_mb:.0f} MB, CPU {driver_cpu:.1f} s "
          f"({driver_cpu / jobs:.3f} s per job), wall {wall:.0f} s")
    print(f"pods ended: {len(seen.ended)}; last pod's end to the driver's exit: {tail:.1f} s")
    print(f"elsewhere on the machine during the run: test cluster {cluster_cpu:.0f} CPU-s, "
          f"pods {pods_cpu:.0f} CPU-s")
    print(f"pods={args.pods} jobs={jobs} requests={total} "
          f"requests_per_job={total / jobs:.2f} peak_rps={peak} "
          f"max_per_object={top[0][1] if top else 0} creates_per_s={create_rate:.2f} "
          f"peak_creates_per_s={create_peak} driver_rss_mb={rss_mb:.0f} "
          f"driver_cpu_s={driver_cpu:.1f} driver_cpu_per_job={driver_cpu / jobs:.3f} "
          f"last_pod_to_exit_s={tail:.1f} wall_s={wall:.0f} cluster_cpu_s={cluster_cpu:.0f} "
          f"pods_cpu_s={pods_cpu:.0f} leftovers={leftovers}")


if __name__ == "__main__":
    sys.exit(main())
