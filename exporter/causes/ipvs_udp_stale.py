"""kube-proxy in IPVS mode keeps sending UDP for the kube-dns Service to a CoreDNS endpoint that went
away, for about five minutes: failures that start with the removal."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import cluster_of
from exporter.diagnosis.stats import Stats

IPVS_WINDOW = 330.0
"""IPVS keeps UDP flows to a removed endpoint for about five minutes; a little margin on top."""


def ipvs_udp_stale(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None or cluster.kube_proxy_mode != "ipvs":
        return None
    recent = [(server, at) for server, at in cluster.endpoints_removed if obs.now - at <= IPVS_WINDOW]
    failing = [s for s in stats.path("service") if s.transport("udp").failing]
    pods = stats.path("pod")
    if not recent or not failing or (pods and not any(p.all.answering for p in pods)):
        return None
    removed_at = min(at for _, at in recent)
    first_failure = min(
        (r.timestamp for round_ in obs.rounds for r in round_.results if r.path == "service" and not r.ok),
        default=0.0,
    )
    if first_failure and first_failure < removed_at - 1.0:
        return None  # the Service failed before any endpoint went away: not this cause
    return Draft(
        "ipvs_udp_stale",
        "UDP to the kube-dns Service fails since a CoreDNS endpoint went away, and kube-proxy runs in "
        "IPVS mode: IPVS still sends some flows to the removed pod (for about 5 minutes).",
        tuple(f"endpoint {server} removed {obs.now - at:.0f}s ago" for server, at in recent)
        + tuple(
            f"service {s.server}: udp {s.transport('udp').failed}/{s.transport('udp').total} failed"
            for s in failing
        )
        + ("kube-proxy mode: ipvs",),
        "It clears by itself within about 5 minutes. To stop it: run NodeLocal DNSCache (it talks TCP "
        "to CoreDNS), or shorten the IPVS UDP timeout (kube-proxy --ipvs-udp-timeout), or upgrade the "
        "node kernel.",
        {"removed": [server for server, _ in recent]},
    )


CAUSE = Cause(
    id="ipvs_udp_stale",
    severity="warning",
    title="IPVS keeps sending UDP to a CoreDNS endpoint that is gone",
    group=Group.SERVICE_ROUTING,
    meaning=(
        "With kube-proxy in IPVS mode, UDP to kube-dns keeps going to a CoreDNS pod that is gone, for about "
        "five minutes."
    ),
    probe=(
        "`service` UDP timeouts that start when a CoreDNS pod goes away and stop within ~5 min; TCP and "
        "`pod` fine"
    ),
    signals='api: `k8s_dns_kube_proxy_mode_info{mode="ipvs"}`, `k8s_dns_coredns_replicas_ready` dropping',
    alert=AlertEvidence(
        text="UDP probes to the kube-dns Service failing: {v}.",
        query='count(k8s_dns_probe_success{path="service",transport="udp"} == 0)',
    ),
    rules=(ipvs_udp_stale,),
    # IPVS sending UDP to a removed endpoint is the Service's routing failing, with its reason.
    explains=frozenset({"service_routing_broken"}),
)
