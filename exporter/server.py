"""HTTP: /metrics, /diagnose, /healthz, /readyz and a landing page, on a thread of its own.

Handlers only read state that rounds have already written, so a scrape answers
in milliseconds whatever the probes are doing.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from exporter import __version__
from exporter.report import Report
from exporter.text import render_text

StartResponse = Callable[..., Any]
Environ = dict[str, Any]

_LANDING = """<!doctype html>
<html><head><title>k8s-dns-exporter</title></head>
<body><h1>k8s-dns-exporter {version}</h1>
<p>Probes every hop of the cluster DNS path and names the documented cause.</p>
<ul>
<li><a href="metrics">/metrics</a>: Prometheus metrics</li>
<li><a href="diagnose">/diagnose</a>: active causes and the latest probe results (JSON;
<a href="diagnose?format=text">text</a>, <a href="diagnose?format=text&amp;verbose=1">every probe</a>)</li>
<li><a href="healthz">/healthz</a>: liveness</li>
<li><a href="readyz">/readyz</a>: ready after the first probe round</li>
</ul></body></html>
"""


class Health:
    """What /healthz and /readyz answer from: the time of the last completed round.

    Live while a round finished within five intervals (at least a minute) of the
    interval in force, which a reloaded config may change.
    """

    def __init__(self, interval: Callable[[], float], last_round_end: Callable[[], float | None]) -> None:
        self._interval = interval
        self._last_round_end = last_round_end

    def ready(self) -> tuple[bool, str]:
        if self._last_round_end() is None:
            return False, "waiting for the first probe round"
        return True, "ok"

    def live(self) -> tuple[bool, str]:
        last = self._last_round_end()
        if last is not None and time.time() - last > max(5 * self._interval(), 60.0):
            return False, f"no probe round finished for {time.time() - last:.0f}s"
        return True, "ok"


class App:
    """The WSGI application."""

    def __init__(self, registry: CollectorRegistry, report: Callable[[], Report], health: Health) -> None:
        self._metrics = make_wsgi_app(registry)
        self._report = report
        self._health = health
        self._routes: dict[str, Callable[[Environ], tuple[str, str, str]]] = {
            "/": self._landing,
            "/diagnose": self._diagnose,
            "/healthz": self._healthz,
            "/readyz": self._readyz,
        }

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            return self._metrics(environ, start_response)  # type: ignore[no-any-return]
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _reply(start_response, "405 Method Not Allowed", "only GET\n")
        handler = self._routes.get(path)
        if handler is None:
            return _reply(start_response, "404 Not Found", "not found; see /\n")
        status, body, content_type = handler(environ)
        return _reply(start_response, status, body, content_type)

    def _diagnose(self, environ: Environ) -> tuple[str, str, str]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        report = self._report()
        if query.get("format", ["json"])[0] == "text":
            verbose = query.get("verbose", ["0"])[0] not in ("0", "", "false")
            return "200 OK", render_text(report, verbose=verbose), "text/plain"
        return "200 OK", json.dumps(report.as_dict(), indent=2) + "\n", "application/json"

    def _healthz(self, environ: Environ) -> tuple[str, str, str]:
        return _status(*self._health.live())

    def _readyz(self, environ: Environ) -> tuple[str, str, str]:
        return _status(*self._health.ready())

    def _landing(self, environ: Environ) -> tuple[str, str, str]:
        return "200 OK", _LANDING.format(version=__version__), "text/html"


def _status(ok: bool, why: str) -> tuple[str, str, str]:
    return ("200 OK" if ok else "503 Service Unavailable"), why + "\n", "text/plain"


def _reply(
    start_response: StartResponse, status: str, body: str, content_type: str = "text/plain"
) -> list[bytes]:
    data = body.encode()
    start_response(
        status,
        [("Content-Type", f"{content_type}; charset=utf-8"), ("Content-Length", str(len(data)))],
    )
    return [data]


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _ThreadingServer6(_ThreadingServer):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged: scrapes would flood the log."""


class HttpServer:
    """The WSGI app served on a daemon thread."""

    def __init__(self, host: str, port: int, app: App) -> None:
        server_class = _ThreadingServer6 if ":" in host else _ThreadingServer
        self._server = make_server(host, port, app, server_class, _QuietHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
