"""The controller manager: runs the controllers; namespaces, token secrets and garbage
collection live here, the rest in jobs.py, workloads.py, storage.py and scheduler.py."""

from __future__ import annotations

import base64
import contextlib
import threading
import traceback
from pathlib import Path

from .api import FOREGROUND, Api
from .errors import ApiError
from .jobs import JobController
from .objects import EVENTS, NS, SAS, SECRETS
from .rbac import Tokens
from .resources import RESOURCE_TYPES, ResourceType
from .scheduler import Scheduler
from .storage import VolumeController
from .store import Event, Obj, Store
from .workloads import WorkloadController


class ControllerManager:
    """Runs every reconciler in one thread, woken by store changes (and a short tick for time)."""

    def __init__(self, store: Store, api: Api, tokens: Tokens, state_dir: Path,
                 class_modes: dict[str, list[str]],
                 root_owned_classes: frozenset[str] = frozenset()) -> None:
        self.store = store
        self.api = api
        self.tokens = tokens
        self._wake = threading.Event()
        self._gc_needed = threading.Event()
        self._stopping = threading.Event()
        self.jobs = JobController(store, api)
        self.workloads = WorkloadController(store, api)
        self.volumes = VolumeController(store, api, state_dir, class_modes, root_owned_classes)
        self.scheduler = Scheduler(store, api)
        self._thread = threading.Thread(target=self._loop, name="controllers", daemon=True)
        store.add_listener(self._on_event)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _on_event(self, event: Event) -> None:
        if event.rt is EVENTS:
            return
        meta = event.obj["metadata"]
        # garbage collection only matters after deletions, or for new dependents
        if event.type == "DELETED" or meta.get("deletionTimestamp") or (
                event.type == "ADDED" and meta.get("ownerReferences")):
            self._gc_needed.set()
        self._wake.set()

    def _loop(self) -> None:
        reconcilers = [self.namespaces, self.service_account_tokens, self.garbage_collect,
                       self.jobs.reconcile, self.workloads.reconcile, self.volumes.reconcile,
                       self.scheduler.schedule]
        while not self._stopping.is_set():
            self._wake.wait(0.25)
            self._wake.clear()
            for reconcile in reconcilers:
                if self._stopping.is_set():
                    return
                try:
                    reconcile()
                except ApiError as exc:
                    if exc.code not in (404, 409):
                        traceback.print_exc()
                    self._wake.set()
                except Exception:  # noqa: BLE001 - one failing reconciler must not stop others
                    traceback.print_exc()

    # ---- namespaces and service accounts -------------------------------------------------
    def namespaces(self) -> None:
        namespaces, _ = self.store.list(NS)
        for ns in namespaces:
            name = ns["metadata"]["name"]
            if not ns["metadata"].get("deletionTimestamp"):
                if self.store.find(SAS, name, "default") is None:
                    with contextlib.suppress(ApiError):
                        self.store.create(SAS, {"metadata": {"name": "default",
                                                             "namespace": name}})
                continue
            if (ns.get("status") or {}).get("phase") != "Terminating":
                def terminating(o: Obj) -> None:
                    o["status"] = {"phase": "Terminating"}
                self.store.mutate(NS, "", name, terminating, subresource="status")
            remaining = 0
            for rt in RESOURCE_TYPES:
                if not rt.namespaced or "delete" not in rt.verbs:
                    continue
                items, _ = self.store.list(rt, name)
                remaining += len(items)
                for item in items:
                    if not item["metadata"].get("deletionTimestamp"):
                        with contextlib.suppress(ApiError):
                            self.api.delete(rt, name, item["metadata"]["name"],
                                            {"propagationPolicy": "Background"})
            if remaining == 0:
                with contextlib.suppress(ApiError):
                    self.store.remove(NS, "", name)

    def service_account_tokens(self) -> None:
        secrets, _ = self.store.list(
            SECRETS, "", lambda s: s.get("type") == "kubernetes.io/service-account-token"
            and not (s.get("data") or {}).get("token"))
        for secret in secrets:
            meta = secret["metadata"]
            sa_name = (meta.get("annotations") or {}).get("kubernetes.io/service-account.name")
            if not sa_name or self.store.find(SAS, meta["namespace"], sa_name) is None:
                continue
            token = self.tokens.mint(meta["namespace"], sa_name)

            def fill(s: Obj, t: str = token, ns: str = meta["namespace"]) -> None:
                s.setdefault("data", {}).update({
                    "token": base64.b64encode(t.encode()).decode(),
                    "namespace": base64.b64encode(ns.encode()).decode(),
                    "ca.crt": ""})
            self.store.mutate(SECRETS, meta["namespace"], meta["name"], fill)

    # ---- garbage collection --------------------------------------------------------------
    def garbage_collect(self) -> None:
        """Delete dependents whose owners are gone; finish foreground deletions."""
        if not self._gc_needed.is_set():
            return
        self._gc_needed.clear()
        try:
            self._collect()
        except Exception:
            self._gc_needed.set()  # retry on the next pass
            raise

    def _collect(self) -> None:
        live_uids: set[str] = set()
        everything: list[tuple[ResourceType, Obj]] = []
        for rt in RESOURCE_TYPES:
            if rt.kind in ("Event", "SelfSubjectAccessReview"):
                continue
            items, _ = self.store.list(rt)
            for item in items:
                everything.append((rt, item))
                live_uids.add(item["metadata"]["uid"])
        foreground = {item["metadata"]["uid"] for _, item in everything
                      if FOREGROUND in (item["metadata"].get("finalizers") or [])
                      and item["metadata"].get("deletionTimestamp")}
        dependents_of: dict[str, int] = {}
        for rt, item in everything:
            meta = item["metadata"]
            refs = meta.get("ownerReferences") or []
            if not refs:
                continue
            for ref in refs:
                dependents_of[ref.get("uid", "")] = dependents_of.get(ref.get("uid", ""), 0) + 1
            owners_gone = all(ref.get("uid") not in live_uids for ref in refs)
            owner_foreground = any(ref.get("uid") in foreground for ref in refs)
            if (owners_gone or owner_foreground) and not meta.get("deletionTimestamp"):
                policy = "Foreground" if owner_foreground else "Background"
                with contextlib.suppress(ApiError):
                    self.api.delete(rt, meta.get("namespace", ""), meta["name"],
                                    {"propagationPolicy": policy})
        for rt, item in everything:
            meta = item["metadata"]
            if meta["uid"] in foreground and not dependents_of.get(meta["uid"]):
                def drop(o: Obj) -> None:
                    o["metadata"]["finalizers"] = [f for f in o["metadata"].get("finalizers", [])
                                                   if f != FOREGROUND]
                self.store.mutate(rt, meta.get("namespace", ""), meta["name"], drop)

