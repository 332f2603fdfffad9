"""``kubecall launch``: run snakemake as a driver Job in the cluster and stream its log."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import yaml

from kubecall.cluster.contract import (
    CONTAINER,
    DRIVER_SERVICE_ACCOUNT,
    IMAGE,
    NAMESPACE,
    WORKSPACE_PATH,
)
from kubecall.cluster.driver_job import (
    DEFAULT_DRIVER_COMMAND,
    DriverSpec,
    driver_job,
    job_name,
    new_run_id,
)
from kubecall.cluster.kube import Kube, add_connection_arguments
from kubecall.cluster.state import job_outcome, main_status, pod_outcome
from kubecall.cluster.waiting import pod_problem
from kubecall.errors import KubecallError

EPILOG = """examples:
  kubecall launch --configfile config/my-cohort.yaml
  kubecall launch --configfile config/my-cohort.yaml --profile profiles/local  # all in the pod
  kubecall launch --configfile c.yaml --workdir /workspace/kubecall --dry-run     # print the Job
  kubecall launch --configfile c.yaml --detach && kubecall logs RUN

The workflow (Snakefile, workflow/, config/, profiles/) must be in the shared workspace at
--workdir (`kubecall stage` puts it there); paths are relative to it. The driver command
defaults to the image's `snakemake` ($KUBECALL_DRIVER_COMMAND or --driver-command override it,
e.g. "python -m snakemake").
Exit status: 0 when the run succeeded, 1 when it failed, 2 on a usage error.
"""


def spec_from_args(args: argparse.Namespace) -> DriverSpec:
    return DriverSpec(
        run_id=args.run_id or new_run_id(), namespace=args.namespace,
        configfile=args.configfile, profile=args.profile, workdir=args.workdir,
        image=args.image, driver_command=args.driver_command,
        extra_args=tuple(args.snakemake_args), cpu=args.cpu, memory=args.memory)


def check_bootstrapped(kube: Kube, namespace: str) -> None:
    if kube.get("v1", "Namespace", namespace) is None:
        raise KubecallError(f"namespace {namespace} does not exist: run `kubecall bootstrap "
                            "--overlay NAME` first (or pass --namespace)")
    if kube.get("v1", "ServiceAccount", DRIVER_SERVICE_ACCOUNT, namespace) is None:
        raise KubecallError(f"ServiceAccount {DRIVER_SERVICE_ACCOUNT} missing in {namespace}: run "
                            "`kubecall bootstrap` first")


def driver_pod(kube: Kube, namespace: str, job: str) -> dict[str, Any] | None:
    pods = kube.list("v1", "Pod", namespace, f"job-name={job}")
    return pods[-1] if pods else None


def driver_state(pod: dict[str, Any]) -> dict[str, Any]:
    """The state of the pod's driver container (CONTAINER), whatever else runs beside it."""
    return (main_status(pod) or {}).get("state") or {}


def wait_for_start(kube: Kube, namespace: str, job: str, timeout: float) -> dict[str, Any]:
    """The driver pod once its driver container runs or ended; says why while it waits."""
    deadline = time.monotonic() + timeout
    said = ""
    while True:
        pod = driver_pod(kube, namespace, job)
        if pod is not None:
            phase = (pod.get("status") or {}).get("phase")
            if {"running", "terminated"} & set(driver_state(pod)) or phase == "Failed":
                return pod
            why = pod_problem(kube, pod)
            if why != said:
                print(f"[kubecall] {why}", file=sys.stderr)
                said = why
        if time.monotonic() >= deadline:
            raise KubecallError(f"the driver of Job {job} did not start within {timeout:.0f}s: "
                                f"{said or 'no pod was created'}")
        time.sleep(0.5)


def outcome_of(pod: dict[str, Any]) -> tuple[bool, str] | None:
    """(succeeded, why) once the driver container ended, from its own state: a mesh's regular
    proxy keeps the pod (and the Job) running after it."""
    terminated = driver_state(pod).get("terminated")
    if terminated:
        code, reason = terminated.get("exitCode"), terminated.get("reason") or "Error"
        if code == 0:
            return True, ""
        if reason == "OOMKilled":
            return False, f"the driver was OOMKilled (exit {code}): raise --memory"
        return False, f"the driver exited with code {code} ({reason})"
    outcome = pod_outcome(pod)  # evicted, or its deadline passed, before it ended
    return (False, outcome.message) if outcome.state == "failed" else None


def wait_for_end(kube: Kube, namespace: str, job: str, timeout: float = 120) -> tuple[bool, str]:
    """(succeeded, why) of the driver, once its log ended."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pod = driver_pod(kube, namespace, job)
        found = outcome_of(pod) if pod is not None else None
        if pod is None:  # deleted meanwhile: the Job's conditions are all there is
            outcome = job_outcome(kube.get("batch/v1", "Job", job, namespace) or {})
            found = (outcome.state == "succeeded", outcome.message) if outcome.finished \
                else None
        if found is not None:
            return found
        time.sleep(0.5)
    raise KubecallError(f"Job {job}: its log ended but the driver reports no outcome after "
                        f"{timeout:.0f}s; see `kubecall status`")


def run(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)
    manifest = driver_job(spec)
    if args.dry_run:
        print(yaml.safe_dump(manifest, sort_keys=False), end="")
        return 0
    kube = Kube.from_args(args)
    try:
        check_bootstrapped(kube, spec.namespace)
        name = job_name(spec.run_id)
        if kube.get("batch/v1", "Job", name, spec.namespace) is not None:
            raise KubecallError(f"run {spec.run_id} already exists (Job {name}); pick another "
                                "--run-id or leave it out for a fresh one")
        kube.create(manifest)
        print(f"[kubecall] run {spec.run_id}: Job {name} in {spec.namespace}", file=sys.stderr)
        if args.detach:
            print(spec.run_id)
            return 0
        pod = wait_for_start(kube, spec.namespace, name, args.start_timeout)
        for line in kube.follow_pod_log(spec.namespace, pod["metadata"]["name"], CONTAINER):
            print(line, flush=True)
        succeeded, why = wait_for_end(kube, spec.namespace, name)
    finally:
        kube.close()
    outcome = "succeeded" if succeeded else f"FAILED: {why}"
    print(f"[kubecall] run {spec.run_id} {outcome} (kubecall logs {spec.run_id}; "
          "kubecall status)", file=sys.stderr)
    return 0 if succeeded else 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "launch", help="run the workflow's driver (snakemake) as a Job in the cluster",
        description="Create a driver Job running `snakemake --profile P --configfile F` in the "
                    "shared workspace under the kubecall-driver ServiceAccount, then stream "
                    "its log until it ends.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configfile", required=True,
                        help="workflow config, relative to --workdir")
    parser.add_argument("--profile", default="profiles/kubernetes",
                        help="snakemake profile directory (default profiles/kubernetes)")
    parser.add_argument("--workdir", default=WORKSPACE_PATH,
                        help="where the workflow is in the workspace (default /workspace)")
    parser.add_argument("--namespace", default=NAMESPACE)
    parser.add_argument("--run-id", default=None, help="default: UTC time + random suffix")
    parser.add_argument("--image", default=IMAGE)
    parser.add_argument("--driver-command",
                        default=os.environ.get("KUBECALL_DRIVER_COMMAND", DEFAULT_DRIVER_COMMAND),
                        help="how the image starts snakemake (default: $KUBECALL_DRIVER_COMMAND "
                             "or 'snakemake')")
    parser.add_argument("--cpu", default="1", help="driver CPU request and limit (default 1)")
    parser.add_argument("--memory", default="2Gi",
                        help="driver memory request and limit (default 2Gi)")
    parser.add_argument("--start-timeout", type=float, default=300,
                        help="seconds to wait for the driver pod to start (default 300)")
    parser.add_argument("--detach", action="store_true",
                        help="print the run id and return once the Job is created")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the Job manifest; create nothing")
    parser.add_argument("snakemake_args", nargs="*", metavar="-- SNAKEMAKE_ARG",
                        help="extra snakemake arguments after --, e.g. -- --jobs 50")
    add_connection_arguments(parser)
    parser.set_defaults(func=run)
