"""What the node readers hand to diagnosis, ``/diagnose`` and ``doctor``: one frozen snapshot.

Counter values are since boot; :class:`Increases` says how much each grew over
the recent window of samples (one sample per probe round), so diagnosis can
tell "rising" without Prometheus.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, is_dataclass
from typing import Any, TypeVar, cast

from exporter.node.readers.conntrack import CONNTRACK, ConntrackStats
from exporter.node.readers.cpu import CPU, PRESSURE, CpuTimes
from exporter.node.readers.netns import POD_NAMESPACES, PodNamespaces
from exporter.node.readers.resolv_conf import RESOLV_CONF, NodeResolvConf
from exporter.node.readers.snmp import SNMP, SNMP6, NetStats, UdpCounters
from exporter.node.source import Source

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Increases:
    """Growth over the window; ``None`` where fewer than two samples had the counter."""

    seconds: float
    """From the oldest to the newest sample of the window."""
    conntrack_insert_failed: int | None = None
    conntrack_drop: int | None = None
    conntrack_early_drop: int | None = None
    conntrack_clash_resolve: int | None = None
    udp_in_errors: int | None = None
    udp_receive_buffer_errors: int | None = None
    udp_send_buffer_errors: int | None = None
    tcp_retransmitted_segments: int | None = None
    udp6_in_errors: int | None = None
    udp6_receive_buffer_errors: int | None = None
    pod_udp_in_errors: int | None = None
    """Growth in the pods' network namespaces (IPv4 and IPv6), over namespaces seen in
    consecutive samples."""
    pod_udp_receive_buffer_errors: int | None = None
    cpu_busy_ratio: float | None = None
    """Share of CPU time not idle (nor iowait) over the window, all CPUs."""
    cpu_pressure_ratio: float | None = None
    """Share of the window during which some task waited for a CPU (PSI)."""

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class RaceTarget:
    path: str
    server: str
    name: str
    probes: int
    lost: int
    """Answers lost when the pair went together."""
    sequential_lost: int


@dataclass(frozen=True, slots=True)
class RaceSummary:
    """The race probes of the window: the pair sent together against the pair sent one by one."""

    probes: int = 0
    lost: int = 0
    sequential_lost: int = 0
    errors: int = 0
    targets: tuple[RaceTarget, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "probes": self.probes,
            "lost": self.lost,
            "sequential_lost": self.sequential_lost,
            "errors": self.errors,
            "targets": [
                {
                    "path": t.path,
                    "server": t.server,
                    "name": t.name,
                    "probes": t.probes,
                    "lost": t.lost,
                    "sequential_lost": t.sequential_lost,
                }
                for t in self.targets
            ],
        }


@dataclass(frozen=True, slots=True)
class ResolvConfChange:
    """The node's nameservers changed while the exporter watched."""

    before: tuple[str, ...]
    after: tuple[str, ...]
    modified: float
    """The file's mtime after the change."""
    seen_at: float


@dataclass(frozen=True, slots=True)
class PodUdpTotals:
    """UDP losses in the pods' namespaces since the exporter started (IPv4 and IPv6): the growth
    of each namespace between consecutive samples, summed, so pods that go take nothing back."""

    in_errors: int = 0
    receive_buffer_errors: int = 0


@dataclass(frozen=True, slots=True)
class NodeReadings:
    procfs: str
    rootfs: str
    taken_at: float
    samples: int
    """Samples in the window (one per probe round)."""
    values: Mapping[str, object]
    """Collector name -> what its source read in the newest sample (absent when it failed);
    typed through :meth:`of` and the properties below."""
    increases: Increases | None
    """``None`` until two samples were taken."""
    race: RaceSummary
    resolv_conf_change: ResolvConfChange | None
    """The latest change of nameservers seen since the exporter started."""
    errors: dict[str, str]
    """Collector -> why it has no reading (file absent, or corrupt)."""
    pod_udp: PodUdpTotals | None = None
    """``None`` until the pods' namespaces were read twice."""

    def of(self, source: Source[T]) -> T | None:
        """What ``source`` read in the newest sample; ``None`` when it could not be read."""
        return cast("T | None", self.values.get(source.name))

    @property
    def conntrack(self) -> ConntrackStats | None:
        return self.of(CONNTRACK)

    @property
    def net(self) -> NetStats | None:
        return self.of(SNMP)

    @property
    def net6(self) -> UdpCounters | None:
        return self.of(SNMP6)

    @property
    def pod_namespaces(self) -> PodNamespaces | None:
        return self.of(POD_NAMESPACES)

    @property
    def cpu(self) -> CpuTimes | None:
        return self.of(CPU)

    @property
    def cpu_pressure_seconds(self) -> float | None:
        return self.of(PRESSURE)

    @property
    def resolv_conf(self) -> NodeResolvConf | None:
        return self.of(RESOLV_CONF)

    @property
    def fill_ratio(self) -> float | None:
        return self.conntrack.fill_ratio if self.conntrack is not None else None

    def as_dict(self) -> dict[str, Any]:
        laid_out = {
            CONNTRACK.name,
            SNMP.name,
            SNMP6.name,
            POD_NAMESPACES.name,
            CPU.name,
            PRESSURE.name,
            RESOLV_CONF.name,
        }
        return {
            "procfs": self.procfs,
            "rootfs": self.rootfs,
            "taken_at": self.taken_at,
            "samples": self.samples,
            "conntrack": _conntrack(self.conntrack),
            "net": _net(self.net),
            "net6": asdict(self.net6) if self.net6 is not None else None,
            "pod_namespaces": _pods(self.pod_namespaces, self.pod_udp),
            "cpu": {
                "seconds": dict(self.cpu.seconds) if self.cpu is not None else None,
                "pressure_seconds": self.cpu_pressure_seconds,
            },
            "increases": self.increases.as_dict() if self.increases is not None else None,
            "race": self.race.as_dict(),
            "resolv_conf": _resolv_conf(self.resolv_conf),
            "resolv_conf_change": _change(self.resolv_conf_change),
            "errors": dict(self.errors),
            # Sources the report does not lay out itself, as read.
            **{name: _plain(value) for name, value in self.values.items() if name not in laid_out},
        }


def _plain(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    return value


def _conntrack(stats: ConntrackStats | None) -> dict[str, Any] | None:
    if stats is None:
        return None
    return {
        "entries": stats.entries,
        "limit": stats.limit,
        "fill_ratio": stats.fill_ratio,
        "insert_failed": stats.insert_failed,
        "drop": stats.drop,
        "early_drop": stats.early_drop,
        "clash_resolve": stats.clash_resolve,
        "cpus": stats.cpus,
    }


def _net(stats: NetStats | None) -> dict[str, Any] | None:
    if stats is None:
        return None
    return {f.name: getattr(stats, f.name) for f in fields(stats)}


def _pods(pods: PodNamespaces | None, totals: PodUdpTotals | None) -> dict[str, Any] | None:
    if pods is None:
        return None
    return {
        "read": len(pods.namespaces),
        "failed": pods.failed,
        "skipped": pods.skipped,
        "processes": pods.processes,
        "since_start": asdict(totals) if totals is not None else None,
    }


def _resolv_conf(node: NodeResolvConf | None) -> dict[str, Any] | None:
    if node is None:
        return None
    return {
        "file": node.file,
        "nameservers": list(node.conf.nameservers),
        "search": list(node.conf.search),
        "options": list(node.conf.options),
        "modified": node.modified,
        "azure_dns_mixed": node.azure_dns_mixed,
        "warnings": list(node.conf.warnings),
    }


def _change(change: ResolvConfChange | None) -> dict[str, Any] | None:
    if change is None:
        return None
    return {
        "before": list(change.before),
        "after": list(change.after),
        "modified": change.modified,
        "seen_at": change.seen_at,
    }
