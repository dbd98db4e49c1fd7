"""One consistent view of everything the cluster readers last read: ``runtime.readings["cluster"]``.

Readers store their results in :class:`ClusterState` as they finish; diagnosis,
/diagnose, ``doctor`` and /metrics read :meth:`ClusterState.snapshot`, a frozen
:class:`ClusterReadings`. A reader that failed contributes ``None`` (and its
error), never a stale value.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from exporter.cluster.autoscaler import Autoscaler
from exporter.cluster.capacity import (
    REFERENCE_QPS_PER_CORE,
    Capacity,
    Demand,
    demand_replicas,
    headroom,
    linear_replicas,
    memory_recommended_bytes,
    size_replicas,
)
from exporter.cluster.model import (
    CorednsPod,
    CorefileSource,
    DisruptionBudget,
    Inventory,
    KubeDnsConfig,
    KubeDnsService,
    NodeLocal,
    PodDnsSample,
    Policy,
    ServiceInventory,
    StatefulSetMismatch,
    Usage,
)
from exporter.cluster.traffic import Traffic
from exporter.cluster.version import Version, text
from exporter.config import CapacityConfig
from exporter.corefile.lint import CorefileReport, analyse


@dataclass(frozen=True, slots=True)
class ClusterReadings:
    leader: bool
    pods: tuple[CorednsPod, ...] | None = None
    service: KubeDnsService | None = None
    corefile: CorefileReport | None = None
    custom_keys: tuple[str, ...] = ()
    kube_dns: KubeDnsConfig | None = None
    """kube-dns's ConfigMap (stub domains, upstreams): where kube-dns, not CoreDNS, serves."""
    nodelocal: NodeLocal | None = None
    kube_proxy_mode: str | None = None
    usage: Usage | None = None
    services: ServiceInventory | None = None
    statefulsets: tuple[StatefulSetMismatch, ...] | None = None
    policies: tuple[Policy, ...] | None = None
    inventory: Inventory | None = None
    capacity: Capacity | None = None
    pod_dns: PodDnsSample | None = None
    """DNS settings of sampled pods (``kubernetes.sample_pods``), ``None`` when off."""
    traffic: Traffic | None = None
    """What the CoreDNS pods' own metrics say they serve."""
    autoscaler: Autoscaler | None = None
    budgets: tuple[DisruptionBudget, ...] | None = None
    """PodDisruptionBudgets in the CoreDNS namespace."""
    endpoints_removed: tuple[tuple[str, float], ...] = ()
    """CoreDNS endpoints (``IP:port``) that left the EndpointSlices recently, and when."""
    errors: dict[str, str] = field(default_factory=dict)
    read_at: float = 0.0

    @property
    def live_pods(self) -> tuple[CorednsPod, ...]:
        return tuple(p for p in self.pods or () if not p.deleting and p.phase not in ("Succeeded", "Failed"))

    @property
    def version(self) -> Version | None:
        """The oldest CoreDNS version running (what the Corefile must work with)."""
        versions = [p.version for p in self.live_pods if p.version is not None]
        return min(versions) if versions else None

    @property
    def kube_dns_serves(self) -> bool:
        """The cluster DNS pods are kube-dns's (no CoreDNS, hence no Corefile)."""
        live = self.live_pods
        return bool(live) and all(p.kube_dns for p in live)

    @property
    def replica_nodes(self) -> int:
        return len({p.node for p in self.live_pods if p.node})

    @property
    def coredns_policies(self) -> tuple[Policy, ...]:
        """NetworkPolicies that select at least one CoreDNS pod."""
        return tuple(
            policy for policy in self.policies or () if any(policy.selects(p.labels) for p in self.live_pods)
        )

    @property
    def coredns_budgets(self) -> tuple[DisruptionBudget, ...]:
        """PodDisruptionBudgets that select at least one CoreDNS pod."""
        return tuple(b for b in self.budgets or () if any(b.selects(p.labels) for p in self.live_pods))

    def pod_at(self, host: str) -> CorednsPod | None:
        return next((p for p in self.live_pods if p.ip == host), None)

    def as_dict(self) -> dict[str, Any]:
        def maybe(value: Any) -> Any:
            return value.as_dict() if value is not None else None

        return {
            "leader": self.leader,
            "coredns": {
                "version": text(self.version),
                "replicas": len(self.live_pods) if self.pods is not None else None,
                "ready": sum(p.ready for p in self.live_pods) if self.pods is not None else None,
                "nodes": self.replica_nodes if self.pods is not None else None,
                "pods": [p.as_dict() for p in self.pods] if self.pods is not None else None,
            },
            "service": maybe(self.service),
            "corefile": maybe(self.corefile),
            "custom_configmap_keys": list(self.custom_keys),
            "kube_dns_config": maybe(self.kube_dns),
            "nodelocal": maybe(self.nodelocal),
            "kube_proxy_mode": self.kube_proxy_mode,
            "usage": maybe(self.usage),
            "tolerate_unready_services": list(self.services.tolerate_unready) if self.services else None,
            "statefulsets_service_mismatch": (
                [s.as_dict() for s in self.statefulsets] if self.statefulsets is not None else None
            ),
            "coredns_network_policies": (
                [p.name for p in self.coredns_policies] if self.policies is not None else None
            ),
            "capacity": maybe(self.capacity),
            "traffic": maybe(self.traffic),
            "coredns_disruption_budgets": (
                [b.as_dict() for b in self.coredns_budgets] if self.budgets is not None else None
            ),
            "pod_dns": maybe(self.pod_dns),
            "endpoints_removed": [{"server": s, "at": t} for s, t in self.endpoints_removed],
            "errors": dict(sorted(self.errors.items())),
            "read_at": self.read_at,
        }


class ClusterState:
    """The latest result of every cluster reader, shared between jobs and readers of the state.

    The readings are assembled (the Corefile analysed, capacity sized) once per change of
    a piece, not on every scrape, diagnosis or /diagnose.
    """

    def __init__(self, capacity: CapacityConfig) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._pieces: dict[str, Any] = {}
        self._errors: dict[str, str] = {}
        self._read_at = 0.0
        self._assembled: ClusterReadings | None = None
        """The readings of the current pieces; ``None`` after a change, until asked for."""

    def set(self, name: str, value: Any, error: str | None = None) -> None:
        """Keep ``value``; ``error`` says what a partial read left out."""
        with self._lock:
            self._pieces[name] = value
            if error is None:
                self._errors.pop(name, None)
            else:
                self._errors[name] = error
            self._read_at = time.time()
            self._assembled = None

    def get(self, name: str) -> Any:
        with self._lock:
            return self._pieces.get(name)

    def fail(self, name: str, error: str) -> None:
        with self._lock:
            self._pieces.pop(name, None)
            self._errors[name] = error
            self._assembled = None

    def clear(self) -> None:
        with self._lock:
            self._pieces.clear()
            self._errors.clear()
            self._assembled = None

    def snapshot(self, *, removed: tuple[tuple[str, float], ...] = ()) -> ClusterReadings:
        """The leader's readings, with the CoreDNS endpoints that left recently."""
        with self._lock:
            if self._assembled is None:
                self._assembled = assemble(
                    self._pieces, self._capacity, leader=True, errors=self._errors, read_at=self._read_at
                )
            assembled = self._assembled
        return dataclasses.replace(assembled, endpoints_removed=removed) if removed else assembled


def assemble(
    pieces: Mapping[str, Any],
    params: CapacityConfig,
    *,
    leader: bool,
    removed: tuple[tuple[str, float], ...] = (),
    errors: Mapping[str, str] | None = None,
    read_at: float = 0.0,
) -> ClusterReadings:
    """Combine the readers' pieces (keyed by reader name) into one :class:`ClusterReadings`."""
    pods: tuple[CorednsPod, ...] | None = pieces.get("coredns_pods")
    source: CorefileSource | None = pieces.get("corefile")
    versions = [p.version for p in pods or () if p.version is not None and not p.deleting]
    report = analyse(source.corefile, min(versions) if versions else None) if source else None
    readings = ClusterReadings(
        leader=leader,
        pods=pods,
        service=pieces.get("kube_dns_service"),
        corefile=report,
        custom_keys=source.custom_keys if source else (),
        kube_dns=pieces.get("kube_dns_config"),
        nodelocal=pieces.get("nodelocal"),
        kube_proxy_mode=pieces.get("kube_proxy"),
        usage=pieces.get("coredns_usage"),
        services=pieces.get("services"),
        statefulsets=pieces.get("statefulsets"),
        policies=pieces.get("network_policies"),
        inventory=pieces.get("inventory"),
        pod_dns=pieces.get("pod_dns"),
        traffic=pieces.get("coredns_metrics"),
        autoscaler=pieces.get("autoscaler"),
        budgets=pieces.get("disruption_budgets"),
        endpoints_removed=removed,
        errors=dict(errors or {}),
        read_at=read_at,
    )
    return _with_capacity(readings, params)


def _with_capacity(readings: ClusterReadings, params: CapacityConfig) -> ClusterReadings:
    inventory, services = readings.inventory, readings.services
    if readings.pods is None or inventory is None or services is None:
        return readings
    autopath = readings.corefile is not None and "autopath" in readings.corefile.plugins
    limits = [p.resources.memory_limit for p in readings.live_pods if p.resources.memory_limit]
    autoscaler = readings.autoscaler
    cores = (
        inventory.all_cores
        if autoscaler and autoscaler.include_unschedulable
        else inventory.schedulable_cores
    )
    nodes = (
        inventory.nodes if autoscaler and autoscaler.include_unschedulable else inventory.schedulable_nodes
    )
    demand = _demand(readings, inventory, params)
    capacity = Capacity(
        replicas=len(readings.live_pods),
        ready_replicas=sum(p.ready for p in readings.live_pods),
        nodes=inventory.counted_nodes,
        cores=inventory.cores,
        pods=inventory.pods,
        services=services.total,
        autopath=autopath,
        linear_replicas=linear_replicas(inventory.cores, inventory.counted_nodes, params),
        size_replicas=size_replicas(inventory.cores, inventory.counted_nodes, params),
        memory_recommended_bytes=memory_recommended_bytes(inventory.pods, services.total, autopath=autopath),
        memory_limit_bytes=min(limits) if limits else None,
        autoscaler=autoscaler,
        autoscaler_replicas=autoscaler.replicas(cores, nodes) if autoscaler else None,
        demand=demand,
        headroom=(
            headroom(
                demand.peak_qps,
                demand.qps_per_core * demand.cores_per_replica,
                {p.name: p.node for p in readings.live_pods},
                inventory.zones,
            )
            if demand
            else None
        ),
    )
    return dataclasses.replace(readings, capacity=capacity)


def cores_per_replica(pods: tuple[CorednsPod, ...]) -> tuple[float, str]:
    """The CPU one replica may use: its limit, else its request (the smallest among the pods)."""
    limits = [p.resources.cpu_limit for p in pods if p.resources.cpu_limit]
    if limits:
        return min(limits), "limit"
    requests = [p.resources.cpu_request for p in pods if p.resources.cpu_request]
    return (min(requests), "request") if requests else (1.0, "default")


def qps_per_core(traffic: Traffic, usage: Usage | None) -> float | None:
    """The pods' query rate over the CPU they use, where both are known."""
    cpu = {u.pod: u.cpu_cores for u in usage.pods} if usage else {}
    pairs = [(p.qps, cpu[p.pod]) for p in traffic.pods if p.qps is not None and cpu.get(p.pod)]
    queries, cores = sum(q for q, _ in pairs), sum(c for _, c in pairs)
    return queries / cores if queries > 0 and cores > 0 else None


def _demand(readings: ClusterReadings, inventory: Inventory, params: CapacityConfig) -> Demand | None:
    traffic = readings.traffic
    if traffic is None or traffic.peak_qps is None:
        return None
    measured = qps_per_core(traffic, readings.usage)
    per_core = measured or REFERENCE_QPS_PER_CORE
    cores, source = cores_per_replica(readings.live_pods)
    zones = len(set(inventory.zones.values()))
    base, replicas = demand_replicas(traffic.peak_qps, per_core, params.target_utilisation, cores, zones)
    return Demand(
        peak_qps=traffic.peak_qps,
        window=traffic.window,
        covered=traffic.covered,
        qps_per_core=per_core,
        qps_per_core_source="measured" if measured else "reference",
        target=params.target_utilisation,
        cores_per_replica=cores,
        cores_source=source,
        zones=zones,
        base_replicas=base,
        replicas=replicas,
    )
