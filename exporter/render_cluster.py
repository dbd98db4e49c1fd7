"""The discovery and cluster readings as ``doctor`` text: what was found, and CoreDNS at a glance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MIB = 1024 * 1024


def discovery_lines(discovery: Mapping[str, Any]) -> list[str]:
    lines = ["Discovered from the Kubernetes API:"]
    for path, servers in discovery["targets"].items():
        lines.append(f"  {path:<9} {', '.join(servers) or 'none'}")
    if discovery.get("nodelocal_present") is False:
        lines.append("  nodelocal NodeLocal DNSCache DaemonSet not found")
    lines.extend(f"  error     {path}: {error}" for path, error in sorted(discovery["errors"].items()))
    return lines


def cluster_lines(cluster: Mapping[str, Any]) -> list[str]:
    if not cluster["leader"]:
        return ["Cluster: this instance is a standby; the Lease holder reads and reports the cluster."]
    lines = ["Cluster:"]
    coredns = cluster["coredns"]
    if coredns["replicas"] is not None:
        lines.append(
            f"  coredns    {coredns['ready']}/{coredns['replicas']} ready on {coredns['nodes']} node(s), "
            f"version {coredns['version'] or 'unknown'}"
        )
        for pod in coredns["pods"] or ():
            trouble = pod["waiting_reason"] or pod["last_terminated_reason"]
            lines.append(
                f"             {pod['name']} on {pod['node']}: {'ready' if pod['ready'] else 'NOT READY'}, "
                f"{pod['restarts']} restart(s)" + (f", {trouble}" if trouble else "")
            )
    service = cluster["service"]
    if service is not None:
        lines.append(
            f"  kube-dns   {', '.join(service['cluster_ips'])}; sessionAffinity {service['session_affinity']}"
        )
    if cluster["kube_proxy_mode"]:
        lines.append(f"  kube-proxy mode {cluster['kube_proxy_mode']}")
    corefile = cluster["corefile"]
    if corefile is not None:
        forwards = "; ".join(
            f"{f['from']} -> {', '.join(f['targets'])} (policy {f['policy'] or 'random'})"
            for f in corefile["forwards"]
        )
        lines.append(f"  corefile   forward {forwards or 'none'}; {len(corefile['problems'])} problem(s)")
        lines.extend(f"             {p['kind']}: {p['message']}" for p in corefile["problems"])
    capacity = cluster["capacity"]
    if capacity is not None:
        inputs = capacity["inputs"]
        memory = capacity["memory_recommended_bytes"] / MIB
        limit = capacity["memory_limit_bytes"]
        lines.append(
            f"  capacity   {capacity['replicas']} replica(s); the linear formula recommends "
            f"{capacity['recommended_replicas_linear']} for {inputs['nodes']} nodes and "
            f"{inputs['cpu_cores']:g} cores; each needs {memory:.0f} MiB for {inputs['pods']} pods and "
            f"{inputs['services']} Services" + (f" (limit {limit / MIB:.0f} MiB)" if limit else "")
        )
    lines.extend(f"  error      {reader}: {error}" for reader, error in sorted(cluster["errors"].items()))
    return lines
