"""A real S3 HTTP server on loopback for the tests: moto's server behind a recording proxy.

The proxy forwards every request to moto unchanged and records what the *server side* saw
(method, path, query, body bytes, status), so tests count PUTs and uploaded bytes without
touching boto3. It can also misbehave on purpose: answer ``503 SlowDown`` (throttling), or go
away in the middle of a multipart upload (``stop_after_parts``) and come back on the same port
with moto's state intact, the way a restarted MinIO keeps its data on disk.
"""

from __future__ import annotations

import http.client
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "te",
              "upgrade", "trailer"}

SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
             b"<Message>Please reduce your request rate.</Message></Error>")


@dataclass(frozen=True)
class Seen:
    """One request as the server side saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    body_bytes: int
    status: int

    @property
    def is_part(self) -> bool:
        return self.method == "PUT" and "partNumber" in self.query


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RecordingProxy:
    """An HTTP proxy on 127.0.0.1 in front of ``upstream`` (host, port)."""

    def __init__(self, upstream: tuple[str, int], port: int | None = None) -> None:
        self.upstream = upstream
        self.port = port or free_port()
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.throttle_methods: set[str] = set()
        self.stop_after_parts: int | None = None
        self.parts_forwarded = 0
        self.stopped = threading.Event()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.stopped.clear()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop listening; requests on open connections are dropped unanswered."""
        self.stopped.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def reset(self) -> None:
        with self.lock:
            self.seen.clear()

    def record(self, seen: Seen) -> None:
        with self.lock:
            self.seen.append(seen)

    def requests(self, method: str | None = None) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if method is None or s.method == method]

    def put_bytes(self) -> int:
        return sum(s.body_bytes for s in self.requests("PUT"))


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))


def _handler_for(proxy: RecordingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
            pass

        def drop(self) -> None:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def forward(self) -> None:
            if proxy.stopped.is_set():
                self.drop()
                return
            body = _read_body(self)
            url = urlsplit(self.path)
            query = parse_qs(url.query, keep_blank_values=True)
            limit = proxy.stop_after_parts
            if self.command == "PUT" and "partNumber" in query and limit is not None:
                with proxy.lock:
                    proxy.parts_forwarded += 1
                    over = proxy.parts_forwarded > limit
                if over:
                    # The server "dies" mid-upload: this part is never answered.
                    proxy.stopped.set()
                    threading.Thread(target=proxy.stop, daemon=True).start()
                    self.drop()
                    return
            if self.command in proxy.throttle_methods:
                proxy.record(Seen(self.command, url.path, query, len(body), 503))
                self.send_response(503)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(SLOW_DOWN)))
                self.end_headers()
                self.wfile.write(SLOW_DOWN)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
            try:
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                payload = response.read()
                proxy.record(Seen(self.command, url.path, query, len(body), response.status))
                self.send_response_only(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                length = response.getheader("Content-Length")
                if self.command == "HEAD":
                    self.send_header("Content-Length", length or "0")
                else:
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
            finally:
                upstream.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = forward

    return Handler
