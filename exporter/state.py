"""The probe state: what rounds have accumulated, read by /metrics, /diagnose and diagnosis.

Rounds write, scrapes read, from different threads, so every access holds one
lock and readers get copies. A series exists only while its probe is planned:
after each round, counters and histograms of probes the round did not run (a
CoreDNS pod that went away, a server removed from the config) are dropped.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from exporter.probe.engine import Round
from exporter.probe.race import RaceResult
from exporter.probe.result import ProbeResult, Reason
from exporter.targets.plan import RACE_TYPES

LATENCY_BUCKETS: tuple[float, ...] = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
)
"""Seconds. Loopback and node-local answers land under 1 ms, in-cluster 1-10 ms, upstreams 10-250 ms."""

ProbeKey = tuple[str, str, str, str, str]
"""path, server, name, qtype, transport."""
HistogramKey = tuple[str, str]
"""path, server: both transports together, so a server costs one histogram (the series bound)."""
RaceKey = tuple[str, str, str]
"""path, server, name."""
RACE_QUERIES = 2 * len(RACE_TYPES)
"""Queries one race probe sends: the pair together, then the pair one by one."""


@dataclass(slots=True)
class Histogram:
    buckets: list[int]
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        index = bisect.bisect_left(LATENCY_BUCKETS, value)
        if index < len(self.buckets):
            self.buckets[index] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, float]]:
        running = 0
        out: list[tuple[str, float]] = []
        for bound, count in zip(LATENCY_BUCKETS, self.buckets, strict=True):
            running += count
            out.append((repr(bound), float(running)))
        out.append(("+Inf", float(self.count)))
        return out


@dataclass(slots=True)
class ProbeSeries:
    probes: int = 0
    failures: dict[Reason, int] = field(default_factory=dict)
    last: ProbeResult | None = None


@dataclass(slots=True)
class RaceSeries:
    """Race probes of one name on one server: how many ran, and answers lost per query type."""

    probes: int = 0
    lost: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RACE_TYPES, 0))
    sequential_lost: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RACE_TYPES, 0))

    def add(self, race: RaceResult) -> None:
        self.probes += 1
        for qtype in race.lost:
            self.lost[qtype] += 1
        for qtype in race.sequential_lost:
            self.sequential_lost[qtype] += 1

    def copy(self) -> RaceSeries:
        return RaceSeries(self.probes, dict(self.lost), dict(self.sequential_lost))


@dataclass(frozen=True, slots=True)
class ProbeView:
    """A consistent copy of the probe state, for one scrape or one diagnosis."""

    series: dict[ProbeKey, ProbeSeries]
    histograms: dict[HistogramKey, Histogram]
    queries_sent: dict[tuple[str, str], int]
    connects: dict[str, tuple[int, float]]
    """Per path: TCP connects made and the seconds they took, in all."""
    races: dict[RaceKey, RaceSeries]
    rounds: tuple[Round, ...]
    rounds_total: int
    rounds_skipped: int
    last_round_end: float | None
    last_round_duration: float | None


class ProbeState:
    def __init__(self, history: int = 60) -> None:
        self._lock = threading.Lock()
        self._series: dict[ProbeKey, ProbeSeries] = {}
        self._histograms: dict[HistogramKey, Histogram] = {}
        self._queries_sent: dict[tuple[str, str], int] = {}
        self._connects: dict[str, tuple[int, float]] = {}
        self._races: dict[RaceKey, RaceSeries] = {}
        self._rounds: deque[Round] = deque(maxlen=history)
        self._rounds_total = 0
        self._rounds_skipped = 0
        self._last_end: float | None = None
        self._last_duration: float | None = None

    def record(self, round_: Round) -> None:
        """Fold one round in, and drop every series the round did not probe."""
        with self._lock:
            live: set[ProbeKey] = set()
            live_histograms: set[HistogramKey] = set()
            tcp_paths: set[str] = set()
            for result in round_.results:
                key = result.key
                live.add(key)
                series = self._series.get(key)
                if series is None:
                    series = self._series[key] = ProbeSeries()
                series.probes += 1
                series.last = result
                if result.reason is not None:
                    series.failures[result.reason] = series.failures.get(result.reason, 0) + 1
                hkey = (result.path, result.server)
                live_histograms.add(hkey)
                if result.latency is not None:
                    histogram = self._histograms.get(hkey)
                    if histogram is None:
                        histogram = Histogram([0] * len(LATENCY_BUCKETS))
                        self._histograms[hkey] = histogram
                    histogram.observe(result.latency)
                sent_key = (result.path, result.transport)
                self._queries_sent[sent_key] = self._queries_sent.get(sent_key, 0) + result.queries
                if result.transport == "tcp":
                    tcp_paths.add(result.path)
                if result.connect is not None:
                    count, seconds = self._connects.get(result.path, (0, 0.0))
                    self._connects[result.path] = (count + 1, seconds + result.connect)
            self._record_races(round_.races)
            for key in self._series.keys() - live:
                del self._series[key]
            for hkey in self._histograms.keys() - live_histograms:
                del self._histograms[hkey]
            for path in self._connects.keys() - tcp_paths:
                del self._connects[path]
            self._rounds.append(round_)
            self._rounds_total += 1
            self._last_end = round_.started + round_.duration
            self._last_duration = round_.duration

    def keep(self, rounds: int) -> None:
        """Hold only the newest ``rounds`` rounds from now on (what diagnosis reads); older ones go now."""
        with self._lock:
            if rounds != self._rounds.maxlen:
                self._rounds = deque(self._rounds, maxlen=max(1, rounds))

    def _record_races(self, races: Sequence[RaceResult]) -> None:
        for race in races:
            series = self._races.get(race.key)
            if series is None:
                series = self._races[race.key] = RaceSeries()
            series.add(race)
            sent_key = (race.path, "udp")
            self._queries_sent[sent_key] = self._queries_sent.get(sent_key, 0) + RACE_QUERIES
        for key in self._races.keys() - {race.key for race in races}:
            del self._races[key]

    def skipped(self) -> None:
        """A round was due while the previous one still ran."""
        with self._lock:
            self._rounds_skipped += 1

    def rounds(self) -> tuple[Round, ...]:
        """The rounds kept (what diagnosis reads), oldest first."""
        with self._lock:
            return tuple(self._rounds)

    def last_round_end(self) -> float | None:
        """When the last round finished (Unix time); ``None`` before the first."""
        with self._lock:
            return self._last_end

    def view(self) -> ProbeView:
        with self._lock:
            return ProbeView(
                series={k: ProbeSeries(v.probes, dict(v.failures), v.last) for k, v in self._series.items()},
                histograms={
                    k: Histogram(list(v.buckets), v.total, v.count) for k, v in self._histograms.items()
                },
                queries_sent=dict(self._queries_sent),
                connects=dict(self._connects),
                races={k: v.copy() for k, v in self._races.items()},
                rounds=tuple(self._rounds),
                rounds_total=self._rounds_total,
                rounds_skipped=self._rounds_skipped,
                last_round_end=self._last_end,
                last_round_duration=self._last_duration,
            )
