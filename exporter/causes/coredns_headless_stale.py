"""CoreDNS older than 1.7.0, which can keep serving stale headless Service records after API server
hiccups."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.cluster.version import text
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import cluster_of
from exporter.diagnosis.stats import Stats


def coredns_headless_stale(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None or cluster.version is None or cluster.version >= (1, 7, 0):
        return None
    return Draft(
        "coredns_headless_stale",
        f"CoreDNS {text(cluster.version)} is older than 1.7.0: after API server hiccups it can keep "
        "serving stale records for headless Services.",
        tuple(f"pod {p.name}: image {p.image}" for p in cluster.live_pods),
        "Upgrade CoreDNS to 1.7.0 or later.",
        {"version": text(cluster.version)},
    )


CAUSE = Cause(
    id="coredns_headless_stale",
    severity="info",
    title="CoreDNS before 1.7.0 can serve stale headless records",
    group=Group.COREDNS,
    meaning=(
        "CoreDNS older than 1.7.0 can keep serving outdated headless Service records after API server "
        "hiccups."
    ),
    probe="only with a pinned headless name",
    signals="api: `k8s_dns_coredns_pod_info{version}`",
    alert=AlertEvidence(
        text="CoreDNS pods reporting a version: {v}.",
        query="count(k8s_dns_coredns_pod_info)",
    ),
    rules=(coredns_headless_stale,),
    standing=True,
)
