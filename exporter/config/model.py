"""The typed, validated configuration. Code after loading trusts these values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PATHS: tuple[str, ...] = ("service", "pod", "nodelocal", "upstream", "resolver")
"""Probe paths, in the order a pod's query travels them (resolver last: it is the pod's view)."""

DIRECT_PATHS: tuple[str, ...] = ("service", "pod", "nodelocal", "upstream")
TRANSPORTS: tuple[str, ...] = ("udp", "tcp")
KINDS: tuple[str, ...] = ("internal", "external")
AUTO: Literal["auto"] = "auto"


@dataclass(frozen=True, slots=True, order=True)
class Server:
    """A DNS server address; ``str()`` is the ``server`` label value (``IP:port``)."""

    host: str
    port: int = 53

    def __str__(self) -> str:
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class ResolvConfTargets:
    """Probe every nameserver listed in a resolv.conf file, on ``port``."""

    file: str
    port: int = 53


TargetSpec = tuple[Server, ...] | ResolvConfTargets | Literal["auto"]
"""Where a direct path probes: a static list, a resolv.conf's nameservers, or discovery."""


@dataclass(frozen=True, slots=True)
class ResolverTarget:
    """The ``resolver`` path: a full lookup through a resolv.conf, search list and ndots applied."""

    file: str = "/etc/resolv.conf"
    port: int = 53


@dataclass(frozen=True, slots=True)
class Expect:
    """What a probe's answer must look like to count as a success."""

    rcode: str = "NOERROR"
    answers: frozenset[str] | None = None
    """Exact set of answer records (rdata text) of the asked type; ``None`` accepts any."""
    min_answers: int = 1
    """Least number of records of the asked type (only checked when ``rcode`` is NOERROR)."""


@dataclass(frozen=True, slots=True)
class NameSpec:
    """One name to resolve on every path it applies to."""

    name: str
    """As written; direct paths query it as an absolute name, ``resolver`` applies the search list."""
    qtype: str
    kind: Literal["internal", "external"]
    paths: frozenset[str]
    transports: tuple[str, ...] = TRANSPORTS
    expect: Expect = field(default_factory=Expect)
    race: bool = False
    """Also send A and AAAA at once from one socket, as glibc does (see node readers)."""

    @property
    def fqdn(self) -> str:
        return self.name if self.name.endswith(".") else self.name + "."


@dataclass(frozen=True, slots=True)
class PathsConfig:
    service: TargetSpec = ()
    pod: TargetSpec = ()
    nodelocal: TargetSpec = ()
    upstream: TargetSpec = ()
    resolver: ResolverTarget | None = None

    def direct(self) -> dict[str, TargetSpec]:
        return {
            "service": self.service,
            "pod": self.pod,
            "nodelocal": self.nodelocal,
            "upstream": self.upstream,
        }


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """Where the node's files are read: the host's procfs and root, mounted into the pod."""

    procfs: str = "/proc"
    rootfs: str = "/"


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a reading becomes evidence. Defaults follow the source guides and common practice."""

    conntrack_fill: float = 0.9
    """conntrack entries over the table's limit."""
    coredns_cpu: float = 0.8
    """CoreDNS CPU usage over its limit (or request when no limit is set)."""
    coredns_memory: float = 0.8
    node_cpu: float = 0.9
    """Usage over allocatable of a node hosting CoreDNS."""
    lookup_queries: int = 6
    """Queries one external lookup through the pod resolv.conf may cost before it is a problem.
    Kubernetes' own default (ndots:5, three search domains) costs 4."""


@dataclass(frozen=True, slots=True)
class DiagnosisConfig:
    window: int = 3
    """Probe rounds a diagnosis reads: a cause needs a steady fault, not one lost datagram."""
    runbook_url: str = "docs/runbooks"
    """Base of runbook links in doctor and /diagnose: ``<runbook_url>/<cause>.md``."""
    thresholds: Thresholds = field(default_factory=Thresholds)


@dataclass(frozen=True, slots=True)
class Config:
    mode: Literal["node", "cluster"] = "node"
    listen: tuple[str, int] = ("0.0.0.0", 9958)  # noqa: S104 - an exporter is scraped from outside
    interval: float = 15.0
    timeout: float = 2.0
    jitter: float = 1.5
    concurrency: int = 32
    transports: tuple[str, ...] = TRANSPORTS
    edns_payload: int | None = None
    """``None`` sends plain DNS like glibc's stub resolver (512-byte UDP limit)."""
    cluster_domain: str = "cluster.local"
    names: tuple[NameSpec, ...] = ()
    paths: PathsConfig = field(default_factory=PathsConfig)
    log: LogConfig = field(default_factory=LogConfig)
    node: NodeConfig = field(default_factory=NodeConfig)
    diagnosis: DiagnosisConfig = field(default_factory=DiagnosisConfig)
    source: str = "<defaults>"
    """The file this config came from, for messages."""
