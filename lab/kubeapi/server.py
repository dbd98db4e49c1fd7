"""An HTTPS server that speaks enough of the Kubernetes API for the exporter and the real client.

It serves get, list (label selectors, ``limit``/``continue`` pagination with
``remainingItemCount``), watch (chunked streams of ADDED/MODIFIED/DELETED,
BOOKMARK every ``bookmark_every`` seconds, 410 Gone from a compacted
resourceVersion), create and replace with resourceVersion conflicts (409),
delete, and metrics.k8s.io. It checks the bearer token, and can be told to
answer 403 for a resource, to not serve a group, or to go away and come back
on the same port (an API outage). Every request is logged for assertions, a
watch with the number of bookmarks it was sent.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from lab.kubeapi.certs import TLSFiles
from lab.kubeapi.handlers import handle, status_body
from lab.kubeapi.store import Store

TOKEN = "test-token-4f1c2a"  # noqa: S105 - the test API's own bearer token


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    status: int = 0
    bookmarks: int = 0
    """BOOKMARK events sent so far on this request (a watch)."""


@dataclass
class Faults:
    forbidden: set[str] = field(default_factory=set)
    """``group/resource`` (``/pods`` for the core group) answered with 403."""
    absent: set[str] = field(default_factory=set)
    """groupVersions not served at all (404 page not found), e.g. ``metrics.k8s.io/v1beta1``."""
    expire_continues: int = 0
    """The next this-many continue tokens are refused with 410 Expired."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: KubeAPI) -> None:
        self.api = api
        self.connections: set[socket.socket] = set()
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            tls = self.api.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        self.connections.add(tls)  # the TLS socket owns the descriptor now
        try:
            super().finish_request(tls, client_address)
        finally:
            self.connections.discard(tls)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that go away mid-stream are normal here

    def close_connections(self) -> None:
        for conn in list(self.connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self.connections.clear()


class KubeAPI:
    def __init__(self, tls: TLSFiles, *, host: str = "127.0.0.1", token: str = TOKEN) -> None:
        self.tls = tls
        self.host = host
        self.token = token
        self.store = Store()
        self.faults = Faults()
        self.requests: list[Request] = []
        self.bookmark_every = 1.0
        self.watch_cap = 30.0
        self.watch_generation = 0
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(tls.server_cert, tls.server_key)
        self.port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._snapshots: dict[str, tuple[list[dict[str, Any]], int]] = {}

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def start(self) -> KubeAPI:
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut every open connection (watches included)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        self.end_watches()
        self._server = None

    @contextmanager
    def outage(self) -> Iterator[None]:
        self.stop()
        try:
            yield
        finally:
            self.start()

    def __enter__(self) -> KubeAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def end_watches(self) -> None:
        with self.store.lock:
            self.watch_generation += 1
            self.store.lock.notify_all()

    def compact(self) -> None:
        """Every resourceVersion seen so far becomes too old: open watches end with 410, re-watches get 410."""
        self.store.compact()
        self.end_watches()

    def kubeconfig(self, path: Path, *, token: str | None = None, context: str = "test") -> Path:
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "test",
                    "cluster": {"server": self.url, "certificate-authority": str(self.tls.ca_cert)},
                }
            ],
            "users": [{"name": "exporter", "user": {"token": token or self.token}}],
            "contexts": [{"name": context, "context": {"cluster": "test", "user": "exporter"}}],
            "current-context": context,
        }
        path.write_text(json.dumps(doc, indent=2))
        return path

    def watches(self, resource: str) -> list[Request]:
        return [
            r for r in self.requests if r.params.get("watch") == "true" and r.path.endswith("/" + resource)
        ]

    def take_snapshot(self, items: list[dict[str, Any]], version: int) -> str:
        token = base64.urlsafe_b64encode(f"{len(self._snapshots)}:{time.monotonic()}".encode()).decode()
        self._snapshots[token] = (items, version)
        return token

    def snapshot(self, token: str) -> tuple[list[dict[str, Any]], int] | None:
        if self.faults.expire_continues > 0:
            self.faults.expire_continues -= 1
            return None
        return self._snapshots.get(token)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        api = self.server.api
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        request = Request(method, url.path, params)
        api.requests.append(request)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.headers.get("Authorization") != f"Bearer {api.token}":
            request.status = 401
            self.send_json(401, status_body(401, "Unauthorized", "Unauthorized"))
            return
        handle(self, api, request, body)

    def send_json(self, code: int, doc: dict[str, Any]) -> None:
        data = json.dumps(doc).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_text(self, code: int, text: str) -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def chunk(self, doc: dict[str, Any]) -> None:
        data = json.dumps(doc).encode() + b"\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        self.close_connection = True
