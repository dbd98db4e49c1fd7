"""How many CoreDNS replicas and how much memory the cluster's size calls for.

Two published formulas, computed from the cluster's size:

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

from exporter.config import CapacityConfig

MIB = 1024 * 1024


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
            "memory_recommended_bytes": self.memory_recommended_bytes,
            "memory_limit_bytes": self.memory_limit_bytes,
        }


def size_replicas(cores: float, nodes: int, params: CapacityConfig) -> int:
    return max(math.ceil(cores / params.cores_per_replica), math.ceil(nodes / params.nodes_per_replica))


def linear_replicas(cores: float, nodes: int, params: CapacityConfig) -> int:
    replicas = size_replicas(cores, nodes, params)
    if params.max_replicas:
        replicas = min(replicas, params.max_replicas)
    return max(replicas, params.min_replicas)


def memory_recommended_bytes(pods: int, services: int, *, autopath: bool) -> float:
    objects = pods + services
    mebibytes = objects / 250 + 56 if autopath else objects / 1000 + 54
    return mebibytes * MIB
