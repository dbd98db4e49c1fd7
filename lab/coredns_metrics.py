"""A CoreDNS pod's metrics endpoint: CoreDNS's exposition format, counters growing at known rates.

Names, labels, help and buckets as CoreDNS (1.11) writes them: ``plugin/metrics/vars/vars.go``
(``coredns_dns_requests_total{server,zone,view,proto,family,type}``,
``coredns_dns_responses_total{server,zone,view,rcode,plugin}``,
``coredns_dns_request_duration_seconds{server,zone,view}`` on ``plugin.TimeBuckets``),
``plugin/cache/metrics.go`` (``coredns_cache_requests_total``, ``coredns_cache_hits_total{type}``,
``coredns_cache_misses_total``) and ``plugin/pkg/proxy/metrics.go``
(``coredns_proxy_request_duration_seconds{proxy_name,to,rcode}``). Every counter is
``rate x seconds since start``, so a reader that takes two reads knows what to expect.

    with CorednsMetrics("127.0.20.1", 9153, qps=120) as pod: ...
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BUCKETS = [0.00025 * 2**i for i in range(16)]
"""``plugin.TimeBuckets``: exponential from 0.25 ms to about 8 s."""
SERVER = "dns://:53"


@dataclass
class Load:
    qps: float
    cache_hit: float = 0.8
    """Share of queries answered from the cache."""
    latency: float = 0.0005
    """Seconds each query takes to answer."""
    upstreams: dict[str, float] = field(default_factory=lambda: {"10.0.0.2:53": 0.012})
    """Upstream -> seconds per forwarded query (the cache misses go there, split evenly)."""
    servfail: float = 0.0


def _histogram(name: str, labels: str, count: float, seconds: float) -> list[str]:
    """``count`` observations of ``seconds`` each, on CoreDNS's buckets."""
    buckets = [f'{name}_bucket{{{labels},le="{le:g}"}} {count if le >= seconds else 0:.0f}' for le in BUCKETS]
    return [
        *buckets,
        f'{name}_bucket{{{labels},le="+Inf"}} {count:.0f}',
        f"{name}_sum{{{labels}}} {count * seconds:.6f}",
        f"{name}_count{{{labels}}} {count:.0f}",
    ]


def exposition(load: Load, seconds: float, *, base: float = 1000.0) -> str:
    """CoreDNS's text after ``seconds`` of ``load`` (counters start at ``base`` queries)."""
    queries = base + load.qps * seconds
    a, aaaa = queries * 0.5, queries * 0.5
    hits = queries * load.cache_hit
    misses = queries - hits
    out = [
        "# HELP coredns_build_info A metric with a constant '1' value labeled by version, revision, and goversion from which CoreDNS was built.",
        "# TYPE coredns_build_info gauge",
        'coredns_build_info{goversion="go1.20.7",revision="ae2bbc2",version="1.11.1"} 1',
        "# HELP coredns_cache_entries The number of elements in the cache.",
        "# TYPE coredns_cache_entries gauge",
        f'coredns_cache_entries{{server="{SERVER}",type="denial",view="",zones="."}} 112',
        f'coredns_cache_entries{{server="{SERVER}",type="success",view="",zones="."}} 431',
        "# HELP coredns_cache_hits_total The count of cache hits.",
        "# TYPE coredns_cache_hits_total counter",
        f'coredns_cache_hits_total{{server="{SERVER}",type="denial",view="",zones="."}} {hits * 0.1:.0f}',
        f'coredns_cache_hits_total{{server="{SERVER}",type="success",view="",zones="."}} {hits * 0.9:.0f}',
        "# HELP coredns_cache_misses_total The count of cache misses. Deprecated, derive misses from cache hits/requests counters.",
        "# TYPE coredns_cache_misses_total counter",
        f'coredns_cache_misses_total{{server="{SERVER}",view="",zones="."}} {misses:.0f}',
        "# HELP coredns_cache_requests_total The count of cache requests.",
        "# TYPE coredns_cache_requests_total counter",
        f'coredns_cache_requests_total{{server="{SERVER}",view="",zones="."}} {queries:.0f}',
        "# HELP coredns_dns_request_duration_seconds Histogram of the time (in seconds) each request took per zone.",
        "# TYPE coredns_dns_request_duration_seconds histogram",
    ]
    for zone, share in ((".", 0.4), ("cluster.local.", 0.6)):
        count = queries * share
        out += _histogram(
            "coredns_dns_request_duration_seconds",
            f'server="{SERVER}",view="",zone="{zone}"',
            count,
            load.latency,
        )
    out += [
        "# HELP coredns_dns_requests_total Counter of DNS requests made per zone, protocol and family.",
        "# TYPE coredns_dns_requests_total counter",
    ]
    for zone, share in ((".", 0.4), ("cluster.local.", 0.6)):
        for qtype, part in (("A", a), ("AAAA", aaaa)):
            labels = f'family="1",proto="udp",server="{SERVER}",type="{qtype}",view="",zone="{zone}"'
            out.append(f"coredns_dns_requests_total{{{labels}}} {part * share:.0f}")
    out += [
        "# HELP coredns_dns_responses_total Counter of response status codes.",
        "# TYPE coredns_dns_responses_total counter",
        f'coredns_dns_responses_total{{plugin="kubernetes",rcode="NOERROR",server="{SERVER}",view="",zone="cluster.local."}} {queries * 0.6:.0f}',
        f'coredns_dns_responses_total{{plugin="forward",rcode="NOERROR",server="{SERVER}",view="",zone="."}} {queries * (0.4 - load.servfail):.0f}',
        f'coredns_dns_responses_total{{plugin="forward",rcode="SERVFAIL",server="{SERVER}",view="",zone="."}} {queries * load.servfail:.0f}',
        "# HELP coredns_proxy_request_duration_seconds Histogram of the time each request took.",
        "# TYPE coredns_proxy_request_duration_seconds histogram",
    ]
    for to, latency in load.upstreams.items():
        count = misses / max(1, len(load.upstreams))
        out += _histogram(
            "coredns_proxy_request_duration_seconds",
            f'proxy_name="forward",rcode="NOERROR",to="{to}"',
            count,
            latency,
        )
    return "\n".join(out) + "\n"


class CorednsMetrics:
    """Serves :func:`exposition` of ``load`` on ``http://host:port/metrics`` (any other body: ``body``)."""

    def __init__(
        self, host: str, port: int = 9153, load: Load | None = None, *, body: str | None = None
    ) -> None:
        self.load = load or Load(qps=100.0)
        self.body = body
        self.started = time.monotonic()
        self.scrapes = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.scrapes += 1
                if self.path != "/metrics":
                    self.send_error(404)
                    return
                text = (
                    outer.body
                    if outer.body is not None
                    else exposition(outer.load, time.monotonic() - outer.started)
                )
                data = text.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CorednsMetrics:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
