"""The HTTP front of the test API server: routing, auth, RBAC, watches, logs and tables."""

from __future__ import annotations

import base64
import json
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import discovery, patching, protobuf, tables
from .api import Api
from .errors import ApiError, conflict
from .faults import Faults, RequestLog, RequestRecord
from .rbac import Authorizer, Tokens, User, impersonated
from .resources import ResourceType, lookup
from .selection import object_predicate
from .store import Event, Obj, Store

# Kinds whose DELETE answers with the object (as the real API does); others answer a Status.
RETURNS_DELETED_OBJECT = {"Pod", "PersistentVolumeClaim", "PersistentVolume", "Service",
                          "ServiceAccount", "ResourceQuota", "StorageClass"}
# Readable without credentials (system:public-info-viewer on a real cluster).
PUBLIC_PATHS = {"/version", "/healthz", "/livez", "/readyz"}
LogSource = Callable[[Obj, str, bool], Path | None]
Evictor = Callable[[str, str], None]


class ApiServer:
    """Serves the Kubernetes REST API for one test cluster on 127.0.0.1."""

    def __init__(self, store: Store, api: Api, tokens: Tokens, port: int = 0,
                 tls: ssl.SSLContext | None = None) -> None:
        self.store = store
        self.api = api
        self.tokens = tokens
        self.authorizer = Authorizer(store)
        self.faults = Faults(watch_dropper=store.close_watches,
                             history_compactor=store.compact)
        self.requests = RequestLog()
        self.log_source: LogSource | None = None
        self.evictor: Evictor | None = None
        self.stopping = threading.Event()
        server = self
        handler = type("Handler", (_Handler,), {"api_server": server})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True,
                                                do_handshake_on_connect=False)
            self.scheme = "https"
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                        name="apiserver", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.store.close_watches()
        self.httpd.shutdown()
        self.httpd.server_close()


def _parse_resource_path(parts: list[str]) -> tuple[ResourceType, str, str, str] | None:
    """(type, namespace, name, subresource) for /api/v1/... and /apis/g/v/... paths."""
    if len(parts) >= 3 and parts[:2] == ["api", "v1"]:
        group, version, rest = "", "v1", parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        inner = lookup(group, rest[2])
        if inner is not None and inner.namespaced:
            namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    rt = lookup(group, rest[0])
    if rt is None or rt.version != version:
        return None
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if sub and sub not in rt.subresources:
        return None
    return rt, namespace, name, sub


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api_server: ApiServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        """Quiet: the request log keeps what tests need."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # ---- plumbing ------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        srv = self.api_server
        split = urlsplit(self.path)
        query = parse_qs(split.query)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        record = RequestRecord(method, split.path, query, "")
        try:
            public = split.path.rstrip("/")
            if method == "GET" and public in PUBLIC_PATHS:
                record.code = 200
                if public == "/version":
                    self._send_json(200, discovery.VERSION)
                else:
                    self._send_text(200, b"ok")
                return
            user = self._authenticate()
            record.user = user.name
            refused = srv.faults.in_outage()
            if refused:
                raise ApiError(refused, "the server is currently unable to handle the request")
            if srv.faults.latency:
                time.sleep(srv.faults.latency)
            self._route(method, split.path, query, body, user, record)
        except ApiError as exc:
            record.code = exc.code
            self._send_json(exc.code, exc.status())
        except OSError:  # the client went away (BrokenPipe, reset, TLS EOF) mid-response
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - a server bug must still answer with a Status
            record.code = 500
            self._send_json(500, ApiError(500, f"internal error: {exc!r}").status())
            raise
        finally:
            srv.requests.add(record)

    def _authenticate(self) -> User:
        header = self.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        user = self.api_server.tokens.authenticate(token, self.api_server.store) if token else None
        if user is None:
            raise ApiError(401, "Unauthorized")
        impersonate = self.headers.get("Impersonate-User")
        if impersonate:
            if not user.is_admin:
                raise ApiError(403, f'users "{impersonate}" is forbidden: User "{user.name}" '
                                    "cannot impersonate resource \"users\" in API group \"\"",
                               "Forbidden")
            groups = tuple(self.headers.get_all("Impersonate-Group") or ())
            return impersonated(impersonate, groups)
        return user

    def _send_json(self, code: int, obj: Any, warnings: list[str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(code)
        for warning in warnings or []:
            self.send_header("Warning", '299 - "' + warning.replace('"', '\\"') + '"')
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.wfile.write(data)

    def _send_text(self, code: int, text: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def _start_stream(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        self.close_connection = True

    def _chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def _end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _body(self, body: bytes) -> Any:
        return _load(body, self.headers.get("Content-Type", ""))

    def _wants_table(self) -> bool:
        return "as=Table" in self.headers.get("Accept", "")

    # ---- routing -------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes,
               user: User, record: RequestRecord) -> None:
        srv = self.api_server
        parts = [p for p in path.split("/") if p]
        static = self._static(parts)
        if static is not None:
            if method != "GET":
                raise ApiError(405, "the server does not allow this method on the requested "
                                    "resource", "MethodNotAllowed")
            record.code = 200
            self._send_json(200, static)
            return
        parsed = _parse_resource_path(parts)
        if parsed is None:
            raise ApiError(404, "the server could not find the requested resource", "NotFound",
                           details={})
        rt, namespace, name, sub = parsed
        verb = self._verb(method, name, query)
        resource = f"{rt.plural}/{sub}" if sub else rt.plural
        record.verb, record.resource, record.namespace, record.name = \
            verb, resource, namespace, name
        if rt.kind == "Namespace" and name and not sub:
            record.namespace = name
        code = srv.faults.take(method, path, verb, resource)
        if code is not None:
            raise ApiError(code, f"injected failure ({code})")
        check_ns = namespace or (name if rt.kind == "Namespace" else "")
        if not srv.authorizer.allowed(user, verb, rt.group, resource, check_ns, name):
            where = f' in the namespace "{namespace}"' if namespace else ""
            subject = f'{resource} "{name}"' if name else resource
            target = f'resource "{rt.plural}"' + (f' with subresource "{sub}"' if sub else "")
            raise ApiError(403, f'{subject} is forbidden: User "{user.name}" cannot {verb} '
                                f'{target} in API group "{rt.group}"{where}', "Forbidden",
                           details={"name": name, "group": rt.group, "kind": rt.plural})
        with srv.api.client_request(_one(query, "fieldValidation"), _one(query, "fieldManager"),
                                    self.headers.get("User-Agent", ""),
                                    _flag(query, "force")) as warnings:
            code, result = self._dispatch(method, rt, namespace, name, sub, query, body, user)
        record.code = code
        if result is not None:
            self._send_json(code, result, warnings)

    def _static(self, parts: list[str]) -> Any:
        host, port = self.api_server.httpd.server_address[:2]
        if parts == ["api"]:
            return discovery.api_versions(f"{host}:{port}")
        if parts == ["api", "v1"]:
            return discovery.api_resource_list("v1")
        if parts == ["apis"]:
            return discovery.api_group_list()
        if len(parts) == 2 and parts[0] == "apis":
            found = discovery.api_group(parts[1])
            if found is None:
                raise ApiError(404, "the server could not find the requested resource")
            return found
        if len(parts) == 3 and parts[0] == "apis":
            found = discovery.api_resource_list(f"{parts[1]}/{parts[2]}")
            if found is None:
                raise ApiError(404, "the server could not find the requested resource")
            return found
        if parts == ["openapi", "v3"]:
            return discovery.openapi_v3_root()
        if len(parts) > 2 and parts[:2] == ["openapi", "v3"]:
            found = discovery.openapi_v3_document("/".join(parts[2:]))
            if found is None:
                raise ApiError(404, "the server could not find the requested resource")
            return found
        return None

    @staticmethod
    def _verb(method: str, name: str, query: dict[str, list[str]]) -> str:
        if method == "GET":
            if name:
                return "get"
            return "watch" if _flag(query, "watch") else "list"
        if method == "DELETE":
            return "delete" if name else "deletecollection"
        return {"POST": "create", "PUT": "update", "PATCH": "patch"}[method]

    def _dispatch(self, method: str, rt: ResourceType, namespace: str, name: str, sub: str,
                  query: dict[str, list[str]], body: bytes, user: User) -> tuple[int, Any]:
        srv = self.api_server
        api = srv.api
        dry_run = bool(query.get("dryRun"))
        if rt.kind == "SelfSubjectAccessReview":
            return 201, self._access_review(self._body(body), user)
        if sub == "log":
            self._serve_log(namespace, name, query)
            return 200, None
        if sub == "scale":
            return self._scale(method, rt, namespace, name, body)
        if sub == "token" and method == "POST":
            return 201, self._token(namespace, name, self._body(body))
        if sub == "eviction" and method == "POST":
            srv.store.get(rt, namespace, name)
            if srv.evictor is None:
                raise ApiError(500, "evictions are not supported without a node agent")
            srv.evictor(namespace, name)
            return 201, {"kind": "Status", "apiVersion": "v1", "status": "Success",
                         "metadata": {}}
        if method == "GET" and not name:
            if _flag(query, "watch"):
                self._watch(rt, namespace, query)
                return 200, None
            return 200, self._list(rt, namespace, query)
        if method == "GET":
            obj = srv.store.get(rt, namespace, name)
            if self._wants_table():
                return 200, tables.to_table(rt, [obj], obj["metadata"]["resourceVersion"],
                                            _one(query, "includeObject") or "Metadata")
            return 200, obj
        if method == "POST":
            if name:
                raise ApiError(405, "POST to a named resource is not allowed", "MethodNotAllowed")
            return 201, api.create(rt, namespace, self._body(body), dry_run)
        if method == "PUT":
            return 200, api.update(rt, namespace, name, self._body(body), sub, dry_run)
        if method == "PATCH":
            content_type = self.headers.get("Content-Type", "")
            if content_type.startswith("application/apply-patch") and \
                    srv.store.find(rt, namespace, name) is None:
                return 201, api.patch(rt, namespace, name, body, content_type, sub,
                                      dry_run=dry_run)
            return 200, api.patch(rt, namespace, name, body, content_type, sub, dry_run=dry_run)
        if method == "DELETE":
            options = self._body(body) if body else {}
            for key in ("propagationPolicy", "gracePeriodSeconds", "orphanDependents"):
                if key in query:
                    value: Any = query[key][0]
                    if key == "gracePeriodSeconds":
                        value = int(value)
                    elif key == "orphanDependents":
                        value = value == "true"
                    options[key] = value
            if not name:
                return 200, self._delete_collection(rt, namespace, query, options)
            if dry_run:
                return 200, srv.store.get(rt, namespace, name)
            result = api.delete(rt, namespace, name, options)
            if rt.kind in RETURNS_DELETED_OBJECT:
                return 200, result
            if srv.store.find(rt, namespace, name) is not None:
                return 202, result
            return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {},
                         "status": "Success",
                         "details": {"name": name, "group": rt.group, "kind": rt.plural,
                                     "uid": result["metadata"].get("uid")}}
        raise ApiError(405, "method not allowed", "MethodNotAllowed")

    # ---- handlers ------------------------------------------------------------------------
    def _list(self, rt: ResourceType, namespace: str, query: dict[str, list[str]]) -> Obj:
        predicate = object_predicate(_one(query, "labelSelector"), _one(query, "fieldSelector"))
        items, rv = self.api_server.store.list(rt, namespace, predicate)
        items, token, remaining = _page(items, _one(query, "limit"), _one(query, "continue"))
        meta: Obj = {"resourceVersion": str(rv)}
        if token:
            meta.update({"continue": token, "remainingItemCount": remaining})
        if self._wants_table():
            table = tables.to_table(rt, items, str(rv),
                                    _one(query, "includeObject") or "Metadata")
            table["metadata"] = meta
            return table
        for item in items:
            item.pop("apiVersion", None)
            item.pop("kind", None)
        return {"kind": f"{rt.kind}List", "apiVersion": rt.group_version, "metadata": meta,
                "items": items}

    def _delete_collection(self, rt: ResourceType, namespace: str, query: dict[str, list[str]],
                           options: dict[str, Any]) -> Obj:
        predicate = object_predicate(_one(query, "labelSelector"), _one(query, "fieldSelector"))
        items, rv = self.api_server.store.list(rt, namespace, predicate)
        for item in items:
            try:
                self.api_server.api.delete(rt, item["metadata"].get("namespace", ""),
                                           item["metadata"]["name"], dict(options))
            except ApiError as exc:
                if exc.code != 404:
                    raise
        return {"kind": f"{rt.kind}List", "apiVersion": rt.group_version,
                "metadata": {"resourceVersion": str(rv)}, "items": items}

    def _watch(self, rt: ResourceType, namespace: str, query: dict[str, list[str]]) -> None:
        srv = self.api_server
        store = srv.store
        predicate = object_predicate(_one(query, "labelSelector"), _one(query, "fieldSelector"))
        since_text = _one(query, "resourceVersion")
        timeout = float(_one(query, "timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        table = self._wants_table()
        initial: list[Obj] = []
        with store.lock:
            if since_text in ("", "0"):
                initial, rv = store.list(rt, namespace, predicate)
                watcher = store.watch(rt, namespace, rv)
            else:
                try:
                    since = int(since_text)
                except ValueError as exc:
                    raise ApiError(400, f"invalid resourceVersion {since_text!r}") from exc
                try:
                    watcher = store.watch(rt, namespace, since)
                except ApiError as exc:
                    # like the real API: 200 and one ERROR event carrying the 410 Status
                    self._start_stream("application/json")
                    self._chunk(json.dumps({"type": "ERROR", "object": exc.status()}).encode()
                                + b"\n")
                    self._end_stream()
                    return

        def render(kind: str, obj: Obj) -> bytes:
            if table:
                obj = tables.to_table(rt, [obj], obj["metadata"].get("resourceVersion", ""),
                                      _one(query, "includeObject") or "Metadata")
            return json.dumps({"type": kind, "object": obj}).encode() + b"\n"

        generation = srv.faults.stall_generation
        try:
            self._start_stream("application/json")
            for obj in initial:
                self._chunk(render("ADDED", obj))
            while not srv.stopping.is_set():
                if srv.faults.stall_generation != generation:
                    time.sleep(0.2)  # half-open: nothing more, not even the end
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    event = watcher.events.get(timeout=min(remaining, 0.5))
                except queue.Empty:
                    continue
                if event is None:
                    if watcher.abrupt:
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return
                    break
                kind = _filtered_type(event, predicate)
                if kind:
                    self._chunk(render(kind, event.obj))
            self._end_stream()
        finally:
            store.unwatch(watcher)

    def _serve_log(self, namespace: str, name: str, query: dict[str, list[str]]) -> None:
        srv = self.api_server
        pods = lookup("", "pods")
        assert pods is not None
        pod = srv.store.get(pods, namespace, name)
        names = [c["name"] for c in pod["spec"].get("initContainers") or []] + \
            [c["name"] for c in pod["spec"].get("containers") or []]
        container = _one(query, "container")
        if not container:
            main = [c["name"] for c in pod["spec"].get("containers") or []]
            if len(main) != 1:
                raise ApiError(400, f"a container name must be specified for pod {name}, choose "
                                    f"one of: [{' '.join(main)}]", "BadRequest")
            container = main[0]
        if container not in names:
            raise ApiError(400, f"container {container} is not valid for pod {name}",
                           "BadRequest")
        previous = _flag(query, "previous")
        path = srv.log_source(pod, container, previous) if srv.log_source else None
        if path is None or not path.exists():
            reason = _waiting_reason(pod, container)
            raise ApiError(400, f'container "{container}" in pod "{name}" is waiting to start: '
                                f"{reason}", "BadRequest")
        follow = _flag(query, "follow")
        tail = _one(query, "tailLines")
        limit = _one(query, "limitBytes")
        data = path.read_bytes()
        if tail:
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-int(tail):]) if int(tail) else b""
        if limit:
            data = data[: int(limit)]
        if not follow:
            self._send_text(200, data)
            return
        self._start_stream("text/plain")
        self._chunk(data)
        offset = path.stat().st_size
        while not srv.stopping.is_set():
            current = srv.store.find(pods, namespace, name)
            finished = current is None or _container_finished(current, container)
            size = path.stat().st_size if path.exists() else offset
            if size > offset:
                with path.open("rb") as handle:
                    handle.seek(offset)
                    self._chunk(handle.read(size - offset))
                offset = size
            elif finished:
                break
            else:
                time.sleep(0.1)
        self._end_stream()

    def _scale(self, method: str, rt: ResourceType, namespace: str, name: str,
               body: bytes) -> tuple[int, Obj]:
        srv = self.api_server
        obj = srv.store.get(rt, namespace, name)
        scale = _to_scale(obj)
        if method == "GET":
            return 200, scale
        if method == "PUT":
            wanted = self._body(body)
        elif method == "PATCH":
            content_type = self.headers.get("Content-Type", "")
            patch = self._body(body)
            if "json-patch" in content_type:
                wanted = patching.json_patch(scale, patch)
            else:
                wanted = patching.merge_patch(scale, patch)
        else:
            raise ApiError(405, "method not allowed", "MethodNotAllowed")
        replicas = (wanted.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            raise ApiError(422, f'Scale.autoscaling "{name}" is invalid: spec.replicas: Invalid '
                                "value: must be a non-negative integer", "Invalid")
        sent_rv = (wanted.get("metadata") or {}).get("resourceVersion")
        if method == "PUT" and sent_rv and sent_rv != obj["metadata"]["resourceVersion"]:
            raise conflict(rt.plural, name, rt.group)

        def set_replicas(o: Obj) -> None:
            o["spec"]["replicas"] = replicas

        updated = srv.store.mutate(rt, namespace, name, set_replicas)
        assert updated is not None
        return 200, _to_scale(updated)

    def _token(self, namespace: str, name: str, request: Obj) -> Obj:
        srv = self.api_server
        sa = lookup("", "serviceaccounts")
        assert sa is not None
        srv.store.get(sa, namespace, name)
        seconds = int((request.get("spec") or {}).get("expirationSeconds") or 3600)
        expires = (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": name, "namespace": namespace},
                "spec": request.get("spec") or {},
                "status": {"token": srv.tokens.mint(namespace, name),
                           "expirationTimestamp": expires}}

    def _access_review(self, review: Obj, user: User) -> Obj:
        attrs = (review.get("spec") or {}).get("resourceAttributes") or {}
        resource = attrs.get("resource", "")
        if attrs.get("subresource"):
            resource += "/" + attrs["subresource"]
        allowed = self.api_server.authorizer.allowed(
            user, attrs.get("verb", ""), attrs.get("group", ""), resource,
            attrs.get("namespace", ""), attrs.get("name", ""))
        review = dict(review)
        review.setdefault("metadata", {})
        review["apiVersion"] = "authorization.k8s.io/v1"
        review["kind"] = "SelfSubjectAccessReview"
        review["status"] = {"allowed": allowed}
        return review


def _page(items: list[Obj], limit: str, token: str) -> tuple[list[Obj], str, int]:
    """One page of a list (`limit`/`continue`): items after the token's (namespace, name)."""
    def key(obj: Obj) -> list[str]:
        return [obj["metadata"].get("namespace", ""), obj["metadata"]["name"]]
    if token:
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode()))
        except ValueError as exc:
            raise ApiError(400, "continue key is not valid") from exc
        items = [i for i in items if key(i) > after]
    if not limit or int(limit) <= 0 or len(items) <= int(limit):
        return items, "", 0
    page = items[: int(limit)]
    next_token = base64.urlsafe_b64encode(json.dumps(key(page[-1])).encode()).decode()
    return page, next_token, len(items) - len(page)


def _filtered_type(event: Event, predicate: Callable[[Obj], bool]) -> str | None:
    """The event type a selector-filtered watch sees: objects entering the selection are
    ADDED, objects leaving it DELETED (as the real watch cache reports them)."""
    if event.type != "MODIFIED" or event.old is None:
        return event.type if predicate(event.obj) else None
    was, now = predicate(event.old), predicate(event.obj)
    if was and now:
        return "MODIFIED"
    if now:
        return "ADDED"
    return "DELETED" if was else None


def _to_scale(obj: Obj) -> Obj:
    selector = (obj.get("spec") or {}).get("selector") or {}
    labels = selector.get("matchLabels") or {}
    meta = obj["metadata"]
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                              "creationTimestamp") if k in meta},
            "spec": {"replicas": obj["spec"].get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                       "selector": ",".join(f"{k}={v}" for k, v in labels.items())}}


def _statuses(pod: Obj) -> list[Obj]:
    status = pod.get("status") or {}
    return (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])


def _waiting_reason(pod: Obj, container: str) -> str:
    for cs in _statuses(pod):
        if cs.get("name") == container:
            waiting = (cs.get("state") or {}).get("waiting") or {}
            return waiting.get("reason") or "ContainerCreating"
    return "ContainerCreating"


def _container_finished(pod: Obj, container: str) -> bool:
    if pod["metadata"].get("deletionTimestamp") and (pod.get("status") or {}).get("phase") in (
            "Succeeded", "Failed"):
        return True
    for cs in _statuses(pod):
        if cs.get("name") == container:
            return "terminated" in (cs.get("state") or {})
    return False


def _flag(query: dict[str, list[str]], key: str) -> bool:
    return _one(query, key).lower() in ("true", "1")


def _one(query: dict[str, list[str]], key: str) -> str:
    values = query.get(key)
    return values[0] if values else ""


def _load(body: bytes, content_type: str = "") -> Any:
    if content_type.startswith("application/vnd.kubernetes.protobuf"):
        return protobuf.decode(body)
    try:
        return json.loads(body or b"{}")
    except ValueError as exc:
        raise ApiError(400, f"couldn't decode the request body as JSON: {exc}") from exc
