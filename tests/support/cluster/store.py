"""In-memory object store with resourceVersions, watch history and change listeners."""

from __future__ import annotations

import copy
import queue
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import ApiError, already_exists, conflict, not_found
from .resources import ResourceType

Obj = dict[str, Any]
HISTORY = 20000


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Event:
    """One change: ADDED, MODIFIED or DELETED, with the object after the change."""

    type: str
    rt: ResourceType
    obj: Obj
    rv: int
    old: Obj | None = None  # the object before a MODIFIED change


@dataclass
class Watcher:
    """A subscription to the changes of one resource type (optionally one namespace)."""

    rt: ResourceType
    namespace: str
    events: queue.Queue = field(default_factory=queue.Queue)
    closed: threading.Event = field(default_factory=threading.Event)

    def matches(self, event: Event) -> bool:
        if event.rt.key != self.rt.key:
            return False
        return not self.namespace or event.obj["metadata"].get("namespace") == self.namespace

    abrupt: bool = False  # drop the connection instead of ending the stream cleanly

    def close(self, abrupt: bool = False) -> None:
        self.abrupt = abrupt
        self.closed.set()
        self.events.put(None)


class Store:
    """Thread-safe store; every read returns a deep copy so callers may mutate freely."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._objects: dict[tuple[str, str], dict[tuple[str, str], Obj]] = {}
        self._rv = 100
        self._history: deque[Event] = deque(maxlen=HISTORY)
        self._watchers: list[Watcher] = []
        self._listeners: list[Callable[[Event], None]] = []

    # ---- reading -------------------------------------------------------------------------
    @property
    def resource_version(self) -> int:
        with self.lock:
            return self._rv

    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        with self.lock:
            obj = self._table(rt).get((namespace if rt.namespaced else "", name))
            if obj is None:
                raise not_found(rt.plural, name, rt.group)
            return copy.deepcopy(obj)

    def find(self, rt: ResourceType, namespace: str, name: str) -> Obj | None:
        try:
            return self.get(rt, namespace, name)
        except ApiError:
            return None

    def list(self, rt: ResourceType, namespace: str = "",
             predicate: Callable[[Obj], bool] | None = None) -> tuple[list[Obj], int]:
        with self.lock:
            items = [
                copy.deepcopy(o) for (ns, _), o in sorted(self._table(rt).items())
                if (not namespace or not rt.namespaced or ns == namespace)
                and (predicate is None or predicate(o))
            ]
            return items, self._rv

    # ---- writing -------------------------------------------------------------------------
    def create(self, rt: ResourceType, obj: Obj, uid: str | None = None) -> Obj:
        """Store a new object; `uid` lets admission pick the uid (jobs label pods with it)."""
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        with self.lock:
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
            key = (meta.get("namespace", "") if rt.namespaced else "", meta["name"])
            if not rt.namespaced:
                meta.pop("namespace", None)
            table = self._table(rt)
            if key in table:
                raise already_exists(rt.plural, meta["name"], rt.group)
            meta["uid"] = uid or str(uuid.uuid4())
            meta["creationTimestamp"] = now_iso()
            if rt.has_spec:
                meta["generation"] = 1
            for transient in ("resourceVersion", "deletionTimestamp", "selfLink"):
                meta.pop(transient, None)
            obj["apiVersion"] = rt.group_version
            obj["kind"] = rt.kind
            table[key] = obj
            return self._emit("ADDED", rt, obj)

    def update(self, rt: ResourceType, obj: Obj, *, subresource: str = "") -> Obj:
        """Replace an object. A resourceVersion in `obj` must match (optimistic concurrency).

        A status update keeps the stored spec; a main update keeps the stored status.
        """
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        with self.lock:
            key = (meta.get("namespace", "") if rt.namespaced else "", meta.get("name", ""))
            table = self._table(rt)
            old = table.get(key)
            if old is None:
                raise not_found(rt.plural, key[1], rt.group)
            sent_rv = meta.get("resourceVersion")
            if sent_rv and str(sent_rv) != old["metadata"]["resourceVersion"]:
                raise conflict(rt.plural, key[1], rt.group)
            if subresource == "status":
                merged = copy.deepcopy(old)
                if "status" in obj:
                    merged["status"] = obj["status"]
                obj = merged
            else:
                if "status" in old and rt.has_spec:
                    obj["status"] = copy.deepcopy(old["status"])
                for fixed in ("uid", "creationTimestamp", "deletionTimestamp",
                              "deletionGracePeriodSeconds", "generation"):
                    if fixed in old["metadata"]:
                        meta[fixed] = old["metadata"][fixed]
                    else:
                        meta.pop(fixed, None)
                if rt.has_spec and obj.get("spec") != old.get("spec"):
                    meta["generation"] = old["metadata"].get("generation", 1) + 1
            obj["apiVersion"] = rt.group_version
            obj["kind"] = rt.kind
            if self._same(old, obj):
                return copy.deepcopy(old)
            if old["metadata"].get("deletionTimestamp") and old["metadata"].get("finalizers") \
                    and not obj["metadata"].get("finalizers"):
                obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
                del table[key]
                return self._emit("DELETED", rt, obj)
            table[key] = obj
            return self._emit("MODIFIED", rt, obj, old)

    def mutate(self, rt: ResourceType, namespace: str, name: str,
               change: Callable[[Obj], Any], *, subresource: str = "") -> Obj | None:
        """Apply `change` to the stored object atomically; None when the object is gone."""
        with self.lock:
            obj = self.find(rt, namespace, name)
            if obj is None:
                return None
            change(obj)
            return self.update(rt, obj, subresource=subresource)

    def mark_deleting(self, rt: ResourceType, namespace: str, name: str,
                      grace_seconds: int | None = None, finalizer: str | None = None) -> Obj:
        """Set deletionTimestamp (and optionally add a finalizer) without removing the object."""
        with self.lock:
            obj = self.get(rt, namespace, name)
            meta = obj["metadata"]
            changed = False
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = now_iso()
                if grace_seconds is not None:
                    meta["deletionGracePeriodSeconds"] = grace_seconds
                changed = True
            if finalizer and finalizer not in meta.setdefault("finalizers", []):
                meta["finalizers"].append(finalizer)
                changed = True
            if not changed:
                return obj
            key = (namespace if rt.namespaced else "", name)
            self._table(rt)[key] = obj
            return self._emit("MODIFIED", rt, obj)

    def remove(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        """Delete now, ignoring finalizers and grace."""
        with self.lock:
            key = (namespace if rt.namespaced else "", name)
            obj = self._table(rt).pop(key, None)
            if obj is None:
                raise not_found(rt.plural, name, rt.group)
            obj["metadata"].setdefault("deletionTimestamp", now_iso())
            return self._emit("DELETED", rt, obj)

    # ---- watching ------------------------------------------------------------------------
    def watch(self, rt: ResourceType, namespace: str, since: int | None) -> Watcher:
        """Subscribe; replay history after `since` (410 Expired when it is no longer held)."""
        watcher = Watcher(rt, namespace)
        with self.lock:
            if since is not None and since < self._rv:
                oldest = self._history[0].rv if self._history else self._rv + 1
                if since < oldest - 1:
                    raise ApiError(410, f"too old resource version: {since} ({oldest - 1})",
                                   "Expired")
                for event in self._history:
                    if event.rv > since and watcher.matches(event):
                        watcher.events.put(event)
            self._watchers.append(watcher)
        return watcher

    def unwatch(self, watcher: Watcher) -> None:
        with self.lock:
            if watcher in self._watchers:
                self._watchers.remove(watcher)

    def close_watches(self, limit: int | None = None, abrupt: bool = False) -> int:
        """End open watches (fault injection and shutdown); returns how many were closed."""
        with self.lock:
            victims = self._watchers[: limit if limit is not None else len(self._watchers)]
            for watcher in victims:
                watcher.close(abrupt)
                self._watchers.remove(watcher)
            return len(victims)

    def compact(self) -> None:
        """Forget the watch history: watches from any older resourceVersion get 410 Expired."""
        with self.lock:
            self._history.clear()

    def add_listener(self, listener: Callable[[Event], None]) -> None:
        """`listener` is called (under the store lock, so it must only enqueue) on every change."""
        self._listeners.append(listener)

    # ---- internals -----------------------------------------------------------------------
    def _table(self, rt: ResourceType) -> dict[tuple[str, str], Obj]:
        return self._objects.setdefault(rt.key, {})

    @staticmethod
    def _same(old: Obj, new: Obj) -> bool:
        a = {k: v for k, v in old.items() if k != "metadata"}
        b = {k: v for k, v in new.items() if k != "metadata"}
        ma = {k: v for k, v in old["metadata"].items() if k != "resourceVersion"}
        mb = {k: v for k, v in new["metadata"].items() if k != "resourceVersion"}
        return a == b and ma == mb

    def _emit(self, kind: str, rt: ResourceType, obj: Obj, old: Obj | None = None) -> Obj:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        event = Event(kind, rt, copy.deepcopy(obj), self._rv, copy.deepcopy(old))
        self._history.append(event)
        for watcher in self._watchers:
            if watcher.matches(event):
                watcher.events.put(event)
        for listener in self._listeners:
            listener(event)
        return copy.deepcopy(obj)
