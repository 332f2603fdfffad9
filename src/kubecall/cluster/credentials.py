"""The MinIO Secret: generated with random values when absent, never printed.

``kubecall credentials`` says how to read the values; it does not show them, so they never end
up in a terminal scroll-back, a CI log or a screen share by accident.
"""

from __future__ import annotations

import argparse
import secrets
import string
from typing import Any

from kubecall.cluster.contract import NAMESPACE
from kubecall.cluster.kube import Kube, add_connection_arguments
from kubecall.errors import KubecallError

SECRET_NAME = "minio"
USER_KEY, PASSWORD_KEY = "rootUser", "rootPassword"
ALPHABET = string.ascii_letters + string.digits


def minio_secret(namespace: str) -> dict[str, Any]:
    """A new Secret with a random user (16 characters) and password (40 characters)."""
    user = "kubecall-" + "".join(secrets.choice(ALPHABET) for _ in range(16))
    password = "".join(secrets.choice(ALPHABET) for _ in range(40))
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": SECRET_NAME, "namespace": namespace, "labels": {
            "app.kubernetes.io/name": "minio", "app.kubernetes.io/part-of": "kubecall",
            "app.kubernetes.io/component": "object-store"}},
        "stringData": {USER_KEY: user, PASSWORD_KEY: password},
    }


def ensure_minio_secret(kube: Kube, namespace: str, dry_run: bool) -> str:
    """Create the MinIO Secret unless it exists; returns what was (or would be) done.
    An existing Secret without the keys MinIO reads is a KubecallError saying how to fix it
    (MinIO would fail with `couldn't find key rootUser` and never become available)."""
    existing = kube.get("v1", "Secret", SECRET_NAME, namespace)
    if existing is not None:
        keys = set(existing.get("data") or {}) | set(existing.get("stringData") or {})
        if not {USER_KEY, PASSWORD_KEY} <= keys:
            raise KubecallError(
                f"Secret {SECRET_NAME} in {namespace} has the keys "
                f"{', '.join(sorted(keys)) or '(none)'}, but MinIO reads {USER_KEY} and "
                f"{PASSWORD_KEY} (accesskey/secretkey is an older convention). Recreate it: "
                f"kubectl -n {namespace} delete secret {SECRET_NAME} && kubectl -n {namespace} "
                f"create secret generic {SECRET_NAME} --from-literal={USER_KEY}=... "
                f"--from-literal={PASSWORD_KEY}=... (or only delete it: `kubecall bootstrap` "
                "then generates random credentials)")
        return f"unchanged Secret {SECRET_NAME} in {namespace} (existing credentials kept)"
    if dry_run:
        return f"would create Secret {SECRET_NAME} in {namespace} (random credentials)"
    kube.create(minio_secret(namespace))
    return f"create    Secret {SECRET_NAME} in {namespace} (random credentials, not shown; " \
           "see `kubecall credentials`)"


def how_to_read(namespace: str) -> str:
    base = f"kubectl -n {namespace} get secret {SECRET_NAME}"
    return (
        f"The MinIO credentials are in Secret {SECRET_NAME} (namespace {namespace}); kubecall "
        "never prints them. Read them with:\n"
        f"  {base} -o jsonpath='{{.data.{USER_KEY}}}' | base64 -d; echo\n"
        f"  {base} -o jsonpath='{{.data.{PASSWORD_KEY}}}' | base64 -d; echo\n"
        "Use them as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY against http://minio:9000 in the "
        f"cluster (or `kubectl -n {namespace} port-forward svc/minio 9000` from a laptop).")


def run(args: argparse.Namespace) -> int:
    kube = Kube.from_args(args)
    try:
        present = kube.get("v1", "Secret", SECRET_NAME, args.namespace) is not None
    finally:
        kube.close()
    print(how_to_read(args.namespace))
    if not present:
        print(f"(Secret {SECRET_NAME} does not exist yet: `kubecall bootstrap` creates it)")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "credentials", help="how to read the MinIO credentials (never prints them)",
        description="Say where the MinIO credentials are and how to read them; the values are "
                    "never printed.",
        epilog="example:\n  kubecall credentials --namespace kubecall",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--namespace", default=NAMESPACE)
    add_connection_arguments(parser)
    parser.set_defaults(func=run)
