"""``kubecall teardown``: remove what bootstrap made, keeping the data claims.

Kept unless ``--purge``: every PersistentVolumeClaim (workspace, data source, MinIO's data), the
data-source PersistentVolume (Retain in any case), the namespace (deleting it deletes the claims)
and the MinIO Secret (MinIO's data is only readable with it). ``--purge`` asks twice.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubecall.cluster.applying import describe, in_dependency_order
from kubecall.cluster.credentials import SECRET_NAME
from kubecall.cluster.kube import Kube, add_connection_arguments
from kubecall.cluster.manifests import namespace_of, objects_for, overlay_names
from kubecall.errors import KubecallError

KEPT_KINDS = {"PersistentVolumeClaim", "PersistentVolume", "Namespace", "StorageClass"}

EPILOG = """examples:
  kubecall teardown --overlay minikube --dry-run   # list what would be deleted and kept
  kubecall teardown --overlay minikube             # delete all but the data claims
  kubecall teardown --overlay minikube --purge     # everything, data too (asks twice)
"""


def confirm_purge(namespace: str, ask: Callable[[str], str]) -> None:
    """Two questions: a yes, then the namespace's name typed out."""
    first = ask(f"--purge deletes namespace {namespace} with ALL its data claims "
                "(workspace, MinIO data). Continue? [yes/no] ")
    if first.strip().lower() != "yes":
        raise KubecallError("teardown --purge cancelled (answer was not 'yes')")
    second = ask(f"Type the namespace name ({namespace}) to confirm: ")
    if second.strip() != namespace:
        raise KubecallError("teardown --purge cancelled (the name did not match)")


def run(args: argparse.Namespace, ask: Callable[[str], str] = input) -> int:
    objects = objects_for(args.overlay, args.manifests)
    namespace = namespace_of(objects)
    if args.purge and not args.dry_run:
        confirm_purge(namespace, ask)
    kube = Kube.from_args(args)
    verb = "would delete" if args.dry_run else "delete"
    try:
        doomed = [o for o in in_dependency_order(objects)
                  if args.purge or o["kind"] not in KEPT_KINDS]
        for obj in reversed(doomed):
            meta = obj["metadata"]
            if args.dry_run:
                exists = kube.get(obj["apiVersion"], obj["kind"], meta["name"],
                                  meta.get("namespace")) is not None
            else:
                exists = kube.delete(obj["apiVersion"], obj["kind"], meta["name"],
                                     meta.get("namespace"))
            print(f"{verb if exists else 'absent   '} {describe(obj)}")
        if args.purge:
            if args.dry_run:
                print(f"{verb} Secret {SECRET_NAME} in {namespace}")
            else:
                kube.delete("v1", "Secret", SECRET_NAME, namespace)
        else:
            for obj in objects:
                if obj["kind"] in KEPT_KINDS:
                    print(f"kept      {describe(obj)}")
            print(f"kept      Secret {SECRET_NAME} in {namespace} (MinIO's data needs it)")
    finally:
        kube.close()
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "teardown", help="delete what bootstrap created, keeping data claims unless --purge",
        description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--overlay",
                        help=f"overlay name ({', '.join(overlay_names())}) or directory")
    source.add_argument("--manifests", type=Path, help="pre-rendered YAML")
    parser.add_argument("--purge", action="store_true",
                        help="also delete the namespace, claims and the MinIO Secret (asks twice)")
    parser.add_argument("--dry-run", action="store_true", help="list; delete nothing")
    add_connection_arguments(parser)
    parser.set_defaults(func=run)
