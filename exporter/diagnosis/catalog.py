"""The documented causes: stable ids, severities and one-line titles (see docs/causes.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["critical", "warning"]
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "warning": 1}


@dataclass(frozen=True, slots=True)
class Cause:
    id: str
    severity: Severity
    title: str


_CAUSES = (
    Cause("coredns_unavailable", "critical", "CoreDNS pods are not serving"),
    Cause("coredns_overloaded", "warning", "CoreDNS is near its limits or has too few replicas"),
    Cause("coredns_node_overloaded", "warning", "A node hosting CoreDNS is saturated"),
    Cause("coredns_load_unbalanced", "warning", "DNS load is unbalanced across CoreDNS replicas"),
    Cause("coredns_config_error", "critical", "The Corefile breaks resolution of external names"),
    Cause("coredns_autopath_defect", "warning", "The autopath plugin is enabled"),
    Cause("coredns_headless_stale", "warning", "CoreDNS before 1.7.0 can serve stale headless records"),
    Cause("coredns_api_unreachable", "critical", "CoreDNS cannot reach the Kubernetes API"),
    Cause("service_routing_broken", "critical", "The kube-dns Service does not reach CoreDNS"),
    Cause("ipvs_udp_stale", "warning", "IPVS keeps sending UDP to a CoreDNS endpoint that is gone"),
    Cause("dns_port_blocked", "critical", "Port 53 is blocked between pods and CoreDNS"),
    Cause("pod_network_broken", "critical", "The pod network of this node reaches no DNS server"),
    Cause("conntrack_table_full", "critical", "The node's conntrack table is full"),
    Cause("conntrack_race_a_aaaa", "warning", "Parallel A and AAAA queries collide in conntrack"),
    Cause("client_overloaded", "warning", "The node sending the queries is overloaded and drops UDP"),
    Cause(
        "pod_resolv_conf_wrong", "warning", "The pod resolv.conf bypasses cluster DNS or multiplies queries"
    ),
    Cause(
        "node_dns_config_stale",
        "warning",
        "The network's DNS servers changed; nodes or CoreDNS not restarted",
    ),
    Cause("upstream_mixed_resolvers", "critical", "Upstream DNS servers answer differently"),
    Cause("upstream_unreachable", "critical", "An upstream DNS server does not answer"),
    Cause("upstream_error", "warning", "An upstream DNS server answers with errors"),
    Cause("upstream_tcp_unsupported", "warning", "An upstream answers over UDP but not over TCP"),
    Cause("response_truncated", "warning", "UDP answers are truncated; clients must retry over TCP"),
    Cause("endpointslice_migration", "warning", "Services rely on an annotation CoreDNS >= 1.8.4 ignores"),
    Cause("statefulset_service_mismatch", "warning", "A StatefulSet's serviceName is not a headless Service"),
    Cause("nodelocal_bypassed", "warning", "NodeLocal DNSCache runs but pods do not use it"),
    Cause("nodelocal_down", "critical", "NodeLocal DNSCache on this node does not answer"),
)

CAUSES: dict[str, Cause] = {cause.id: cause for cause in _CAUSES}


def runbook_url(cause_id: str, base: str) -> str:
    return f"{base.rstrip('/')}/{cause_id}.md"
