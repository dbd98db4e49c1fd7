"""A node hosting a CoreDNS replica is saturated (CPU or memory against allocatable), so that replica
answers slowly."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import cluster_of
from exporter.diagnosis.stats import Stats


def coredns_node_overloaded(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None or cluster.usage is None:
        return None
    saturated = obs.thresholds.node_cpu
    hot = [n for n in cluster.usage.nodes if max(n.cpu_ratio, n.memory_ratio) >= saturated]
    if not hot:
        return None
    return Draft(
        "coredns_node_overloaded",
        f"{len(hot)} node(s) hosting CoreDNS are saturated: {', '.join(n.node for n in hot)}.",
        tuple(
            f"node {n.node}: CPU {n.cpu_ratio:.0%}, memory {n.memory_ratio:.0%} of allocatable" for n in hot
        ),
        "Move CoreDNS off the saturated nodes (anti-affinity, a dedicated system node pool) or relieve "
        "them; spread replicas so one busy node cannot slow every lookup.",
        {"nodes": {n.node: {"cpu": n.cpu_ratio, "memory": n.memory_ratio} for n in hot}},
    )


CAUSE = Cause(
    id="coredns_node_overloaded",
    severity="warning",
    title="A node hosting CoreDNS is saturated",
    group=Group.COREDNS,
    meaning="A node that hosts a CoreDNS replica is saturated, so that replica answers slowly.",
    probe="the `pod` server on that node slower than the others",
    signals=(
        "api: `k8s_dns_coredns_node_cpu_usage_ratio`, `k8s_dns_coredns_node_memory_usage_ratio`; node: "
        "`k8s_dns_node_cpu_pressure_seconds_total` on that node"
    ),
    alert=AlertEvidence(
        text="Busiest node hosting CoreDNS is at {v} CPU.",
        query="max(k8s_dns_coredns_node_cpu_usage_ratio)",
        format="humanizePercentage",
    ),
    rules=(coredns_node_overloaded,),
)
