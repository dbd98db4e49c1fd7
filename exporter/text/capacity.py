"""The capacity section of ``doctor``: demand, the recommendations side by side, headroom.

Written to be pasted into a ticket as it stands: every recommendation with its inputs,
what was measured and over how long, and what could not be seen.
"""

from __future__ import annotations

from exporter.cluster.readings import ClusterReadings
from exporter.units import duration

MIB = 1024 * 1024
LOST = {
    "none": "now",
    "replica": "one replica lost",
    "node": "busiest node lost",
    "zone": "busiest zone lost",
}


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 60:.0f}m" if seconds >= 60 else f"{seconds:.0f}s"


def capacity_lines(cluster: ClusterReadings) -> list[str]:
    capacity = cluster.capacity
    if capacity is None:
        return []
    lines = [f"CoreDNS capacity: {capacity.replicas} replica(s) running, {capacity.ready_replicas} ready"]
    lines.extend(_demand_lines(cluster))
    lines.append("  recommended replicas:")
    demand = capacity.demand
    if demand is not None:
        spare = "one replica spare" + (
            f", a zone's loss covered ({demand.zones} zones)" if demand.zones >= 2 else ""
        )
        lines.append(
            f"    demand      {demand.replicas}: ceil({demand.peak_qps:.1f} peak q/s / "
            f"({demand.qps_per_core:.0f} q/s per core ({demand.qps_per_core_source}) x {demand.target:.0%} "
            f"x {demand.cores_per_replica:g} cores per replica ({demand.cores_source}))) "
            f"= {demand.base_replicas}, {spare}"
        )
        if demand.zones < 2:
            lines.append("                nodes carry fewer than 2 zone labels: a zone's loss is not covered")
    else:
        lines.append("    demand      not measured (see demand above)")
    autoscaler = capacity.autoscaler
    if autoscaler is None:
        lines.append("    autoscaler  not read (see errors)")
    elif not autoscaler.present:
        lines.append(
            "    autoscaler  none: no cluster-proportional-autoscaler ConfigMap; the count is set by hand"
        )
    else:
        lines.append(
            f"    autoscaler  {capacity.autoscaler_replicas}: {autoscaler.configmap} ({autoscaler.mode}) "
            f"{_params(autoscaler.params)}"
        )
    lines.append(
        f"    linear rule {capacity.linear_replicas}: {capacity.nodes} nodes, {capacity.cores:g} cores "
        "(the exporter's kubernetes.capacity parameters)"
    )
    limit = capacity.memory_limit_bytes
    lines.append(
        f"  memory per replica: {capacity.memory_recommended_bytes / MIB:.0f} MiB for "
        f"{capacity.pods} pods and {capacity.services} Services"
        + ("" if not capacity.autopath else " with autopath")
        + (f"; limit {limit / MIB:.0f} MiB" if limit else "; no limit set")
    )
    headroom = capacity.headroom
    if headroom is not None:
        figures = ", ".join(
            f"{LOST[k]} {'no replica left' if v is None else f'{v:.0%}'}"
            for k, v in headroom.utilisation.items()
        )
        lines.append(f"  peak utilisation of the replicas' CPU: {figures}")
        zones = ", ".join(f"{zone} {count}" for zone, count in sorted(headroom.replicas_per_zone.items()))
        lines.append(f"  replicas per zone: {zones}")
    if cluster.budgets is not None:
        budgets = cluster.coredns_budgets
        lines.append(
            "  disruption budget: "
            + (
                "; ".join(
                    f"{b.name} (minAvailable {b.min_available}, maxUnavailable {b.max_unavailable}; "
                    f"{b.disruptions_allowed} eviction(s) allowed now)"
                    for b in budgets
                )
                or "none selects the CoreDNS pods: a drain may evict every replica at once"
            )
        )
    return lines


def _demand_lines(cluster: ClusterReadings) -> list[str]:
    traffic = cluster.traffic
    if traffic is None:
        why = cluster.errors.get("coredns_metrics", "not read yet")
        return [f"  demand: not measured: {why}"]
    lines = []
    if traffic.qps is None or traffic.peak_qps is None:
        why = (
            cluster.errors.get("coredns_metrics")
            or "; ".join(f"{pod}: {reason}" for pod, reason in sorted(traffic.unseen.items()))
            or "each pod read once: rates after the next read"
        )
        lines.append(f"  demand: not measured: {why}")
    else:
        lines.append(
            f"  demand: {traffic.qps:.1f} q/s now, peak {traffic.peak_qps:.1f} q/s over the last "
            f"{_duration(traffic.covered)} (window {_duration(traffic.window)}, kept in memory since the "
            "exporter started)"
        )
    cpu = {u.pod: u.cpu_cores for u in cluster.usage.pods} if cluster.usage else {}
    for pod in traffic.pods:
        if pod.qps is None:
            lines.append(f"    {pod.pod}: read once, rates after the next read")
            continue
        parts = [f"{pod.qps:.1f} q/s"]
        if cpu.get(pod.pod):
            parts.append(f"CPU {cpu[pod.pod]:.3f} cores ({pod.qps / cpu[pod.pod]:.0f} q/s per core)")
        if pod.cache_hit_ratio is not None:
            parts.append(f"cache hits {pod.cache_hit_ratio:.0%}")
        if pod.latency is not None:
            parts.append(f"mean answer {duration(pod.latency)}")
        parts.extend(f"forward {to} {duration(s)}" for to, s in sorted(pod.forward_latency.items()))
        lines.append(f"    {pod.pod}: " + ", ".join(parts))
    if traffic.qps is not None:
        lines.extend(f"    {pod}: unread: {why}" for pod, why in sorted(traffic.failed.items()))
    if cluster.usage is None:
        lines.append(
            "    CPU not measured (metrics.k8s.io unavailable): QPS per core is the reference figure"
        )
    return lines


def _params(params: dict[str, object] | None) -> str:
    return " ".join(f"{key}={value}" for key, value in sorted((params or {}).items()))
