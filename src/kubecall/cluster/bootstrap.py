"""``kubecall bootstrap``: render an overlay, apply it in dependency order, wait until ready."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kubecall.cluster.applying import apply_steps, plan, rank
from kubecall.cluster.credentials import SECRET_NAME, ensure_minio_secret
from kubecall.cluster.kube import Kube, add_connection_arguments
from kubecall.cluster.manifests import namespace_of, objects_for, overlay_names
from kubecall.cluster.pruning import labelled, prune
from kubecall.cluster.waiting import wait_ready

EPILOG = """examples:
  kubecall bootstrap --overlay minikube --dry-run   # what would be created or changed
  kubecall bootstrap --overlay ehk                  # apply, then wait until everything is ready
  kubecall bootstrap --overlay ./my-site            # your own overlay directory
  kubecall bootstrap --manifests rendered.yaml      # no kubectl/kustomize here: pre-rendered

Order: namespace, storage classes, volumes; RBAC, limits, policies, the MinIO Secret; claims
(wait until Bound); MinIO (wait until available); Jobs (wait until complete); then prune. A
second run changes nothing.

Fields dropped from the manifests are removed from the live objects; objects dropped from them
are deleted if an earlier bootstrap applied them (label kubecall.io/bootstrap), except claims,
volumes and storage classes (listed as kept; --prune-data deletes them too), the namespace and
the MinIO Secret.
"""

# Objects applied together, then waited for, before the next phase starts.
PHASES = ((0, 1, 2), (3,), (4,), (5,))


def run(args: argparse.Namespace) -> int:
    objects = objects_for(args.overlay, args.manifests)
    namespace = namespace_of(objects)
    objects = labelled(objects, namespace)
    generated_secret = not any(o["kind"] == "Secret" and o["metadata"]["name"] == SECRET_NAME
                               for o in objects)
    kube = Kube.from_args(args)
    try:
        changed = 0
        for ranks in PHASES:
            batch = [o for o in objects if rank(o) in ranks]
            if not batch:
                continue
            changed += apply_steps(kube, plan(kube, batch), args.dry_run, print)
            if 1 in ranks and generated_secret:
                message = ensure_minio_secret(kube, namespace, args.dry_run)
                changed += message.startswith("create")
                print(message)
            if not args.dry_run:
                wait_ready(kube, batch, args.timeout, print)
        # After the new objects are up, so nothing is missing meanwhile.
        changed += prune(kube, objects, namespace, args.prune_data, args.dry_run, print)
    finally:
        kube.close()
    if args.dry_run:
        print("dry run: nothing was changed")
    else:
        print(f"bootstrap done: {changed} object(s) created, updated or pruned in namespace "
              f"{namespace}")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bootstrap", help="create or update the kubecall namespace from a k8s/ overlay",
        description="Server-side apply a kustomize overlay of k8s/ in dependency order, create "
                    "the MinIO Secret with random credentials if absent, and wait for claims, "
                    "MinIO and the set-up Jobs.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--overlay",
                        help=f"overlay name ({', '.join(overlay_names())}) or directory")
    source.add_argument("--manifests", type=Path,
                        help="pre-rendered YAML instead of running kustomize")
    parser.add_argument("--dry-run", action="store_true",
                        help="show what would be created, updated or pruned; change nothing")
    parser.add_argument("--prune-data", action="store_true",
                        help="also delete claims, volumes and storage classes an earlier "
                             "bootstrap applied that the manifests no longer hold (their data "
                             "goes with them)")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds to wait for each phase (default 300)")
    add_connection_arguments(parser)
    parser.set_defaults(func=run)
