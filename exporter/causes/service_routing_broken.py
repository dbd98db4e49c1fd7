"""The kube-dns Service does not lead to CoreDNS from this node while every CoreDNS pod answers
directly: kube-proxy's rules for the VIP are stale or missing."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import pods_counted, server_list, server_state
from exporter.diagnosis.stats import Stats


def service_routing_broken(obs: Observations, stats: Stats) -> Draft | None:
    service = [s for s in stats.path("service") if s.down]
    pods = stats.path("pod")
    if not service or not pods or not all(p.all.answering for p in pods):
        return None
    return Draft(
        "service_routing_broken",
        f"The kube-dns Service ({server_list(service)}) fails from this node while all "
        f"{pods_counted(obs, len(pods))} answer directly: the Service VIP does not lead to the pods.",
        tuple(server_state(s) for s in service + pods),
        "Check kube-proxy on this node (its logs, and that its iptables or IPVS rules list the "
        "current CoreDNS endpoints); restart kube-proxy if its rules are stale.",
        {"service": [s.server for s in service], "pods": [p.server for p in pods]},
    )


CAUSE = Cause(
    id="service_routing_broken",
    severity="warning",
    title="The kube-dns Service does not reach CoreDNS",
    group=Group.SERVICE_ROUTING,
    meaning=(
        "The kube-dns ClusterIP does not lead to CoreDNS from this node: kube-proxy rules stale or missing."
    ),
    probe="`service` down while every `pod` answers",
    signals="api: `k8s_dns_kube_proxy_mode_info`",
    alert=AlertEvidence(
        text="Probes from this node to the kube-dns Service failing: {v}.",
        query='count(k8s_dns_probe_success{path="service"} == 0)',
    ),
    rules=(service_routing_broken,),
    probed=True,
    scope="node",
)
