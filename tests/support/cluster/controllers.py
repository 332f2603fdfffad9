"""The controller manager: runs the controllers; namespaces, token secrets and garbage
collection live here, the rest in jobs.py, workloads.py, storage.py and scheduler.py."""

from __future__ import annotations

import base64
import contextlib
import threading
import traceback
from pathlib import Path

from .api import FOREGROUND, ORPHAN, Api
from .errors import ApiError
from .jobs import JobController
from .objects import EVENTS, NS, SAS, SECRETS, drop_finalizer
from .rbac import Tokens
from .resources import RESOURCE_TYPES, ResourceType, for_api_version
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
        """One pass of the garbage collector, with its rules (attemptToDeleteItem and
        processDeletingDependentsItem in kube-controller-manager):

        - each owner reference is *dangling* (no object of that kind, name and namespace
          with that uid), *waiting* (the owner is being deleted in the foreground) or
          *solid*;
        - a dependent with a solid owner stays; its dangling and waiting references are
          removed;
        - any other dependent is deleted: in the foreground when an owner waits and it has
          dependents itself, else by its own finalizers (orphan, foreground) or in the
          background;
        - an owner deleted in the foreground goes once no dependent with
          `blockOwnerDeletion: true` remains (the others do not hold it).
        """
        everything: list[tuple[ResourceType, Obj]] = []
        for rt in RESOURCE_TYPES:
            if rt.kind in ("Event", "SelfSubjectAccessReview"):
                continue
            items, _ = self.store.list(rt)
            everything += [(rt, item) for item in items]
        by_uid = {item["metadata"]["uid"]: (rt, item) for rt, item in everything}
        dependents: dict[str, list[tuple[Obj, Obj]]] = {}  # owner uid -> (dependent, ref)
        for _, item in everything:
            for ref in item["metadata"].get("ownerReferences") or []:
                dependents.setdefault(ref.get("uid", ""), []).append((item, ref))
        for rt, item in everything:
            meta = item["metadata"]
            refs = meta.get("ownerReferences") or []
            if not refs or meta.get("deletionTimestamp"):
                continue
            kinds = {"solid": [], "dangling": [], "waiting": []}
            for ref in refs:
                kinds[self._owner_state(ref, meta.get("namespace", ""), by_uid)].append(ref)
            namespace = meta.get("namespace", "")
            if kinds["solid"]:
                gone = {r.get("uid") for r in kinds["dangling"] + kinds["waiting"]}
                if gone:
                    def keep_solid(o: Obj, g: set = gone) -> None:
                        o["metadata"]["ownerReferences"] = [
                            r for r in o["metadata"].get("ownerReferences") or []
                            if r.get("uid") not in g]
                    self.store.mutate(rt, namespace, meta["name"], keep_solid)
                continue
            finalizers = meta.get("finalizers") or []
            if kinds["waiting"] and dependents.get(meta["uid"]):
                policy = "Foreground"
            elif ORPHAN in finalizers:
                policy = "Orphan"
            elif FOREGROUND in finalizers:
                policy = "Foreground"
            else:
                policy = "Background"
            with contextlib.suppress(ApiError):
                self.api.delete(rt, namespace, meta["name"], {"propagationPolicy": policy})
        for rt, item in everything:
            meta = item["metadata"]
            if FOREGROUND not in (meta.get("finalizers") or []) or \
                    not meta.get("deletionTimestamp"):
                continue
            blocking = [d for d, ref in dependents.get(meta["uid"], [])
                        if ref.get("blockOwnerDeletion")]
            if not blocking:
                drop_finalizer(self.store, rt, meta.get("namespace", ""), meta["name"],
                               FOREGROUND)

    @staticmethod
    def _owner_state(ref: Obj, namespace: str,
                     by_uid: dict[str, tuple[ResourceType, Obj]]) -> str:
        """solid, dangling or waiting (see _collect) for one owner reference of an object
        in `namespace`: a namespaced owner is looked for in the dependent's namespace."""
        rt = for_api_version(str(ref.get("apiVersion", "")), str(ref.get("kind", "")))
        if rt is None:
            return "solid"  # a kind the collector cannot resolve: it leaves the object alone
        found = by_uid.get(ref.get("uid", ""))
        if found is None or found[0] is not rt or \
                found[1]["metadata"]["name"] != ref.get("name") or \
                (rt.namespaced and found[1]["metadata"].get("namespace") != namespace):
            return "dangling"
        owner = found[1]["metadata"]
        if owner.get("deletionTimestamp") and FOREGROUND in (owner.get("finalizers") or []):
            return "waiting"
        return "solid"
