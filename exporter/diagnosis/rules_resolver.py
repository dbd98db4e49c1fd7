"""Causes in the pod's own resolver configuration, read from the resolver path."""

from __future__ import annotations

from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.stats import Stats


def _host(server: str) -> str:
    return server.rsplit(":", 1)[0].strip("[]")


def pod_resolv_conf_wrong(obs: Observations, stats: Stats) -> Draft | None:
    """The pod's resolv.conf bypasses cluster DNS, or its search list multiplies external lookups."""
    targets = obs.rounds[-1].targets if obs.rounds else None
    if targets is None or targets.resolver is None:
        return None
    resolver, conf = targets.resolver
    evidence: list[str] = []
    cluster_dns = {
        server.host for path in ("service", "nodelocal") for server in targets.servers.get(path, ())
    }
    if cluster_dns and conf.used_nameservers and not set(conf.used_nameservers) & cluster_dns:
        evidence.append(
            f"{resolver.file} lists {', '.join(conf.used_nameservers)}: neither the kube-dns Service nor "
            f"NodeLocal DNSCache ({', '.join(sorted(cluster_dns))})"
        )
    kinds = {spec.name: spec.kind for spec in obs.names}
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
