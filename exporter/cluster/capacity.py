"""How many CoreDNS replicas the measured demand, the running autoscaler and the cluster's size call for.

Side by side, each with its inputs:

* **demand**: ``ceil(peak QPS / (QPS per core x target utilisation x cores per replica))``
  replicas carry the peak of the window at the target; one more so the loss of a replica
  keeps them under it, and as many more as the loss of the zone holding the most of them
  takes (replicas spread over the zones of the schedulable nodes). QPS per core is measured
  (the pods' query rate over their CPU from metrics.k8s.io), or, when it cannot be, the
  reference figure of CoreDNS's scaling notes; cores per replica are the CPU limit, else the
  request (what the scheduler sets aside: kubeadm and EKS set no limit);
* the **autoscaler** actually running (:mod:`exporter.cluster.autoscaler`), if any;

* the cluster-proportional-autoscaler *linear* mode, as it runs for CoreDNS:
  ``replicas = max(ceil(cores / coresPerReplica), ceil(nodes / nodesPerReplica))``,
  capped at ``max`` (when set) and then raised to ``min``; cores are the
  allocatable CPU of the schedulable nodes;
* the CoreDNS memory sizing rule for the ``kubernetes`` plugin: each replica
  needs ``(pods + services) / 1000 + 54`` MiB, or ``/ 250 + 56`` MiB with
  ``autopath`` (which caches every pod). Replicas do not share this cost, so it
  is compared with each replica's memory limit, not turned into a count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from exporter.cluster.autoscaler import Autoscaler, linear
from exporter.config import CapacityConfig

MIB = 1024 * 1024
REFERENCE_QPS_PER_CORE = 33667 / 1.9
"""CoreDNS's scaling notes (coredns/deployment, kubernetes/Scaling_CoreDNS.md): one instance served
33,667 queries a second (server side) with both cores of its node pegged at about 1900m."""


@dataclass(frozen=True, slots=True)
class Demand:
    """The replicas the measured peak needs, and the inputs of the formula."""

    peak_qps: float
    window: float
    covered: float
    qps_per_core: float
    qps_per_core_source: str
    """``measured`` (query rate over CPU in use) or ``reference`` (CoreDNS's scaling notes)."""
    target: float
    cores_per_replica: float
    cores_source: str
    """``limit``, ``request`` or ``default`` (neither set: one core)."""
    zones: int
    base_replicas: int
    """Replicas that carry the peak at the target utilisation."""
    replicas: int
    """With one replica spare, and the loss of a zone covered when there are two zones or more."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "recommended_replicas": self.replicas,
            "replicas_at_target": self.base_replicas,
            "inputs": {
                "peak_qps": round(self.peak_qps, 3),
                "peak_window_seconds": self.window,
                "peak_window_covered_seconds": round(self.covered, 1),
                "qps_per_core": round(self.qps_per_core, 1),
                "qps_per_core_source": self.qps_per_core_source,
                "target_utilisation": self.target,
                "cores_per_replica": self.cores_per_replica,
                "cores_per_replica_source": self.cores_source,
                "zones": self.zones,
            },
        }


@dataclass(frozen=True, slots=True)
class Headroom:
    """Utilisation of the replicas' CPU at the peak now, and after losing a replica, a node, a zone."""

    replicas_per_zone: dict[str, int]
    replicas_per_node: dict[str, int]
    utilisation: dict[str, float | None]
    """``none``/``replica``/``node``/``zone`` lost -> peak over what is left (``None``: nothing left)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "replicas_per_zone": dict(sorted(self.replicas_per_zone.items())),
            "replicas_per_node": dict(sorted(self.replicas_per_node.items())),
            "peak_utilisation": {k: None if v is None else round(v, 4) for k, v in self.utilisation.items()},
        }


def demand_replicas(
    peak: float, qps_per_core: float, target: float, cores_per_replica: float, zones: int
) -> tuple[int, int]:
    """(replicas at the target, replicas with one spare and a zone's loss covered)."""
    base = max(1, math.ceil(peak / (qps_per_core * target * cores_per_replica)))
    replicas = base + 1
    if zones >= 2:
        while replicas - math.ceil(replicas / zones) < base:
            replicas += 1
    return base, replicas


def headroom(
    peak: float, per_replica: float, placement: dict[str, str | None], zones: dict[str, str]
) -> Headroom:
    """``placement``: pod -> node; ``zones``: node -> zone; ``per_replica``: QPS one replica carries."""
    per_node: dict[str, int] = {}
    per_zone: dict[str, int] = {}
    for node in placement.values():
        per_node[node or "?"] = per_node.get(node or "?", 0) + 1
        zone = zones.get(node or "", "unknown")
        per_zone[zone] = per_zone.get(zone, 0) + 1
    total = len(placement)

    def left(lost: int) -> float | None:
        return peak / ((total - lost) * per_replica) if total - lost > 0 and per_replica > 0 else None

    return Headroom(
        per_zone,
        per_node,
        {
            "none": left(0),
            "replica": left(1),
            "node": left(max(per_node.values(), default=0)),
            "zone": left(max(per_zone.values(), default=0)),
        },
    )


@dataclass(frozen=True, slots=True)
class Capacity:
    replicas: int
    ready_replicas: int
    nodes: int
    cores: float
    pods: int
    services: int
    autopath: bool
    linear_replicas: int
    """The linear formula's answer, bounded by min and max replicas."""
    size_replicas: int
    """The linear formula before the bounds: what the cluster's size alone asks for."""
    memory_recommended_bytes: float
    memory_limit_bytes: float | None
    """The smallest memory limit among the CoreDNS pods (``None``: no limit set)."""
    autoscaler: Autoscaler | None = None
    """``None``: not read; ``present`` False: no autoscaler ConfigMap (a finding, not a default)."""
    autoscaler_replicas: int | None = None
    demand: Demand | None = None
    headroom: Headroom | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "replicas": self.replicas,
            "ready_replicas": self.ready_replicas,
            "inputs": {
                "nodes": self.nodes,
                "cpu_cores": self.cores,
                "pods": self.pods,
                "services": self.services,
                "autopath": self.autopath,
            },
            "recommended_replicas_linear": self.linear_replicas,
            "recommended_replicas_autoscaler": self.autoscaler_replicas,
            "autoscaler": self.autoscaler.as_dict() if self.autoscaler is not None else None,
            "demand": self.demand.as_dict() if self.demand is not None else None,
            "headroom": self.headroom.as_dict() if self.headroom is not None else None,
            "memory_recommended_bytes": self.memory_recommended_bytes,
            "memory_limit_bytes": self.memory_limit_bytes,
        }


def size_replicas(cores: float, nodes: int, params: CapacityConfig) -> int:
    return max(math.ceil(cores / params.cores_per_replica), math.ceil(nodes / params.nodes_per_replica))


def linear_replicas(cores: float, nodes: int, params: CapacityConfig) -> int:
    """The linear rule with the configured parameters: the autoscaler's own formula (one definition)."""
    return linear(
        {
            "coresPerReplica": params.cores_per_replica,
            "nodesPerReplica": params.nodes_per_replica,
            "min": params.min_replicas,
            "max": params.max_replicas,
        },
        cores,
        nodes,
    )


def memory_recommended_bytes(pods: int, services: int, *, autopath: bool) -> float:
    objects = pods + services
    mebibytes = objects / 250 + 56 if autopath else objects / 1000 + 54
    return mebibytes * MIB
