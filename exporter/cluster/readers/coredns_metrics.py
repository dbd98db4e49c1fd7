"""Each CoreDNS pod's own metrics endpoint, read directly on the pod IP (not through the API).

The address is the ``prometheus`` plugin's in the Corefile (``prometheus :9153``; CoreDNS
serves one endpoint per address, so the first one written), else the container port named
``metrics`` in the pod spec, else CoreDNS's default 9153. Each read is bounded: a timeout
(``kubernetes.timeout``), at most :data:`MAX_BYTES` of text, a few pods at a time. A pod that
cannot be read, or whose text is not CoreDNS's, is named with its reason; the others still
count, and the collector reports 0 with the reasons (:class:`Partial`).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from exporter.cluster.model import CorednsPod, CorefileSource
from exporter.cluster.readers.context import Context, NoData, Partial
from exporter.cluster.traffic import BadExposition, PodCounters, Traffic, TrafficTracker, parse_counters
from exporter.corefile.parse import Corefile

DEFAULT_PORT = 9153
MAX_BYTES = 8 * 1024 * 1024
"""CoreDNS's text is some tens of kilobytes; a response past this is cut and counted as a failure."""
WORKERS = 8

Fetch = Callable[[str, float], str]


def prometheus_address(corefile: Corefile | None) -> tuple[str, int] | None:
    """Host and port of the Corefile's first ``prometheus`` address (``None``: no plugin)."""
    for _, directive in corefile.directives() if corefile else ():
        if directive.name == "prometheus":
            address = directive.args[0] if directive.args else "localhost:9153"
            host, _, port = address.rpartition(":") if ":" in address else (address, "", "")
            return host.strip("[]"), int(port) if port.isdigit() else DEFAULT_PORT
    return None


def _loopback(host: str) -> bool:
    """A ``prometheus`` address only the pod itself can reach (OpenShift: ``127.0.0.1:9153``)."""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fetch(url: str, timeout: float) -> str:
    request = urllib.request.Request(url, headers={"Accept": "text/plain;version=0.0.4"})  # noqa: S310 - http to a pod IP
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        body: bytes = response.read(MAX_BYTES + 1)
    if len(body) > MAX_BYTES:
        raise BadExposition(f"more than {MAX_BYTES} bytes")
    return body.decode("utf-8", errors="replace")


class MetricsReader:
    """The ``coredns_metrics`` step: reads every live CoreDNS pod and keeps the rates' history.

    ``settle`` (``doctor``, which reads once): when no pod was read before, read again after this
    many seconds, so a one-shot run has rates too (over that short a window, and says so).
    """

    def __init__(
        self,
        window: float,
        *,
        settle: float = 0.0,
        fetch: Fetch = fetch,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tracker = TrafficTracker(window)
        self._settle = settle
        self._fetch = fetch
        self._clock = clock

    def __call__(self, ctx: Context) -> Traffic:
        pods: tuple[CorednsPod, ...] | None = ctx.state.get("coredns_pods")
        if pods is None:
            raise NoData("the CoreDNS pods are not read")
        source: CorefileSource | None = ctx.state.get("corefile")
        address = prometheus_address(source.corefile) if source else None
        if source is not None and address is None:
            raise NoData("the Corefile has no prometheus plugin: CoreDNS exposes no metrics")
        if address is not None and _loopback(address[0]):
            raise NoData(
                f"the Corefile's prometheus plugin listens on the pod's loopback "
                f"({address[0]}:{address[1]}): no one outside the pod can read it (OpenShift "
                "publishes it through kube-rbac-proxy, TLS with a token); demand not measured"
            )
        port = address[1] if address else None
        # A container waiting to start (CrashLoopBackOff...) serves nothing: coredns_unavailable's to tell.
        live = [p for p in pods if not p.deleting and p.phase == "Running" and not p.waiting_reason]
        first = self.tracker.empty
        traffic, failed = self._read(ctx, live, port)
        if first and self._settle and len(failed) < len(live):
            time.sleep(self._settle)  # a one-shot run: the rate needs a second read
            traffic, failed = self._read(ctx, live, port)
        if failed:
            reasons = "; ".join(f"{name}: {why}" for name, why in sorted(failed.items()))
            raise Partial(traffic, f"{len(failed)} of {len(live)} pods unread: {reasons}")
        return traffic

    def _read(self, ctx: Context, live: list[CorednsPod], port: int | None) -> tuple[Traffic, dict[str, str]]:
        others = {
            p.name: f"kube-dns (image {p.image}): no CoreDNS counters to read; demand not measured"
            for p in live
            if not _coredns(p)
        }
        targets = {p.name: p for p in live if p.ip and p.name not in others}
        failed = {p.name: "no pod IP" for p in live if not p.ip and p.name not in others}

        def read(pod: CorednsPod) -> tuple[str, PodCounters | str]:
            where = port or pod.metrics_port or DEFAULT_PORT
            host = f"[{pod.ip}]" if ":" in (pod.ip or "") else pod.ip
            try:
                return pod.name, parse_counters(
                    self._fetch(f"http://{host}:{where}/metrics", ctx.k8s.timeout)
                )
            except BadExposition as exc:
                return pod.name, f"{host}:{where}: {exc}"
            except (OSError, urllib.error.URLError, ValueError) as exc:
                return pod.name, f"{host}:{where}: {_reason(exc)}"

        with ThreadPoolExecutor(max_workers=min(WORKERS, max(1, len(targets)))) as pool:
            results = list(pool.map(read, targets.values()))
        reads = [(name, value) for name, value in results if isinstance(value, PodCounters)]
        failed |= {name: value for name, value in results if isinstance(value, str)}
        traffic = self.tracker.update(self._clock(), reads, failed)
        return dataclasses.replace(traffic, unseen=others), failed


def _coredns(pod: CorednsPod) -> bool:
    """kube-dns (GKE) answers behind the same selector; its sidecars speak another exposition."""
    return not pod.kube_dns and "kube-dns" not in pod.image.rsplit("/", 1)[-1]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__
