"""DNS load cannot spread over the CoreDNS replicas: one replica, replicas sharing a node, or ClientIP
session affinity on the kube-dns Service."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import cluster_of
from exporter.diagnosis.stats import Stats


def coredns_load_unbalanced(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None:
        return None
    evidence = []
    pods = cluster.live_pods
    # Replicas can spread over no more nodes than can take them: one replica on the only
    # schedulable node (a single-node k3s) is as balanced as that cluster allows. Without the node
    # inventory the spread is not judged.
    nodes = cluster.inventory.schedulable_nodes if cluster.inventory is not None else None
    if cluster.pods is not None and nodes is not None:
        if len(pods) == 1 and nodes > 1:
            evidence.append(f"only 1 CoreDNS replica for {nodes} schedulable nodes")
        if len(pods) >= 2 and cluster.replica_nodes < min(len(pods), nodes):
            per_node: dict[str, list[str]] = {}
            for pod in pods:
                per_node.setdefault(pod.node or "unscheduled", []).append(pod.name)
            evidence += [
                f"node {n}: {len(p)} replicas ({', '.join(p)})"
                for n, p in sorted(per_node.items())
                if len(p) > 1
            ]
    if cluster.service is not None and cluster.service.session_affinity == "ClientIP":
        evidence.append(f"Service {cluster.service.name} has sessionAffinity: ClientIP")
    if not evidence:
        return None
    return Draft(
        "coredns_load_unbalanced",
        "DNS load cannot spread evenly over CoreDNS replicas.",
        tuple(evidence),
        "Run at least two replicas on different nodes (pod anti-affinity or topology spread) and remove "
        "sessionAffinity from the kube-dns Service.",
        {},
    )


CAUSE = Cause(
    id="coredns_load_unbalanced",
    severity="info",
    title="DNS load is unbalanced across CoreDNS replicas",
    group=Group.COREDNS,
    meaning=(
        "Queries do not spread: one replica, replicas sharing a node, or ClientIP session affinity on "
        "kube-dns."
    ),
    probe="one `pod` server much slower",
    signals=(
        "api: `k8s_dns_coredns_replicas`, `k8s_dns_coredns_replica_nodes`, "
        "`k8s_dns_kube_dns_service_session_affinity`, per-pod `k8s_dns_coredns_cpu_usage_cores`"
    ),
    alert=AlertEvidence(
        text="CoreDNS pods run on {v} distinct node(s).",
        query="max(k8s_dns_coredns_replica_nodes)",
    ),
    rules=(coredns_load_unbalanced,),
    standing=True,
)
