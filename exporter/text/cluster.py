"""What discovery found and the cluster readings as text: CoreDNS at a glance."""

from __future__ import annotations

from exporter.cluster.model import NO_KUBE_PROXY
from exporter.cluster.readings import ClusterReadings
from exporter.cluster.version import text
from exporter.targets.discovery import DiscoveryReadings


def discovery_lines(discovery: DiscoveryReadings) -> list[str]:
    lines = ["Discovered from the Kubernetes API:"]
    for path, servers in sorted(discovery.targets.items()):
        lines.append(f"  {path:<9} {', '.join(servers) or 'none'}")
    location = discovery.location
    if location is not None:
        lines.append(f"  located   {location.namespace}/{location.service}: {location.reason}")
    cache = discovery.node_cache
    if cache is not None and cache.kind != "configured":
        lines.append(f"  cache     {cache.reason}")
    elif discovery.nodelocal_present is False:
        lines.append("  nodelocal NodeLocal DNSCache DaemonSet not found")
    lines.extend(
        f"  zone      {z.zone} -> {z.server} ({z.transport}, conditional forwarder)" for z in discovery.zones
    )
    lines.extend(f"  error     {path}: {error}" for path, error in sorted(discovery.errors.items()))
    return lines


def cluster_lines(cluster: ClusterReadings) -> list[str]:
    if not cluster.leader:
        return ["Cluster: this instance is a standby; the Lease holder reads and reports the cluster."]
    lines = ["Cluster:"]
    if cluster.pods is not None:
        live = cluster.live_pods
        ready = sum(p.ready for p in live)
        server = "kube-dns" if cluster.kube_dns_serves else "coredns"
        lines.append(
            f"  {server:<10} {ready}/{len(live)} ready on {cluster.replica_nodes} node(s), "
            f"version {text(cluster.version) or 'unknown'}"
        )
        for pod in cluster.pods:
            trouble = pod.waiting_reason or pod.last_terminated_reason
            lines.append(
                f"             {pod.name} on {pod.node}: {'ready' if pod.ready else 'NOT READY'}, "
                f"{pod.restarts} restart(s)" + (f", {trouble}" if trouble else "")
            )
    service = cluster.service
    if service is not None:
        lines.append(
            f"  kube-dns   {', '.join(service.cluster_ips)}; sessionAffinity {service.session_affinity}"
        )
    if cluster.kube_proxy_mode == NO_KUBE_PROXY:
        lines.append("  kube-proxy: none (Services are routed without it; its causes do not apply)")
    elif cluster.kube_proxy_mode:
        lines.append(f"  kube-proxy mode {cluster.kube_proxy_mode}")
    corefile = cluster.corefile
    if corefile is not None:
        forwards = "; ".join(
            f"{f.source} -> {', '.join(f.targets)} (policy {f.policy or 'random'})" for f in corefile.forwards
        )
        lines.append(f"  corefile   forward {forwards or 'none'}; {len(corefile.problems)} problem(s)")
        lines.extend(f"             {p.kind}: {p.message}" for p in corefile.problems)
    kube_dns = cluster.kube_dns
    if kube_dns is not None and kube_dns.present:
        stubs = "; ".join(f"{domain} -> {', '.join(servers)}" for domain, servers in kube_dns.stub_domains)
        lines.append(
            f"  kube-dns   stubDomains {stubs or 'none'}; "
            f"upstreamNameservers {', '.join(kube_dns.upstream_nameservers) or 'none (the node resolv.conf)'}"
        )
    lines.extend(f"  error      {reader}: {error}" for reader, error in sorted(cluster.errors.items()))
    return lines
