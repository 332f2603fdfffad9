"""``kubecall status``: claims, MinIO, and the jobs of each run by state.

The executor deletes a Job once it finished (unless ``--kubecall-keep-jobs``), so the table
counts the Jobs still in the cluster; ``kubecall progress`` on the workspace counts regions.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from kubecall.cluster.contract import ATTEMPT_LABEL, NAMESPACE, RUN_LABEL, Obj, condition
from kubecall.cluster.kube import Kube, add_connection_arguments
from kubecall.cluster.state import (
    FAILED,
    PENDING,
    RUNNING,
    SUCCEEDED,
    job_outcome,
    pod_outcome,
    refusals,
    waiting_reason,
)

# A run's jobs by state, in the order a person reads progress.
STATES = (PENDING, RUNNING, SUCCEEDED, FAILED)


def job_state(job: Obj, newest: dict[str, Obj] | None = None) -> str:
    """succeeded / failed from the Job's conditions; else from its newest pod (in `newest`,
    see `newest_pods`): its snakemake container's state, as the executor reads it. A mesh's
    regular proxy keeps pod and Job running after that container ended, and every kubecall
    Job has backoffLimit 0, so the container's end is the Job's."""
    outcome = job_outcome(job)
    if outcome.finished:
        return outcome.state
    if newest is None:
        return RUNNING
    pod = newest.get(job["metadata"]["name"])
    return pod_outcome(pod).state if pod is not None else PENDING


def newest_pods(pods: list[Obj]) -> dict[str, Obj]:
    """Job name -> its newest pod (pods name their Job in ownerReferences)."""
    newest: dict[str, Obj] = {}
    for pod in pods:
        meta = pod["metadata"]
        created = meta.get("creationTimestamp") or ""
        for owner in meta.get("ownerReferences") or []:
            name = owner.get("name", "")
            if owner.get("kind") == "Job" and created >= (
                    newest.get(name, {}).get("metadata", {}).get("creationTimestamp") or ""):
                newest[name] = pod
    return newest


def waiting_lines(jobs: list[Obj], pods: list[Obj], events: list[Obj]) -> list[str]:
    """For each pending Job whose reason is known, why it waits: its pod refused (quota,
    Pod Security, LimitRange; a FailedCreate event) or its pod not scheduled or pulled."""
    refused = refusals(events)
    newest = newest_pods(pods)
    lines = []
    for job in sorted(jobs, key=lambda j: j["metadata"]["name"]):
        name = job["metadata"]["name"]
        if job_state(job, newest) != PENDING:
            continue
        reason = waiting_reason(newest.get(name)) or refused.get(name, "")
        if reason:
            lines.append(f"    waiting: {name}: {reason}")
    return lines


@dataclass
class RunJobs:
    """One run's jobs classified once: its driver's state, job names by state, retries."""

    driver: str = "-"
    by_state: dict[str, list[str]] = field(default_factory=lambda: {s: [] for s in STATES})
    retried: int = 0


def classify(jobs: list[Obj], newest: dict[str, Obj]) -> RunJobs:
    """Sort a run's Jobs by state (`newest`: each Job's newest pod); retried counts the jobs
    that are a retry (attempt > 1)."""
    run = RunJobs()
    for job in jobs:
        labels = job["metadata"].get("labels") or {}
        state = job_state(job, newest)
        if labels.get("app.kubernetes.io/component") == "driver":
            run.driver = state
            continue
        run.by_state[state].append(job["metadata"]["name"])
        run.retried += int(labels.get(ATTEMPT_LABEL, "1") or 1) > 1
    return run


def state_table(runs: dict[str, RunJobs]) -> list[str]:
    """One row per run: its driver's state and its jobs counted by state, plus retries."""
    header = f"  {'run':16} {'driver':9} " + " ".join(f"{s:>9}" for s in (*STATES, "retried"))
    rows = [header]
    for run_id in sorted(runs):
        run = runs[run_id]
        rows.append(f"  {run_id:16} {run.driver:9} "
                    + " ".join(f"{len(run.by_state[s]):>9}" for s in STATES)
                    + f" {run.retried:>9}")
    return rows


def claim_lines(kube: Kube, namespace: str) -> list[str]:
    lines = []
    for claim in kube.list("v1", "PersistentVolumeClaim", namespace):
        status = claim.get("status") or {}
        modes = ",".join(status.get("accessModes") or claim["spec"].get("accessModes") or [])
        size = (status.get("capacity") or {}).get("storage") or \
            claim["spec"]["resources"]["requests"]["storage"]
        lines.append(f"  {claim['metadata']['name']:20} {status.get('phase', 'Pending'):8} "
                     f"{modes:15} {size}")
    return lines or ["  (none: run `kubecall bootstrap`)"]


def minio_line(kube: Kube, namespace: str) -> str:
    deployment = kube.get("apps/v1", "Deployment", "minio", namespace)
    if deployment is None:
        return "  absent"
    available = condition(deployment, "Available")
    ready = (deployment.get("status") or {}).get("availableReplicas", 0)
    state = "available" if available and available.get("status") == "True" else "NOT available"
    return f"  {state} ({ready}/{deployment['spec'].get('replicas', 1)} replicas)"


def run_lines(kube: Kube, namespace: str) -> list[str]:
    runs: dict[str, list[Obj]] = defaultdict(list)
    for job in kube.list("batch/v1", "Job", namespace, RUN_LABEL):
        runs[job["metadata"]["labels"][RUN_LABEL]].append(job)
    if not runs:
        return ["  (no runs)"]
    pods = kube.list("v1", "Pod", namespace, RUN_LABEL)
    newest = newest_pods(pods)
    events = kube.list("v1", "Event", namespace)
    classified = {run_id: classify(jobs, newest) for run_id, jobs in runs.items()}
    lines = state_table(classified)
    for run_id in sorted(classified):
        run = classified[run_id]
        counts = {state: len(names) for state, names in run.by_state.items()}
        lines.append(f"  {run_id}  driver {run.driver}; jobs: {counts['running']} running, "
                     f"{counts['succeeded']} succeeded, {counts['failed']} failed")
        lines += [f"    failed: {name}" for name in sorted(run.by_state["failed"])]
        lines += [f"    running: {name}" for name in sorted(run.by_state["running"])]
        lines += waiting_lines(runs[run_id], pods, events)
    return lines


def run(args: argparse.Namespace) -> int:
    kube = Kube.from_args(args)
    try:
        print(f"namespace {args.namespace}")
        print("claims:")
        print("\n".join(claim_lines(kube, args.namespace)))
        print("minio:")
        print(minio_line(kube, args.namespace))
        print("runs:")
        print("\n".join(run_lines(kube, args.namespace)))
    finally:
        kube.close()
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status", help="claims, MinIO, and each run's jobs by state",
        description="Show the claims (phase, access modes, size), whether MinIO is available, "
                    "and each run's driver and jobs.",
        epilog="example:\n  kubecall status --namespace kubecall",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--namespace", default=NAMESPACE)
    add_connection_arguments(parser)
    parser.set_defaults(func=run)
