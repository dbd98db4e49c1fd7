"""What each CoreDNS pod serves, from its own metrics endpoint: rates between reads, and the peak.

CoreDNS's ``prometheus`` plugin exposes counters (names and labels as CoreDNS defines
them in ``plugin/metrics/vars``, ``plugin/cache`` and ``plugin/pkg/proxy``):

* ``coredns_dns_requests_total{server,zone,view,proto,family,type}``: every query received;
* ``coredns_dns_responses_total{server,zone,view,rcode,plugin}``;
* ``coredns_dns_request_duration_seconds{server,zone,view}`` (histogram): time to answer;
* ``coredns_cache_requests_total`` / ``coredns_cache_hits_total{type}`` /
  ``coredns_cache_misses_total`` (the last deprecated in favour of requests minus hits);
* ``coredns_proxy_request_duration_seconds{proxy_name="forward",to,rcode}`` (CoreDNS >= 1.11),
  or ``coredns_forward_request_duration_seconds{to,rcode}`` before it.

One read of a pod gives :class:`PodCounters`; :class:`TrafficTracker` keeps the previous read
of each pod and the total rate of each read over ``window`` seconds (in memory only: a
restart of the exporter starts the window again, and :attr:`Traffic.covered` says how much
of it there is).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

REQUESTS = "coredns_dns_requests_total"
RESPONSES = "coredns_dns_responses_total"
DURATION = "coredns_dns_request_duration_seconds"
CACHE_REQUESTS = "coredns_cache_requests_total"
CACHE_HITS = "coredns_cache_hits_total"
CACHE_MISSES = "coredns_cache_misses_total"
FORWARD_DURATIONS = ("coredns_proxy_request_duration_seconds", "coredns_forward_request_duration_seconds")


class BadExposition(ValueError):
    """The endpoint's text is not CoreDNS's exposition format (or not Prometheus text at all)."""


@dataclass(frozen=True, slots=True)
class PodCounters:
    """One read of a CoreDNS pod's counters (sums over servers, zones and views)."""

    requests: float
    duration_sum: float = 0.0
    duration_count: float = 0.0
    cache_requests: float | None = None
    cache_hits: float = 0.0
    cache_misses: float = 0.0
    rcodes: dict[str, float] = field(default_factory=dict)
    forward: dict[str, tuple[float, float]] = field(default_factory=dict)
    """Upstream (``to``) -> (requests, seconds spent) of the forward plugin."""


def parse_counters(text: str) -> PodCounters:
    """CoreDNS's exposition text as :class:`PodCounters`; :class:`BadExposition` if it is not."""
    sums: dict[str, float] = {}
    rcodes: dict[str, float] = {}
    forward: dict[str, list[float]] = {}
    seen_requests = seen_cache_requests = False
    try:
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                name, labels, value = sample.name, sample.labels, float(sample.value)
                if name == REQUESTS:
                    seen_requests = True
                elif name == CACHE_REQUESTS:
                    seen_cache_requests = True
                elif name == RESPONSES:
                    rcodes[labels.get("rcode", "")] = rcodes.get(labels.get("rcode", ""), 0.0) + value
                    continue
                elif family.name in FORWARD_DURATIONS:
                    suffix = name.removeprefix(family.name)
                    if suffix in ("_count", "_sum") and labels.get("proxy_name", "forward") == "forward":
                        pair = forward.setdefault(labels.get("to", ""), [0.0, 0.0])
                        pair[suffix == "_sum"] += value
                    continue
                sums[name] = sums.get(name, 0.0) + value
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise BadExposition(f"not Prometheus text: {exc}") from None
    if not seen_requests:
        raise BadExposition(
            f"no {REQUESTS}: not a CoreDNS metrics endpoint (or its prometheus plugin is off)"
        )
    return PodCounters(
        requests=sums[REQUESTS],
        duration_sum=sums.get(DURATION + "_sum", 0.0),
        duration_count=sums.get(DURATION + "_count", 0.0),
        cache_requests=sums.get(CACHE_REQUESTS) if seen_cache_requests else None,
        cache_hits=sums.get(CACHE_HITS, 0.0),
        cache_misses=sums.get(CACHE_MISSES, 0.0),
        rcodes=rcodes,
        forward={to: (pair[0], pair[1]) for to, pair in forward.items()},
    )


@dataclass(frozen=True, slots=True)
class PodTraffic:
    """A pod's rates between its last two reads (``None`` until it has been read twice)."""

    pod: str
    qps: float | None
    cache_hit_ratio: float | None = None
    """Cache hits over cache lookups between the reads (``None``: no lookups, or no cache plugin)."""
    latency: float | None = None
    """Mean time CoreDNS took to answer, seconds, between the reads."""
    forward_latency: dict[str, float] = field(default_factory=dict)
    """Upstream -> mean time of a forwarded query between the reads."""
    servfail_ratio: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "qps": _round(self.qps),
            "cache_hit_ratio": _round(self.cache_hit_ratio),
            "latency_seconds": _round(self.latency, 6),
            "forward_latency_seconds": {to: round(s, 6) for to, s in sorted(self.forward_latency.items())},
            "servfail_ratio": _round(self.servfail_ratio),
        }


@dataclass(frozen=True, slots=True)
class Traffic:
    """Demand measured at the CoreDNS pods: the latest rates and the peak of the window."""

    pods: tuple[PodTraffic, ...]
    failed: dict[str, str]
    """Pod -> why its metrics could not be read this time."""
    qps: float | None
    """Total of the pods' rates at the last read (``None`` until a pod has been read twice)."""
    peak_qps: float | None
    window: float
    """The configured peak window, seconds."""
    covered: float
    """Seconds of that window actually measured (since the first rate, at most ``window``)."""
    unseen: dict[str, str] = field(default_factory=dict)
    """Pod -> why it is not read at all (kube-dns: no CoreDNS counters); not a failure."""

    def pod(self, name: str) -> PodTraffic | None:
        return next((p for p in self.pods if p.pod == name), None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "qps": _round(self.qps),
            "peak_qps": _round(self.peak_qps),
            "peak_window_seconds": self.window,
            "peak_window_covered_seconds": round(self.covered, 1),
            "pods": {p.pod: p.as_dict() for p in self.pods},
            "failed": dict(sorted(self.failed.items())),
            "unseen": dict(sorted(self.unseen.items())),
        }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole > 0 else None


def rates(pod: str, before: PodCounters, after: PodCounters, seconds: float) -> PodTraffic | None:
    """The pod's rates between two reads; ``None`` if a counter went back (CoreDNS restarted)."""
    if seconds <= 0 or after.requests < before.requests:
        return None
    lookups_before = before.cache_requests
    if lookups_before is None or after.cache_requests is None:
        lookups = (after.cache_hits + after.cache_misses) - (before.cache_hits + before.cache_misses)
    else:
        lookups = after.cache_requests - lookups_before
    answered = after.duration_count - before.duration_count
    forward = {}
    for to, (count, spent) in after.forward.items():
        old = before.forward.get(to, (0.0, 0.0))
        if count - old[0] > 0:
            forward[to] = (spent - old[1]) / (count - old[0])
    responses = sum(after.rcodes.values()) - sum(before.rcodes.values())
    servfails = after.rcodes.get("SERVFAIL", 0.0) - before.rcodes.get("SERVFAIL", 0.0)
    return PodTraffic(
        pod=pod,
        qps=(after.requests - before.requests) / seconds,
        cache_hit_ratio=_ratio(after.cache_hits - before.cache_hits, lookups),
        latency=_ratio(after.duration_sum - before.duration_sum, answered),
        forward_latency=forward,
        servfail_ratio=_ratio(servfails, responses),
    )


class TrafficTracker:
    """The previous read of each pod, and the total rate of each read over the peak window."""

    def __init__(self, window: float) -> None:
        self.window = window
        self._lock = threading.Lock()
        self._last: dict[str, tuple[float, PodCounters]] = {}
        self._totals: deque[tuple[float, float]] = deque()
        self._first: float | None = None

    @property
    def empty(self) -> bool:
        """No pod read yet (or since :meth:`clear`)."""
        with self._lock:
            return not self._last

    def update(self, now: float, reads: Iterable[tuple[str, PodCounters]], failed: dict[str, str]) -> Traffic:
        """Record one read of every pod (``reads``) at ``now`` (a monotonic clock)."""
        with self._lock:
            pods = []
            seen = set()
            for name, counters in reads:
                seen.add(name)
                previous = self._last.get(name)
                self._last[name] = (now, counters)
                measured = rates(name, previous[1], counters, now - previous[0]) if previous else None
                pods.append(measured or PodTraffic(name, None))
            for gone in set(self._last) - seen - set(failed):
                del self._last[gone]
            known = [p.qps for p in pods if p.qps is not None]
            total = sum(known) if known else None
            if total is not None:
                self._first = now if self._first is None else self._first
                self._totals.append((now, total))
            while self._totals and self._totals[0][0] < now - self.window:
                self._totals.popleft()
            peak = max((q for _, q in self._totals), default=None)
            covered = min(now - self._first, self.window) if self._first is not None else 0.0
            return Traffic(
                tuple(sorted(pods, key=lambda p: p.pod)), dict(failed), total, peak, self.window, covered
            )

    def clear(self) -> None:
        with self._lock:
            self._last.clear()
            self._totals.clear()
            self._first = None
