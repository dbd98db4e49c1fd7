"""A short history of node readings, one sample per probe round, and the snapshot built from it.

Each sample reads every node source once (a few small files) and keeps the
round's race probes. The snapshot compares the oldest and newest samples of
the window, so "insert_failed is rising" is decided here, without Prometheus.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import structlog

from exporter.node.paths import NodePaths
from exporter.node.readers import SOURCES
from exporter.node.readers.conntrack import CONNTRACK
from exporter.node.readers.cpu import CPU, PRESSURE
from exporter.node.readers.netns import POD_NAMESPACES, PodNamespaces
from exporter.node.readers.resolv_conf import RESOLV_CONF, NodeResolvConf
from exporter.node.readers.snmp import SNMP, SNMP6
from exporter.node.readings import (
    Increases,
    NodeReadings,
    PodUdpTotals,
    RaceSummary,
    RaceTarget,
    ResolvConfChange,
)
from exporter.node.source import Source, describe, is_absent
from exporter.probe.engine import Round
from exporter.probe.race import RaceResult
from exporter.status import Status

log = structlog.get_logger(__name__)
T = TypeVar("T")

HISTORY = 5
"""Samples kept: with the default 15 s interval, about a minute of node history."""


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    values: dict[str, Any]
    """Collector name -> what its reader returned (absent when it failed)."""
    errors: dict[str, str]
    races: tuple[RaceResult, ...]


class NodeMonitor:
    """Reads every node source once per round and keeps the window's samples.

    :meth:`read` takes the files at the start of a round (so the round's targets can use
    the node's resolv.conf), :meth:`record` adds the round's race probes and rebuilds the
    snapshot. Scrapes render the last snapshot: unlike node_exporter, which reads per
    scrape, this agent works in rounds, and diagnosis compares the same samples.
    """

    def __init__(
        self,
        paths: Callable[[], NodePaths],
        status: Status,
        *,
        history: int = HISTORY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._paths = paths
        self._status = status
        self._clock = clock
        self._lock = threading.Lock()
        self._samples: deque[Sample] = deque(maxlen=history)
        self._sampled_paths: NodePaths | None = None
        self._change: ResolvConfChange | None = None
        self._readings: NodeReadings | None = None
        self._read: tuple[NodePaths, float, dict[str, Any], dict[str, str]] | None = None
        self._failing: dict[str, str] = {}
        self._pod_udp: PodUdpTotals | None = None

    def read(self) -> None:
        """Read every source now, for the round about to start.

        Each source's outcome goes to ``status`` under its collector name; a source that
        starts failing (or fails anew) is logged once: absent at debug, broken as a warning.
        """
        paths = self._paths()
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        with self._lock:
            last = self._samples[-1].values if self._samples and paths == self._sampled_paths else {}
        for name, source in SOURCES.items():
            started = time.perf_counter()
            try:
                values[name] = source.refresh(paths, last.get(name))
            except Exception as exc:  # noqa: BLE001 - a broken node file is data, never a crash
                errors[name] = describe(exc)
                self._log_failure(name, exc, errors[name])
            else:
                if self._failing.pop(name, None) is not None:
                    log.info("collector_recovered", collector=name)
            self._status.record(
                name, ok=name in values, duration=time.perf_counter() - started, error=errors.get(name)
            )
        with self._lock:
            self._read = (paths, self._clock(), values, errors)

    def record(self, round_: Round | None = None) -> NodeReadings:
        """Add the last read (made now if there is none), with the round's race probes, to the
        window and rebuild the snapshot."""
        if self._read is None:
            self.read()
        with self._lock:
            assert self._read is not None
            paths, at, values, errors = self._read
            self._read = None
            sample = Sample(at, values, errors, round_.races if round_ is not None else ())
            if paths != self._sampled_paths:  # another node root: its history says nothing of this one
                self._samples.clear()
                self._change = None
                self._pod_udp = None
                self._sampled_paths = paths
            self._note_change(sample)
            self._add_pod_udp(sample)
            self._samples.append(sample)
            self._readings = _snapshot(paths, tuple(self._samples), self._change, self._pod_udp)
            return self._readings

    def sample(self, round_: Round | None = None) -> NodeReadings:
        """Read every source now and record it with ``round_`` (``read`` then ``record``)."""
        self.read()
        return self.record(round_)

    def readings(self) -> NodeReadings | None:
        """The snapshot of the last sample; ``None`` before the first."""
        with self._lock:
            return self._readings

    def resolv_conf(self) -> NodeResolvConf:
        """The node's resolv.conf as last read; raises why it could not be read."""
        with self._lock:
            if self._read is not None:
                values, errors = self._read[2], self._read[3]
            elif self._samples:
                values, errors = self._samples[-1].values, self._samples[-1].errors
            else:
                values, errors = {}, {}
        conf = values.get(RESOLV_CONF.name)
        if isinstance(conf, NodeResolvConf):
            return conf
        raise ValueError(errors.get(RESOLV_CONF.name, "the node's resolv.conf has not been read yet"))

    def _log_failure(self, name: str, exc: Exception, error: str) -> None:
        if self._failing.get(name) == error:
            return
        self._failing[name] = error
        if is_absent(exc):
            log.debug("collector_no_data", collector=name, reason=error)
        else:
            log.warning("collector_failed", collector=name, error=error, error_type=type(exc).__name__)

    def _add_pod_udp(self, sample: Sample) -> None:
        """Add the pods' growth since the last sample that read their namespaces."""
        now = sample.values.get(POD_NAMESPACES.name)
        before = next(
            (
                s.values[POD_NAMESPACES.name]
                for s in reversed(self._samples)
                if POD_NAMESPACES.name in s.values
            ),
            None,
        )
        if not isinstance(now, PodNamespaces) or not isinstance(before, PodNamespaces):
            return
        totals = self._pod_udp or PodUdpTotals()
        self._pod_udp = PodUdpTotals(
            in_errors=totals.in_errors + pod_growth(before, now, "in_errors"),
            receive_buffer_errors=totals.receive_buffer_errors
            + pod_growth(before, now, "receive_buffer_errors"),
        )

    def _note_change(self, sample: Sample) -> None:
        now = sample.values.get(RESOLV_CONF.name)
        previous = next(
            (s.values[RESOLV_CONF.name] for s in reversed(self._samples) if RESOLV_CONF.name in s.values),
            None,
        )
        if isinstance(now, NodeResolvConf) and isinstance(previous, NodeResolvConf):
            before, after = previous.conf.nameservers, now.conf.nameservers
            if before != after:
                self._change = ResolvConfChange(before, after, now.modified, sample.at)
                log.warning("node_resolv_conf_changed", file=now.file, before=before, after=after)


def _snapshot(
    paths: NodePaths,
    samples: Sequence[Sample],
    change: ResolvConfChange | None,
    pod_udp: PodUdpTotals | None,
) -> NodeReadings:
    newest = samples[-1]
    values = newest.values
    return NodeReadings(
        procfs=paths.procfs,
        rootfs=paths.rootfs,
        taken_at=newest.at,
        samples=len(samples),
        values=dict(values),
        increases=_increases(samples) if len(samples) > 1 else None,
        race=_races(samples),
        resolv_conf_change=change,
        errors=dict(newest.errors),
        pod_udp=pod_udp,
    )


_CONNTRACK_GROWTH = ("insert_failed", "drop", "early_drop", "clash_resolve")
_NET_GROWTH = (
    "udp_in_errors",
    "udp_receive_buffer_errors",
    "udp_send_buffer_errors",
    "tcp_retransmitted_segments",
)


_UDP6_GROWTH = ("in_errors", "receive_buffer_errors")


def _values(samples: Sequence[Sample], source: Source[T]) -> list[T]:
    """What ``source`` read in each sample that has it, oldest first."""
    name = source.name
    return [cast(T, s.values[name]) for s in samples if name in s.values]


def _increase(values: Sequence[float | int | None]) -> int | None:
    """Growth of a counter over samples; a drop is a reset (reboot, module reload, 32-bit wrap).
    Samples without the counter (``None``) are left out."""
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return None
    total = 0.0
    for before, after in itertools.pairwise(known):
        total += after - before if after >= before else after
    return round(total)


def pod_growth(before: PodNamespaces, after: PodNamespaces, counter: str) -> int:
    """Growth of ``counter`` (IPv4 and IPv6) over the namespaces read in both; a namespace
    whose counter went down is a new one under a reused inode (its value is all growth)."""
    total = 0
    for inode, now in after.namespaces.items():
        then = before.namespaces.get(inode)
        if then is None:
            continue  # first seen: its past is not known to fall in this interval
        for new, old in ((now.udp, then.udp), (now.udp6, then.udp6)):
            if new is None or old is None:
                continue
            grown, was = getattr(new, counter), getattr(old, counter)
            total += grown - was if grown >= was else grown
    return total


def _pods_increase(samples: Sequence[Sample], counter: str) -> int | None:
    pods = _values(samples, POD_NAMESPACES)
    if len(pods) < 2:
        return None
    return sum(pod_growth(before, after, counter) for before, after in itertools.pairwise(pods))


def _increases(samples: Sequence[Sample]) -> Increases:
    conntrack = _values(samples, CONNTRACK)
    net = _values(samples, SNMP)
    net6 = _values(samples, SNMP6)
    cpu = _values(samples, CPU)
    pressure = [(s.at, s.values[PRESSURE.name]) for s in samples if PRESSURE.name in s.values]
    grown = {f"conntrack_{f}": _increase([getattr(c, f) for c in conntrack]) for f in _CONNTRACK_GROWTH}
    grown |= {f: _increase([getattr(n, f) for n in net]) for f in _NET_GROWTH}
    grown |= {f"udp6_{f}": _increase([getattr(n, f) for n in net6]) for f in _UDP6_GROWTH}
    grown |= {f"pod_udp_{f}": _pods_increase(samples, f) for f in _UDP6_GROWTH}
    return Increases(
        seconds=samples[-1].at - samples[0].at,
        **grown,
        cpu_busy_ratio=(
            _ratio(cpu[-1].busy - cpu[0].busy, cpu[-1].total - cpu[0].total) if len(cpu) > 1 else None
        ),
        cpu_pressure_ratio=(
            _ratio(float(pressure[-1][1]) - float(pressure[0][1]), pressure[-1][0] - pressure[0][0])
            if len(pressure) > 1
            else None
        ),
    )


def _ratio(part: float, whole: float) -> float | None:
    if whole <= 0 or part < 0:
        return None
    return min(part / whole, 1.0)


def _races(samples: Sequence[Sample]) -> RaceSummary:
    targets: dict[tuple[str, str, str], list[int]] = {}
    errors = 0
    for sample in samples:
        for race in sample.races:
            tally = targets.setdefault(race.key, [0, 0, 0])
            tally[0] += 1
            tally[1] += len(race.lost)
            tally[2] += len(race.sequential_lost)
            errors += race.error is not None
    rows = tuple(RaceTarget(p, s, n, *tally) for (p, s, n), tally in sorted(targets.items()))
    return RaceSummary(
        probes=sum(t.probes for t in rows),
        lost=sum(t.lost for t in rows),
        sequential_lost=sum(t.sequential_lost for t in rows),
        errors=errors,
        targets=rows,
    )
