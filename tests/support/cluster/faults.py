"""Fault injection and the request log, shared by the API server and tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RequestRecord:
    """One API request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    user: str
    verb: str = ""
    resource: str = ""
    namespace: str = ""
    name: str = ""
    code: int = 0
    # time.time() when the server received it (the log is in order of the requests' ends).
    received: float = field(default_factory=time.time)


@dataclass
class _Failure:
    remaining: int
    code: int
    method: str | None
    path_contains: str | None
    verb: str | None
    resource: str | None


@dataclass
class Faults:
    """What tests may break: failing requests, added latency, dropped watches."""

    latency: float = 0.0
    # time.monotonic() until which every API request is refused (an API server outage).
    outage_until: float = 0.0
    watch_dropper: Callable[[int | None, bool], int] | None = None
    history_compactor: Callable[[], None] | None = None
    outage_code: int = 503
    # Watches opened before the last stall_watches() call send nothing any more.
    stall_generation: int = 0
    _failures: list[_Failure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, count: int, code: int = 503, method: str | None = None,
                  path_contains: str | None = None, verb: str | None = None,
                  resource: str | None = None) -> None:
        """Fail the next `count` matching resource requests with `code` (503/500/429…).

        Match on any of: HTTP `method`, a `path_contains` substring, the API `verb` ("create",
        "watch"…) and `resource` ("jobs", "pods/log"…). Discovery requests never fail.
        """
        with self._lock:
            self._failures.append(_Failure(count, code, method and method.upper(),
                                           path_contains, verb, resource))

    def add_latency(self, seconds: float) -> None:
        """Delay every API request by `seconds` (0 to stop)."""
        self.latency = seconds

    def outage(self, seconds: float, code: int = 503) -> None:
        """Refuse every API request with `code` for `seconds` from now, and cut the open
        watch streams, as a control plane that is down (upgrade, etcd trouble) does."""
        self.outage_code = code
        self.outage_until = time.monotonic() + seconds
        self.drop_watches(abrupt=True)

    def stall_watches(self) -> None:
        """Make every open watch stream half-open: it stays connected but sends nothing
        more, whatever its timeoutSeconds (a NAT or load balancer that forgot the
        connection). Watches opened afterwards work."""
        self.stall_generation += 1

    def in_outage(self) -> int | None:
        """The status code to refuse a request with while an outage lasts, else None."""
        return self.outage_code if time.monotonic() < self.outage_until else None

    def drop_watches(self, count: int | None = None, abrupt: bool = False) -> int:
        """End open watch streams now (all, or the `count` oldest); returns how many.

        A clean end is what a server timeout looks like (clients usually re-watch); `abrupt`
        cuts the connection mid-stream, as a failing load balancer would (clients see an
        incomplete chunked read)."""
        return self.watch_dropper(count, abrupt) if self.watch_dropper else 0

    def expire_watch_history(self) -> None:
        """Compact the watch history: resuming a watch from an older resourceVersion now gets
        an ERROR event with a 410 Expired status, as after an etcd compaction."""
        if self.history_compactor:
            self.history_compactor()

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()
        self.latency = 0.0
        self.outage_until = 0.0

    def take(self, method: str, path: str, verb: str = "", resource: str = "") -> int | None:
        """The injected status code for this request, if a failure rule matches."""
        with self._lock:
            for failure in self._failures:
                if failure.method and failure.method != method:
                    continue
                if failure.path_contains and failure.path_contains not in path:
                    continue
                if (failure.verb and failure.verb != verb) or \
                        (failure.resource and failure.resource != resource):
                    continue
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure.code
        return None


@dataclass
class RequestLog:
    """Every request the API server handled, in order."""

    records: list[RequestRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: RequestRecord) -> None:
        with self._lock:
            self.records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self.records)

    def clear(self) -> None:
        with self._lock:
            self.records.clear()

    def filter(self, **match: Any) -> list[RequestRecord]:
        """Requests whose attributes equal the given values; a callable value is a predicate
        (e.g. `name=lambda n: n.startswith("snakejob-")`)."""
        def ok(record: RequestRecord, key: str, wanted: Any) -> bool:
            value = getattr(record, key)
            return bool(wanted(value)) if callable(wanted) else value == wanted
        return [r for r in self.snapshot() if all(ok(r, k, v) for k, v in match.items())]

    def count(self, **match: Any) -> int:
        """How many requests match (e.g. verb="create", resource="jobs"); see `filter`."""
        return len(self.filter(**match))
