"""What each cluster reader returns: plain frozen values, no API objects, no metrics."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from exporter.cluster.version import Version, text
from exporter.config import Server
from exporter.corefile.lint import ForwardRule, parse_target
from exporter.corefile.parse import Corefile
from exporter.targets.zones import ZoneTarget, absolute

KUBE_DNS_CONTAINER = "kubedns"

NO_KUBE_PROXY = "none"
"""The kube-proxy mode read where no kube-proxy runs: Services are routed by something else (Cilium's
kube-proxy replacement, OVN-Kubernetes, k3s's embedded proxy). Not an error: its causes do not apply."""


@dataclass(frozen=True, slots=True)
class Resources:
    """A container's requests and limits: CPU in cores, memory in bytes; ``None`` when unset."""

    cpu_request: float | None = None
    cpu_limit: float | None = None
    memory_request: float | None = None
    memory_limit: float | None = None


@dataclass(frozen=True, slots=True)
class CorednsPod:
    name: str
    node: str | None
    ip: str | None
    phase: str
    ready: bool
    restarts: int
    waiting_reason: str | None
    last_terminated_reason: str | None
    last_terminated_at: float | None
    start_time: float | None
    image: str
    version: Version | None
    labels: dict[str, str] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)
    """The pod's: requests summed over its containers, limits too when every container has one."""
    deleting: bool = False
    metrics_port: int | None = None
    """The container port named ``metrics`` in the pod spec, if any."""
    containers: tuple[str, ...] = ()
    """Its containers' names (``coredns``; ``kubedns``, ``dnsmasq``, ``sidecar`` for kube-dns)."""

    @property
    def kube_dns(self) -> bool:
        """A kube-dns pod (its ``kubedns`` container), not CoreDNS."""
        return KUBE_DNS_CONTAINER in self.containers

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "node": self.node,
            "ip": self.ip,
            "phase": self.phase,
            "ready": self.ready,
            "restarts": self.restarts,
            "waiting_reason": self.waiting_reason,
            "last_terminated_reason": self.last_terminated_reason,
            "last_terminated_at": self.last_terminated_at,
            "start_time": self.start_time,
            "image": self.image,
            "version": text(self.version),
            "containers": list(self.containers),
            "resources": {
                "cpu_request_cores": self.resources.cpu_request,
                "cpu_limit_cores": self.resources.cpu_limit,
                "memory_request_bytes": self.resources.memory_request,
                "memory_limit_bytes": self.resources.memory_limit,
            },
        }


@dataclass(frozen=True, slots=True)
class PodUsage:
    pod: str
    cpu_cores: float
    memory_bytes: float


@dataclass(frozen=True, slots=True)
class NodeUsage:
    node: str
    cpu_cores: float
    memory_bytes: float
    cpu_allocatable: float
    memory_allocatable: float

    @property
    def cpu_ratio(self) -> float:
        return self.cpu_cores / self.cpu_allocatable if self.cpu_allocatable else 0.0

    @property
    def memory_ratio(self) -> float:
        return self.memory_bytes / self.memory_allocatable if self.memory_allocatable else 0.0


@dataclass(frozen=True, slots=True)
class Usage:
    """metrics.k8s.io: the CoreDNS pods' usage and the usage of the nodes hosting them."""

    pods: tuple[PodUsage, ...]
    nodes: tuple[NodeUsage, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "pods": {u.pod: {"cpu_cores": u.cpu_cores, "memory_bytes": u.memory_bytes} for u in self.pods},
            "nodes": {
                n.node: {"cpu_ratio": round(n.cpu_ratio, 4), "memory_ratio": round(n.memory_ratio, 4)}
                for n in self.nodes
            },
        }


@dataclass(frozen=True, slots=True)
class KubeDnsService:
    name: str
    cluster_ips: tuple[str, ...]
    session_affinity: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cluster_ips": list(self.cluster_ips),
            "session_affinity": self.session_affinity,
        }


@dataclass(frozen=True, slots=True)
class CorefileSource:
    """The Corefile ConfigMap parsed with the ``coredns-custom`` keys it imports."""

    corefile: Corefile
    custom_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KubeDnsConfig:
    """The ``kube-dns`` ConfigMap of a cluster that runs kube-dns (not CoreDNS), as GKE does.

    ``stubDomains`` (JSON: domain -> nameservers) and ``upstreamNameservers`` (JSON list) are
    where kube-dns's dnsmasq forwards: a stub domain's servers answer for that domain, the
    upstreams for every other name (the node's resolv.conf when there are none).
    """

    present: bool
    stub_domains: tuple[tuple[str, tuple[str, ...]], ...] = ()
    upstream_nameservers: tuple[str, ...] = ()

    def upstream_servers(self) -> tuple[Server, ...]:
        """``upstreamNameservers`` as servers (what kube-dns forwards every other name to)."""
        return tuple(s for s in map(parse_target, self.upstream_nameservers) if s is not None)

    def zone_targets(self) -> tuple[ZoneTarget, ...]:
        """Each stub domain's nameservers, to be asked for that domain."""
        return tuple(
            ZoneTarget(absolute(domain), server)
            for domain, servers in self.stub_domains
            for server in map(parse_target, servers)
            if server is not None
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "stub_domains": {domain: list(servers) for domain, servers in self.stub_domains},
            "upstream_nameservers": list(self.upstream_nameservers),
        }


@dataclass(frozen=True, slots=True)
class NodeLocal:
    present: bool
    forwards: tuple[ForwardRule, ...] = ()
    """The forward rules of its Corefile (empty when its ConfigMap could not be read)."""

    def as_dict(self) -> dict[str, Any]:
        return {"present": self.present, "forwards": [f.as_dict() for f in self.forwards]}


@dataclass(frozen=True, slots=True)
class ServiceInventory:
    total: int
    tolerate_unready: tuple[str, ...]
    """``namespace/name`` of Services still annotated tolerate-unready-endpoints."""
    headless: frozenset[tuple[str, str]]
    names: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True, slots=True)
class StatefulSetMismatch:
    namespace: str
    name: str
    service_name: str
    problem: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "statefulset": f"{self.namespace}/{self.name}",
            "service_name": self.service_name,
            "problem": self.problem,
        }


@dataclass(frozen=True, slots=True)
class Policy:
    """A NetworkPolicy in the CoreDNS namespace, reduced to what matters for DNS."""

    name: str
    match_labels: dict[str, str]
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...]
    ingress: bool
    """It restricts ingress (policyTypes includes Ingress)."""
    ports: tuple[tuple[int | str, int | None], ...]
    """What its ingress rules admit from somewhere: (port number or named port, endPort or None);
    ``("*", None)`` for a rule that admits every port."""

    def admits(self, ports: Collection[int | str]) -> bool:
        """Whether some ingress rule admits one of ``ports`` (numbers, or the pods' port names)."""
        for port, end in self.ports:
            if port == "*" or port in ports:
                return True
            if (
                isinstance(port, int)
                and end is not None
                and any(isinstance(p, int) and port <= p <= end for p in ports)
            ):
                return True
        return False

    def selects(self, labels: dict[str, str]) -> bool:
        return selector_matches(self.match_labels, self.match_expressions, labels)


def selector_matches(
    match_labels: dict[str, str],
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...],
    labels: dict[str, str],
) -> bool:
    """Whether a label selector (``matchLabels`` and ``matchExpressions``) selects ``labels``."""
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    for key, operator, values in match_expressions:
        present = key in labels
        matched = {
            "In": present and labels[key] in values,
            "NotIn": not present or labels[key] not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(operator, False)
        if not matched:
            return False
    return True


@dataclass(frozen=True, slots=True)
class DisruptionBudget:
    """A PodDisruptionBudget in the CoreDNS namespace: what a drain may take at once."""

    name: str
    match_labels: dict[str, str]
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...]
    min_available: str | None
    max_unavailable: str | None
    disruptions_allowed: int

    def selects(self, labels: dict[str, str]) -> bool:
        return selector_matches(self.match_labels, self.match_expressions, labels)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "min_available": self.min_available,
            "max_unavailable": self.max_unavailable,
            "disruptions_allowed": self.disruptions_allowed,
        }


@dataclass(frozen=True, slots=True)
class Inventory:
    """Cluster size, as the cluster-proportional-autoscaler counts it."""

    nodes: int
    schedulable_nodes: int
    cores: float
    """Allocatable CPU of the nodes counted (schedulable ones unless configured otherwise)."""
    counted_nodes: int
    pods: int
    zones: dict[str, str] = field(default_factory=dict)
    """Node -> its ``topology.kubernetes.io/zone`` label (nodes without one left out)."""
    schedulable_cores: int = 0
    """Whole cores of the schedulable nodes, and of every node: what the autoscaler counts."""
    all_cores: int = 0


@dataclass(frozen=True, slots=True)
class PodDnsSample:
    """The DNS settings of a sample of running application pods (``kubernetes.sample_pods``)."""

    sampled: int
    """Pods read (running, not host-network, outside the CoreDNS namespace)."""
    cluster_first: int
    """Pods whose resolver is cluster DNS as kubelet sets it (dnsPolicy ClusterFirst)."""
    nodelocal: int
    """Pods whose dnsConfig lists the NodeLocal DNSCache address."""
    bypassing_total: int = 0
    """ClusterFirst pods whose dnsConfig does not list the NodeLocal address."""
    bypassing: tuple[str, ...] = ()
    """``namespace/name`` of ClusterFirst pods without the NodeLocal address (first 10)."""
    elsewhere: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(``namespace/name``, nameservers) of pods with dnsPolicy None that list neither cluster DNS nor
    NodeLocal (first 10)."""
    elsewhere_total: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "sampled": self.sampled,
            "cluster_first": self.cluster_first,
            "nodelocal": self.nodelocal,
            "bypassing_total": self.bypassing_total,
            "bypassing": list(self.bypassing),
            "elsewhere_total": self.elsewhere_total,
            "elsewhere": [{"pod": pod, "nameservers": list(servers)} for pod, servers in self.elsewhere],
        }
