"""The node agent: runs each pod's containers as local processes in private mount namespaces."""

from __future__ import annotations

import contextlib
import functools
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import mountpoints
from .api import Api
from .cgroups import MemoryCgroups
from .images import Registry, repository
from .pods import SANDBOX, PodWorker, host_tool_env
from .rbac import Tokens
from .resources import lookup
from .store import Event, Obj, Store, now_iso

PODS = lookup("", "pods")
SERVICES = lookup("", "services")
assert PODS and SERVICES
# What runs for a container without `command`: a list (the ENTRYPOINT; the container's args
# are appended) or a function of the container spec returning the whole argv.
Entrypoint = list[str] | Callable[[dict[str, Any]], list[str]]


@functools.cache
def sandbox_support() -> str | None:
    """None when pods can run here (private mount namespaces and bind mounts are allowed);
    otherwise why not (the node agent needs root with CAP_SYS_ADMIN)."""
    done = subprocess.run([sys.executable, SANDBOX, "probe"], capture_output=True, text=True)
    if done.returncode == 0:
        return None
    return ("pods need private mount namespaces (root with CAP_SYS_ADMIN): "
            + (done.stderr.strip() or f"probe exited {done.returncode}"))


class NodeAgent:
    """Watches pods bound to this node and runs them; also the test hooks on pods."""

    def __init__(self, store: Store, api: Api, tokens: Tokens, api_url: str, state_dir: Path,
                 nfs_exports: dict[str, Path], ca_cert: Path | None = None,
                 node_name: str = "node-1",
                 image_entrypoints: dict[str, Entrypoint] | None = None,
                 images: dict[str, Path] | None = None,
                 host_images: set[str] | None = None) -> None:
        self.store = store
        self.api = api
        self.tokens = tokens
        self.api_url = api_url
        self.state_dir = state_dir
        self.nfs_exports = nfs_exports
        self.ca_cert = ca_cert
        self.image_entrypoints = dict(image_entrypoints or {})
        # None: every container runs host tools; else containers run in these images (those
        # of host_images or with a stand-in in image_entrypoints still on host tools) and
        # others fail to pull.
        self.images = Registry(images) if images is not None else None
        self.host_images = set(host_images or ())
        self.node_name = node_name
        self.cgroups = MemoryCgroups()
        self.base_env = host_tool_env()
        self.restart_backoff = 0.2
        self.workers: dict[str, PodWorker] = {}
        self.logs: dict[tuple[str, str], list[Path]] = {}
        self._holds: list[Callable[[Obj], bool]] = []
        self._wake = threading.Event()
        self._services_changed = threading.Event()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="node-agent", daemon=True)
        store.add_listener(self._on_event)

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=10)
        with self._lock:
            workers = list(self.workers.values())
        for worker in workers:
            worker.request_stop(0, final=True)
        for worker in workers:
            worker.join(timeout=10)
        mountpoints.release(id(self))

    def _on_event(self, event: Event) -> None:
        if event.rt is PODS:
            self._wake.set()
        elif event.rt is SERVICES:
            self._services_changed.set()
            self._wake.set()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(0.25)
            self._wake.clear()
            try:
                self._sync()
            except Exception:  # noqa: BLE001 - keep the agent alive; the trace helps debugging
                traceback.print_exc()

    def hosts_file(self, pod_name: str, namespace: str) -> str:
        """/etc/hosts for a pod: every Service name resolves to 127.0.0.1, where its pods
        listen (pods share the host's network; a Service port works when targetPort == port)."""
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
                 f"127.0.0.1\t{pod_name}", "# Kubernetes services (kubecall test cluster)"]
        services, _ = self.store.list(SERVICES)
        for svc in services:
            name, ns = svc["metadata"]["name"], svc["metadata"]["namespace"]
            names = [f"{name}.{ns}.svc.cluster.local", f"{name}.{ns}.svc", f"{name}.{ns}"]
            if ns == namespace:
                names.insert(0, name)
            lines.append("127.0.0.1\t" + " ".join(names))
        return "\n".join(lines) + "\n"

    def _sync(self) -> None:
        if self._services_changed.is_set():
            self._services_changed.clear()
            with self._lock:
                workers = list(self.workers.values())
            for worker in workers:
                worker.refresh_hosts()
        pods, _ = self.store.list(PODS, "", lambda p: p["spec"].get("nodeName") == self.node_name)
        present = set()
        for pod in pods:
            uid = pod["metadata"]["uid"]
            present.add(uid)
            with self._lock:
                worker = self.workers.get(uid)
            deleting = pod["metadata"].get("deletionTimestamp")
            if worker is None:
                if deleting:
                    self._finalize_unstarted(pod)
                elif not self._held(pod) and (pod.get("status") or {}).get("phase") == "Pending":
                    worker = PodWorker(self, pod)
                    with self._lock:
                        self.workers[uid] = worker
                    worker.start()
            elif deleting:
                worker.request_stop(int(pod["metadata"].get("deletionGracePeriodSeconds") or 0))
        with self._lock:
            gone = [w for uid, w in self.workers.items() if uid not in present]
        for worker in gone:
            worker.request_stop(0)

    def _finalize_unstarted(self, pod: Obj) -> None:
        meta = pod["metadata"]
        if meta.get("finalizers"):
            if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                def fail(p: Obj) -> None:
                    p.setdefault("status", {})["phase"] = "Failed"
                self.store.mutate(PODS, meta["namespace"], meta["name"], fail,
                                  subresource="status")
            return
        with contextlib.suppress(Exception):
            current = self.store.find(PODS, meta["namespace"], meta["name"])
            if current and current["metadata"]["uid"] == meta["uid"]:
                self.store.remove(PODS, meta["namespace"], meta["name"])

    # ---- test hooks ----------------------------------------------------------------------
    def hold_pods(self, predicate: Callable[[Obj], bool] | None = None) -> None:
        """Keep matching pods (all when None) Pending until `release_pods`."""
        self._holds.append(predicate or (lambda pod: True))

    def release_pods(self) -> None:
        self._holds.clear()
        self._wake.set()

    def _held(self, pod: Obj) -> bool:
        return any(hold(pod) for hold in self._holds)

    def worker_for(self, namespace: str, name: str) -> PodWorker | None:
        pod = self.store.find(PODS, namespace, name)
        if pod is None:
            return None
        with self._lock:
            return self.workers.get(pod["metadata"]["uid"])

    def kill_pod(self, namespace: str, name: str, container: str | None = None) -> None:
        """SIGKILL the pod's running containers, as if they crashed (exit code 137)."""
        worker = self.worker_for(namespace, name)
        if worker is not None:
            worker.kill(container)

    def evict(self, namespace: str, name: str) -> None:
        """Evict like the Eviction API: DisruptionTarget condition, then graceful deletion."""
        def mark(pod: Obj) -> None:
            conditions = pod.setdefault("status", {}).setdefault("conditions", [])
            conditions[:] = [c for c in conditions if c.get("type") != "DisruptionTarget"]
            conditions.append({"type": "DisruptionTarget", "status": "True",
                               "reason": "EvictionByEvictionAPI",
                               "message": "Eviction API: evicting",
                               "lastTransitionTime": now_iso()})
        self.store.mutate(PODS, namespace, name, mark, subresource="status")
        pod = self.store.find(PODS, namespace, name)
        if pod is not None:
            self.api.delete(PODS, namespace, name, {"gracePeriodSeconds": 1})

    def entrypoint_for(self, container: Obj) -> Entrypoint | None:
        """The stand-in for an image's ENTRYPOINT: by exact image, then by repository."""
        image = str(container.get("image", ""))
        return self.image_entrypoints.get(image, self.image_entrypoints.get(repository(image)))

    def runs_on_host(self, container: Obj) -> bool:
        """Whether the container runs host tools rather than inside its image."""
        image = str(container.get("image", ""))
        return self.images is None or self.entrypoint_for(container) is not None or \
            bool({image, repository(image)} & self.host_images)

    def log_source(self, pod: Obj, container: str, previous: bool) -> Path | None:
        paths = self.logs.get((pod["metadata"]["uid"], container)) or []
        if previous:
            return paths[-2] if len(paths) > 1 else None
        return paths[-1] if paths else None
