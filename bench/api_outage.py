"""The kubecall executor through a long Kubernetes API outage, at the shipped patience.

Run by hand (root, as the test cluster needs; niced on a shared machine):
    PYTHONPATH=src:. nice -n 19 .venv/bin/python bench/api_outage.py [--outage-seconds 900]
        [--jobs 6] [--sleep-seconds 60] [--log driver.log]

`--jobs` jobs that each sleep `--sleep-seconds` run at once with profiles/kubernetes (its
`--kubecall-api-patience`, 900 s, untouched) in this checkout's job image. Once every pod
runs, the API server refuses every request with 503 and cuts the open watch for
`--outage-seconds` (tests/support/cluster/faults.py), as a control plane down for an upgrade
does. The pods go on and end during the outage. The run must then end well: exit 0, each job
in one pod (no retry, no Job deleted while the API was down), nothing left running.
tests/executor/test_outage.py checks the same at 75 s with the patience scaled down; this is
the length a user relies on (issue 15: up to 15 minutes).
Prints the driver's exit, the outage's length, the driver's refused requests and retry
lines, pods per job, the time from the outage's end to the driver's exit, and one summary
line of key=value pairs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from _kube_env import bench_env  # noqa: E402

from tests.executor.conftest import UID, is_driver  # noqa: E402
from tests.executor.test_faults import call_pods  # noqa: E402
from tests.support.cluster.objects import PODS  # noqa: E402
from tests.support.cluster.store import Event  # noqa: E402

NAPS_SNAKEFILE = """
N = int(config.get("jobs", 6))

rule all:
    input: expand("naps/{i}.txt", i=range(N))

rule nap:
    output: "naps/{i}.txt"
    params: seconds=config.get("seconds", 60)
    shell: "sleep {params.seconds} && echo {wildcards.i} > {output}"
"""


@dataclass
class PodLog:
    """Store listener: every nap pod the run had (the driver deletes finished Jobs, and
    their pods with them), by uid: its Job, attempt, and when its container ended."""

    jobs: dict[str, str] = field(default_factory=dict)
    attempts: dict[str, str] = field(default_factory=dict)
    ended: dict[str, float] = field(default_factory=dict)

    def __call__(self, event: Event) -> None:
        labels = event.obj.get("metadata", {}).get("labels") or {}
        if event.rt is not PODS or labels.get("kubecall.io/rule") != "nap":
            return
        uid = event.obj["metadata"]["uid"]
        self.jobs[uid] = labels.get("job-name", "")
        self.attempts[uid] = labels.get("kubecall.io/attempt", "")
        for status in (event.obj.get("status") or {}).get("containerStatuses") or []:
            terminated = (status.get("state") or {}).get("terminated")
            if terminated and uid not in self.ended:
                self.ended[uid] = time.time()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage-seconds", type=float, default=900.0)
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--sleep-seconds", type=float, default=60.0,
                        help="each job's sleep: shorter than the outage, so pods end in it")
    parser.add_argument("--log", type=Path, help="write the driver's stderr here")
    args = parser.parse_args()
    with bench_env() as env:
        snakefile = env.rundir / "Snakefile"
        snakefile.write_text(NAPS_SNAKEFILE)
        os.chown(snakefile, UID, UID)
        pod_log = PodLog()
        env.cluster.store.add_listener(pod_log)  # type: ignore[attr-defined]
        began = time.monotonic()
        driver = env.start("--config", f"jobs={args.jobs}", f"seconds={args.sleep_seconds}")
        stderr: list[str] = []
        drains = [threading.Thread(target=lambda: stderr.extend(driver.stderr), daemon=True),
                  threading.Thread(target=driver.stdout.read, daemon=True)]  # type: ignore[union-attr]
        for drain in drains:
            drain.start()
        while driver.poll() is None and \
                len(call_pods(env, "Running", rule="nap")) < args.jobs:
            time.sleep(0.5)
        if driver.poll() is not None:
            drains[0].join()
            print("the driver ended before every pod ran:\n" + "".join(stderr)[-3000:],
                  file=sys.stderr)
            return 1
        outage_began = time.time()
        env.cluster.faults.outage(args.outage_seconds)  # type: ignore[attr-defined]
        outage_ended = outage_began + args.outage_seconds
        try:
            driver.wait(timeout=args.outage_seconds + 1800)
        except subprocess.TimeoutExpired:
            print("the driver did not end within 30 min of the outage's end", file=sys.stderr)
            return 1
        exited = time.time()
        for drain in drains:
            drain.join()
        records = [r for r in env.cluster.requests.snapshot()  # type: ignore[attr-defined]
                   if is_driver(r)]
        refused = [r for r in records if r.code == 503]
        deletes_in_outage = [r for r in records if r.verb in ("delete", "deletecollection")
                             and outage_began <= r.received < outage_ended]
        pods = list(pod_log.jobs)
        per_job = Counter(pod_log.jobs.values())
        attempts = Counter(pod_log.attempts.values())
        ended_in_outage = sum(1 for t in pod_log.ended.values()
                              if outage_began <= t < outage_ended)
        outputs = len(list((env.rundir / "naps").glob("*.txt")))
        retry_lines = [line for line in stderr if "retrying" in line]
        if args.log:
            args.log.write_text("".join(stderr))
        print(f"driver exit: {driver.returncode}; wall {time.monotonic() - began:.0f} s")
        print(f"outage: {args.outage_seconds:.0f} s, began once all {args.jobs} pods ran; "
              f"the driver's requests refused in it: {len(refused)} "
              f"({', '.join(f'{k} {v}' for k, v in Counter(r.method for r in refused).items())})")
        print(f"driver lines saying it retries: {len(retry_lines)}; last: "
              f"{retry_lines[-1].strip() if retry_lines else '-'}")
        print(f"pods: {len(pods)} for {args.jobs} jobs (most for one job: "
              f"{max(per_job.values()) if per_job else 0}; attempts {dict(attempts)}); "
              f"{ended_in_outage} ended during the outage; outputs {outputs}")
        print(f"the driver's deletes during the outage: {len(deletes_in_outage)}; "
              f"outage's end to the driver's exit: {exited - outage_ended:.1f} s; "
              f"still running: {len(env.running())}")
        ok = driver.returncode == 0 and outputs == args.jobs and len(pods) == args.jobs \
            and not deletes_in_outage and not env.running()
        print(f"ok={ok} outage_s={args.outage_seconds:.0f} exit={driver.returncode} "
              f"refused={len(refused)} pods={len(pods)} jobs={args.jobs} "
              f"ended_in_outage={ended_in_outage} outputs={outputs} "
              f"outage_end_to_exit_s={exited - outage_ended:.1f}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
