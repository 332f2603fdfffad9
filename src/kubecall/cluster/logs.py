"""``kubecall logs RUN``: the driver's log of one run, and optionally its failed jobs' logs."""

from __future__ import annotations

import argparse
from typing import Any

from kubecall.cluster.contract import CONTAINER, NAMESPACE, RUN_LABEL
from kubecall.cluster.driver_job import job_name
from kubecall.cluster.kube import Kube, add_connection_arguments
from kubecall.cluster.status import job_state
from kubecall.errors import KubecallError


def run(args: argparse.Namespace) -> int:
    kube = Kube.from_args(args)
    try:
        driver = job_name(args.run)
        if kube.get("batch/v1", "Job", driver, args.namespace) is None:
            known = sorted({j["metadata"]["labels"][RUN_LABEL] for j in
                            kube.list("batch/v1", "Job", args.namespace, RUN_LABEL)})
            raise KubecallError(f"no run {args.run} in namespace {args.namespace}; runs: "
                                + (", ".join(known) or "none"))
        pods = kube.list("v1", "Pod", args.namespace, f"job-name={driver}")
        if not pods:
            raise KubecallError(f"run {args.run}: the driver has no pod (yet, or it was "
                                "deleted); see `kubecall status`")
        # The driver's container by name: a mesh may have added another beside it.
        print(kube.pod_log(args.namespace, pods[-1]["metadata"]["name"], CONTAINER,
                           tail=args.tail), end="")
        if args.failed:
            selector = f"{RUN_LABEL}={args.run}"
            for job in kube.list("batch/v1", "Job", args.namespace, selector):
                if job["metadata"]["name"] == driver or job_state(job) != "failed":
                    continue
                for pod in kube.list("v1", "Pod", args.namespace,
                                     f"job-name={job['metadata']['name']}"):
                    print(f"==> failed job {job['metadata']['name']}, pod "
                          f"{pod['metadata']['name']} <==")
                    print(kube.pod_log(args.namespace, pod["metadata"]["name"],
                                       CONTAINER, tail=args.tail), end="")
    finally:
        kube.close()
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "logs", help="the driver log of a run (and its failed jobs' logs with --failed)",
        description="Print the snakemake driver's log of run RUN (the id `kubecall launch` and "
                    "`kubecall status` show).",
        epilog="examples:\n  kubecall logs 20261128-223940-ab12\n"
               "  kubecall logs 20261128-223940-ab12 --failed --tail 50",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", metavar="RUN", help="run id")
    parser.add_argument("--failed", action="store_true", help="also the failed jobs' logs")
    parser.add_argument("--tail", type=int, default=None, help="only the last N lines of each")
    parser.add_argument("--namespace", default=NAMESPACE)
    add_connection_arguments(parser)
    parser.set_defaults(func=run)
