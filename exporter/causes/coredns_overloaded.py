"""CoreDNS runs near its CPU or memory limits (usage from metrics.k8s.io; CPU against the request when no
limit is set), or with fewer replicas than measured demand (else the running autoscaler) calls for, or less
memory than the cluster's object count needs."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.cluster.capacity import Capacity
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import cluster_of
from exporter.diagnosis.stats import Stats

MIB = 1024 * 1024


def coredns_overloaded(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None:
        return None
    evidence: list[str] = []
    above_request: list[str] = []
    """CPU near a request with no limit set: nothing throttles it, so it says only beside other evidence."""
    cpu_high, memory_high = obs.thresholds.coredns_cpu, obs.thresholds.coredns_memory
    limits = {p.name: p.resources for p in cluster.live_pods}
    for usage in cluster.usage.pods if cluster.usage else ():
        resources = limits.get(usage.pod)
        if resources is None:
            continue
        cpu_cap, cap_kind = (
            (resources.cpu_limit, "limit") if resources.cpu_limit else (resources.cpu_request, "request")
        )
        if cpu_cap and usage.cpu_cores / cpu_cap >= cpu_high:
            (evidence if cap_kind == "limit" else above_request).append(
                f"pod {usage.pod}: CPU {usage.cpu_cores:.3f} of {cpu_cap:g} cores {cap_kind} "
                f"({usage.cpu_cores / cpu_cap:.0%})" + ("" if cap_kind == "limit" else ", no limit set")
            )
        if resources.memory_limit and usage.memory_bytes / resources.memory_limit >= memory_high:
            used, cap = usage.memory_bytes, resources.memory_limit
            evidence.append(
                f"pod {usage.pod}: memory {used / MIB:.0f} of {cap / MIB:.0f} MiB limit ({used / cap:.0%})"
            )
    capacity = cluster.capacity
    if capacity is not None and capacity.replicas:
        evidence.extend(_replicas(capacity))
    limit = capacity.memory_limit_bytes if capacity is not None else None
    if capacity is not None and limit is not None and capacity.memory_recommended_bytes > limit:
        evidence.append(
            f"memory formula: {capacity.memory_recommended_bytes / MIB:.0f} MiB per replica for "
            f"{capacity.pods} pods and {capacity.services} Services, limit {limit / MIB:.0f} MiB"
        )
    if not evidence:
        return None
    evidence.extend(above_request)
    return Draft(
        "coredns_overloaded",
        "CoreDNS is near its resource limits or runs fewer replicas than the cluster's size calls for.",
        tuple(evidence),
        "Scale CoreDNS out (or let the cluster-proportional-autoscaler do it), raise its limits to what "
        "the sizing formula gives, and consider NodeLocal DNSCache to take load off CoreDNS.",
        {"capacity": capacity.as_dict() if capacity else None},
    )


def _replicas(capacity: Capacity) -> list[str]:
    """Too few replicas, judged by what is known best: measured demand, else the running autoscaler's own
    formula, else (no autoscaler, no measurement) the linear rule of the cluster's size."""
    demand, running = capacity.demand, capacity.replicas
    if demand is not None:
        # Overloaded is fewer than carry the peak; the spare and a zone's loss are the recommendation's
        # (k8s_dns_coredns_recommended_replicas): one replica on a one-node k3s carries its load.
        if running >= demand.base_replicas:
            return []
        return [
            f"{running} replicas for a peak of {demand.peak_qps:.0f} queries/s: at "
            f"{demand.qps_per_core:.0f} queries/s per core ({demand.qps_per_core_source}), "
            f"{demand.cores_per_replica:g} cores per replica ({demand.cores_source}) and "
            f"{demand.target:.0%} target utilisation it needs {demand.base_replicas}, "
            f"{demand.replicas} with a replica spare"
            + (" and a zone's loss covered" if demand.zones >= 2 else "")
        ]
    wanted = capacity.autoscaler_replicas
    if wanted is not None and capacity.autoscaler is not None:
        if running >= wanted:
            return []
        return [
            f"{running} replicas: the autoscaler ({capacity.autoscaler.configmap}, "
            f"{capacity.autoscaler.mode}) asks for {wanted}"
        ]
    if capacity.autoscaler is not None and running < capacity.size_replicas:
        return [
            f"{running} replicas for {capacity.nodes} nodes and {capacity.cores:g} cores: the "
            f"linear formula asks for {capacity.size_replicas} (no autoscaler runs, demand not measured)"
        ]
    return []


CAUSE = Cause(
    id="coredns_overloaded",
    severity="warning",
    title="CoreDNS is near its limits or has too few replicas",
    group=Group.COREDNS,
    meaning="CoreDNS runs close to its CPU or memory limit, or has too few replicas for the query rate.",
    probe="latency up on `service` and `pod` (`k8s_dns_probe_duration_seconds`), scattered timeouts",
    signals=(
        "api: `k8s_dns_coredns_cpu_usage_cores` vs `k8s_dns_coredns_cpu_limit_cores` (near a request "
        "with no limit: shown beside other evidence, never alone), `k8s_dns_coredns_memory_usage_bytes` "
        "vs `k8s_dns_coredns_memory_limit_bytes`, "
        "`k8s_dns_coredns_replicas` vs `k8s_dns_coredns_recommended_replicas` (demand from CoreDNS's own "
        "metrics, else the running autoscaler)"
    ),
    alert=AlertEvidence(
        text="Busiest CoreDNS pod uses {v} of its CPU limit.",
        query="max(k8s_dns_coredns_cpu_usage_cores / k8s_dns_coredns_cpu_limit_cores)",
        format="humanizePercentage",
    ),
    rules=(coredns_overloaded,),
    probed=True,
)
