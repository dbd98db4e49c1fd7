"""The typed, validated configuration. Code after loading trusts these values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from exporter.hops import DIRECT, Hop

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

    DEFAULT_QTYPE: ClassVar[str] = "A"
    """``qtype`` of a name written without ``type`` (not a field default: ``kind`` and ``paths``
    after it have none, the loader infers them from the name)."""

    name: str
    """As written; direct paths query it as an absolute name, ``resolver`` applies the search list."""
    qtype: str
    kind: Literal["internal", "external"]
    paths: frozenset[Hop]
    transports: tuple[str, ...] = TRANSPORTS
    expect: Expect = field(default_factory=Expect)
    race: bool = False
    """Also send A and AAAA at once from one socket, as glibc does (see node readers)."""

    @property
    def fqdn(self) -> str:
        return self.name if self.name.endswith(".") else self.name + "."


@dataclass(frozen=True, slots=True)
class PathsConfig:
    """Where each hop probes: the targets of the direct hops configured, and the resolver's file."""

    targets: Mapping[Hop, TargetSpec] = field(default_factory=dict)
    """Direct hop -> where it probes; a hop not listed probes nothing."""
    resolver: ResolverTarget | None = None

    def direct(self) -> dict[Hop, TargetSpec]:
        """Every direct hop, in path order, with its targets (``()``: not probed)."""
        return {hop: self.targets.get(hop, ()) for hop in DIRECT}

    def __getitem__(self, hop: str) -> TargetSpec:
        """The targets of one direct hop (``()`` when it is not configured)."""
        return self.targets.get(Hop(hop), ())


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
class LeaseConfig:
    """The ``coordination.k8s.io`` Lease that elects the one reporting cluster instance."""

    name: str = "k8s-dns-exporter"
    namespace: str = "kube-system"
    duration: float = 15.0
    """How long a lease holds without renewal before a standby may take it."""
    renew_deadline: float = 10.0
    """The leader steps down when it could not renew for this long."""
    retry_period: float = 2.0
    identity: str | None = None
    """``None``: ``$POD_NAME`` (else the host name) plus a random suffix."""


@dataclass(frozen=True, slots=True)
class CapacityConfig:
    """The linear rule's parameters (the cluster-proportional-autoscaler's linear formula), and demand's."""

    cores_per_replica: float = 256.0
    nodes_per_replica: float = 16.0
    min_replicas: int = 2
    max_replicas: int = 0
    """0: no upper bound."""
    include_unschedulable_nodes: bool = False
    target_utilisation: float = 0.7
    """Demand: the share of each replica's CPU the peak may use."""
    peak_window: float = 86400.0
    """Demand: the peak query rate is the highest of this window (kept in memory)."""
    autoscaler_configmaps: tuple[str, ...] = ("coredns-autoscaler", "kube-dns-autoscaler")
    """The cluster-proportional-autoscaler's ConfigMap, first found, in the CoreDNS namespace."""


@dataclass(frozen=True, slots=True)
class KubernetesConfig:
    """How to reach the Kubernetes API, and where CoreDNS and its neighbours live in it."""

    config: Literal["off", "in-cluster", "kubeconfig"] = "off"
    kubeconfig: str | None = None
    context: str | None = None
    namespace: str = "kube-system"
    service: str = "kube-dns"
    pod_selector: str = "k8s-app=kube-dns"
    corefile_configmap: str = "coredns"
    custom_configmap: str = "coredns-custom"
    kube_proxy_configmap: str = "kube-proxy"
    kube_dns_configmap: str = "kube-dns"
    """kube-dns's own ConfigMap (stub domains, upstream nameservers) where kube-dns runs, not CoreDNS."""
    nodelocal_daemonset: str = "node-local-dns"
    nodelocal_configmap: str = "node-local-dns"
    nodelocal_address: Server | None = None
    """Where NodeLocal DNSCache listens; ``None``: discovered (``-localip``, ``bind``, else 169.254.20.10)."""
    interval: float = 30.0
    """Cluster readers (CoreDNS pods, usage, ConfigMaps) run this often."""
    inventory_interval: float = 300.0
    """Cluster-wide lists (nodes, pods, Services, StatefulSets) run this often."""
    refresh: float = 300.0
    """Discovery re-reads the Service, the NodeLocal DaemonSet and the Corefile this often."""
    timeout: float = 10.0
    qps: float = 5.0
    page_size: int = 500
    sample_pods: int = 0
    """Cluster mode: read the DNS settings of up to this many running pods each inventory (0: off).
    What pods use (dnsPolicy, dnsConfig) tells a bypassed NodeLocal DNSCache or a pod pointed away
    from cluster DNS; it costs one list of this many pods."""
    lease: LeaseConfig = field(default_factory=LeaseConfig)
    capacity: CapacityConfig = field(default_factory=CapacityConfig)

    @property
    def enabled(self) -> bool:
        return self.config != "off"

    @property
    def kube_proxy_configmaps(self) -> tuple[str, ...]:
        """Where kube-proxy's KubeProxyConfiguration is looked for, in order: the configured
        ConfigMap, then ``kube-proxy-config`` (the EKS add-on's; its ``kube-proxy`` holds a kubeconfig)."""
        return tuple(dict.fromkeys((self.kube_proxy_configmap, "kube-proxy-config")))


@dataclass(frozen=True, slots=True)
class Config:
    mode: Literal["node", "cluster"] = "node"
    vantage: Literal["pod", "node"] = "pod"
    """Where the agent's probes leave from: the pod network (what pods see), or the node's own
    network namespace (``hostNetwork``: the node-vantage DaemonSet, ``exporter.vantage``)."""
    listen: tuple[str, int] = ("0.0.0.0", 9958)  # noqa: S104 - an exporter is scraped from outside
    interval: float = 15.0
    timeout: float = 2.0
    jitter: float = 1.5
    """Unless written, a tenth of ``interval`` in whole milliseconds (the loader computes it)."""
    concurrency: int = 32
    pods_per_round: int = 3
    """CoreDNS pods one round probes at most: a pod on the agent's own node, the others in a
    rotation that visits every pod (``exporter.targets.selection``); 0 probes every pod."""
    upstreams_per_round: int = 0
    """Upstream servers one round probes at most, in rotation (each upstream at least once in
    ``ceil(U / upstreams_per_round)`` rounds); 0 probes them all every round (one cluster instance
    can; the shipped node agent, on every node, takes them in turn)."""
    transports: tuple[str, ...] = TRANSPORTS
    edns_payload: int | None = None
    """``None`` sends plain DNS like glibc's stub resolver (512-byte UDP limit)."""
    cluster_domain: str = "cluster.local"
    names: tuple[NameSpec, ...] = ()
    paths: PathsConfig = field(default_factory=PathsConfig)
    log: LogConfig = field(default_factory=LogConfig)
    node: NodeConfig = field(default_factory=NodeConfig)
    diagnosis: DiagnosisConfig = field(default_factory=DiagnosisConfig)
    kubernetes: KubernetesConfig = field(default_factory=KubernetesConfig)
    source: str = "<defaults>"
    """The file this config came from, for messages."""
