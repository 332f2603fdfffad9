"""API requests per job of the kubecall executor over an N-job run on the test cluster.

Run by hand (root, as the test cluster needs):
    PYTHONPATH=src:. python bench/k8s_requests.py [--jobs 100]
Prints the driver's requests by verb and resource, then one summary line of key=value pairs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.executor.conftest import prepare, requests_per_job  # noqa: E402
from tests.support.cluster.cluster import Cluster  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="kubecall-bench-", dir="/var/tmp"))
    clusters: list[Cluster] = []

    def start(**options: object) -> Cluster:
        cluster = Cluster(**options).start()  # type: ignore[arg-type]
        clusters.append(cluster)
        return cluster
    try:
        env = prepare(start, base)
        began = time.monotonic()
        run, counts = requests_per_job(env, args.jobs)
        elapsed = time.monotonic() - began
        if run.returncode != 0:
            print(run.stderr[-3000:], file=sys.stderr)
            return 1
        for key, count in sorted(counts.items()):
            print(f"{key:24s} {count}")
        # The server logs a request when it ends; the run's one watch may still be open.
        if not counts.get("watch pods"):
            counts["watch pods (open, not yet logged)"] = 1
            print(f"{'watch pods (still open)':24s} 1")
        total = sum(counts.values())
        print(f"jobs={args.jobs} requests={total} requests_per_job={total / args.jobs:.2f} "
              f"leftovers={len(env.leftovers())} seconds={elapsed:.0f}")
        env.admin.close()
        return 0
    finally:
        for cluster in clusters:
            cluster.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
