"""The pod resolv.conf bypasses cluster DNS or makes each external lookup cost many queries: read from
the exporter's own resolver path, and from sampled pods with dnsPolicy None
(kubernetes.sample_pods)."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import cluster_of
from exporter.diagnosis.stats import Stats
from exporter.resolvconf import node_local_address


def from_resolver(obs: Observations, stats: Stats) -> Draft | None:
    """The pod's resolv.conf bypasses cluster DNS, or its search list multiplies external lookups."""
    targets = obs.rounds[-1].targets if obs.rounds else None
    if targets is None or targets.resolver is None:
        return None
    resolver, conf = targets.resolver
    evidence: list[str] = []
    cluster_dns = {
        server.host for path in ("service", "nodelocal") for server in targets.servers.get(path, ())
    }
    kinds = {spec.name: spec.kind for spec in obs.names}
    last = obs.rounds[-1].results if obs.rounds else ()
    # Cluster DNS is what answers cluster names: a nameserver that resolves them serves cluster DNS
    # whatever its address (AKS LocalDNS's 169.254.10.11, a cache the exporter was not told of).
    serves_cluster = any(r.path == "resolver" and kinds.get(r.name) == "internal" and r.ok for r in last)
    unknown = [s for s in conf.used_nameservers if s not in cluster_dns and not node_local_address(s)]
    if cluster_dns and unknown and len(unknown) == len(conf.used_nameservers) and not serves_cluster:
        evidence.append(
            f"{resolver.file} lists {', '.join(conf.used_nameservers)}: neither the kube-dns Service nor "
            f"NodeLocal DNSCache ({', '.join(sorted(cluster_dns))})"
        )
    limit = obs.thresholds.lookup_queries
    costly = sorted(
        (result.name, result.queries)
        for round_ in obs.rounds[-1:]
        for result in round_.results
        if result.path == "resolver" and kinds.get(result.name) == "external" and result.queries > limit
    )
    evidence.extend(
        f"looking up {name} took {queries} queries (search {' '.join(conf.search)}, ndots:{conf.ndots})"
        for name, queries in costly
    )
    if not evidence:
        return None
    return Draft(
        "pod_resolv_conf_wrong",
        "The pod's resolv.conf sends queries away from cluster DNS or makes each external lookup cost "
        "many queries.",
        tuple(evidence),
        "Check the pods' dnsPolicy (ClusterFirst for cluster DNS) and dnsConfig; to cut the search-list "
        "cost, lower ndots in dnsConfig options (e.g. 2) or write external names with a trailing dot.",
        {"nameservers": list(conf.used_nameservers), "search": list(conf.search), "ndots": conf.ndots},
    )


def from_sampled_pods(obs: Observations, stats: Stats) -> Draft | None:
    """Pods with dnsPolicy None whose nameservers are neither cluster DNS nor NodeLocal."""
    cluster = cluster_of(obs)
    if cluster is None or cluster.pod_dns is None or not cluster.pod_dns.elsewhere:
        return None
    sample = cluster.pod_dns
    return Draft(
        "pod_resolv_conf_wrong",
        f"{sample.elsewhere_total} sampled pod(s) set their own nameservers and skip cluster DNS: "
        "they cannot resolve Services.",
        tuple(
            f"{pod}: dnsPolicy None, nameservers {', '.join(servers)}" for pod, servers in sample.elsewhere
        ),
        "If these pods need Service names, use dnsPolicy ClusterFirst, or list the kube-dns ClusterIP "
        "(or NodeLocal's address) in their dnsConfig nameservers.",
        {"pods": [pod for pod, _ in sample.elsewhere]},
    )


CAUSE = Cause(
    id="pod_resolv_conf_wrong",
    severity="info",
    title="The pod resolv.conf bypasses cluster DNS or multiplies queries",
    group=Group.CLIENT,
    meaning=(
        "A pod's resolv.conf bypasses cluster DNS (dnsPolicy, dnsConfig), or its search list and ndots "
        "multiply every external lookup."
    ),
    probe='`resolver` path: `k8s_dns_resolver_lookup_queries`, `k8s_dns_probe_success{path="resolver"}`',
    signals="api: dnsPolicy and dnsConfig of sampled pods (opt-in)",
    alert=AlertEvidence(
        text="Most queries one lookup takes through the pod resolv.conf: {v}.",
        query="max(k8s_dns_resolver_lookup_queries)",
    ),
    rules=(from_resolver, from_sampled_pods),
    standing=True,
)
