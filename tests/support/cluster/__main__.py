"""`python -m tests.support.cluster serve --kubeconfig PATH [--port N] [--state DIR]`."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .cluster import Cluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.cluster",
                                     description="Run the kubecall test cluster standalone.")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="start the cluster and write a kubeconfig")
    serve.add_argument("--kubeconfig", required=True, type=Path,
                       help="where to write the admin kubeconfig")
    serve.add_argument("--port", type=int, default=0, help="API port (default: any free one)")
    serve.add_argument("--state", type=Path, default=None,
                       help="state directory (volumes, logs); default: a temporary directory")
    serve.add_argument("--nfs", action="append", default=[], metavar="SERVER:/PATH=DIR",
                       help="map an NFS export used by static PVs to a local directory")
    args = parser.parse_args(argv)
    exports = {}
    for item in args.nfs:
        key, _, directory = item.partition("=")
        exports[key] = directory
    cluster = Cluster(state_dir=args.state, port=args.port, nfs_exports=exports)
    cluster.start()
    cluster.write_kubeconfig(args.kubeconfig.resolve(), cluster.tokens.admin_token, "admin",
                             "default")
    print(f"kubecall test cluster at {cluster.url}", flush=True)
    print(f"export KUBECONFIG={args.kubeconfig.resolve()}", flush=True)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
