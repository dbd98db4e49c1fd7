"""The cluster-proportional-autoscaler that owns CoreDNS's replica count: its parameters and formula.

It reads its parameters from a ConfigMap (``kube-dns-autoscaler`` on kubeadm-style addons,
``coredns-autoscaler`` on AKS and others), one key naming the mode, its value JSON:

* ``linear``: ``{"coresPerReplica": 256, "nodesPerReplica": 16, "min": 1, "max": 0,
  "preventSinglePointFailure": true, "includeUnschedulableNodes": true}``;
  replicas = max(ceil(cores / coresPerReplica), ceil(nodes / nodesPerReplica)), each capped at
  ``max`` (when not 0) and raised to ``min``; with ``preventSinglePointFailure`` at least 2
  when there is more than one node;
* ``ladder``: ``{"coresToReplicas": [[1, 2], [512, 3]], "nodesToReplicas": [[1, 2], [8, 3]]}``;
  for each list the replicas of the last step whose threshold the count reaches (the first
  step's below it), the larger of the two.

Cores and nodes are the schedulable ones unless ``includeUnschedulableNodes`` (linear only);
cores are whole cores per node, as the autoscaler counts them.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

MODES = ("linear", "ladder")


@dataclass(frozen=True, slots=True)
class Autoscaler:
    """The autoscaler's ConfigMap as read; ``mode`` ``None`` when no such ConfigMap exists."""

    configmap: str | None
    mode: str | None = None
    params: dict[str, Any] | None = None

    @property
    def present(self) -> bool:
        return self.mode is not None

    @property
    def include_unschedulable(self) -> bool:
        return bool(self.mode == "linear" and (self.params or {}).get("includeUnschedulableNodes"))

    def replicas(self, cores: float, nodes: int) -> int | None:
        """What the autoscaler sets for this many cores and nodes (``None`` when absent)."""
        params = self.params or {}
        if self.mode == "linear":
            return linear(params, int(cores), nodes)
        if self.mode == "ladder":
            return max(
                _step(int(cores), params.get("coresToReplicas") or []),
                _step(nodes, params.get("nodesToReplicas") or []),
            )
        return None

    def as_dict(self) -> dict[str, Any]:
        return {"configmap": self.configmap, "mode": self.mode, "params": self.params}


def parse(configmap: str, data: dict[str, Any]) -> Autoscaler:
    """The autoscaler ConfigMap's ``data``; ``ValueError`` names what is wrong with it."""
    modes = [m for m in MODES if m in data]
    if len(modes) != 1:
        raise ValueError(f"ConfigMap {configmap} holds {len(modes)} of the keys linear, ladder (needs one)")
    mode = modes[0]
    try:
        params = json.loads(data[mode])
    except (TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"ConfigMap {configmap} key {mode} is not JSON: {exc}") from None
    if not isinstance(params, dict):
        raise ValueError(f"ConfigMap {configmap} key {mode} is not a JSON object")
    (_check_linear if mode == "linear" else _check_ladder)(configmap, params)
    return Autoscaler(configmap, mode, params)


def _check_linear(configmap: str, params: dict[str, Any]) -> None:
    for key in ("coresPerReplica", "nodesPerReplica", "min", "max"):
        value = params.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"ConfigMap {configmap} linear.{key}: {value!r} is not a number >= 0")
    if not params.get("coresPerReplica") and not params.get("nodesPerReplica"):
        raise ValueError(f"ConfigMap {configmap} linear: neither coresPerReplica nor nodesPerReplica is set")


def _check_ladder(configmap: str, params: dict[str, Any]) -> None:
    for key in ("coresToReplicas", "nodesToReplicas"):
        steps = params.get(key, [])
        ok = isinstance(steps, list) and all(
            isinstance(s, list) and len(s) == 2 and all(isinstance(v, int) and v >= 0 for v in s)
            for s in steps
        )
        if not ok:
            raise ValueError(f"ConfigMap {configmap} ladder.{key}: not a list of [count, replicas] pairs")


def linear(params: dict[str, Any], cores: float, nodes: int) -> int:
    """cluster-proportional-autoscaler's linear mode: the larger of cores and nodes over their
    per-replica counts, each held within min and max; two at least on more than one node with
    ``preventSinglePointFailure``."""

    def per(count: float, per_replica: float) -> int:
        if not per_replica:
            return 1
        replicas = math.ceil(count / per_replica)
        if params.get("max"):
            replicas = min(int(params["max"]), replicas)
        return max(int(params.get("min") or 0), replicas)

    from_cores = per(cores, float(params.get("coresPerReplica") or 0))
    from_nodes = per(nodes, float(params.get("nodesPerReplica") or 0))
    if params.get("preventSinglePointFailure") and nodes > 1:
        from_nodes = max(from_nodes, 2)
    return max(from_cores, from_nodes)


def _step(count: int, steps: list[list[int]]) -> int:
    if not steps:
        return 1
    ordered = sorted(steps)
    reached = [replicas for threshold, replicas in ordered if count >= threshold]
    return reached[-1] if reached else ordered[0][1]
