"""Per cause: the PromQL whose value a cause alert prints as evidence, and how to print it.

A cause alert fires from ``k8s_dns_cause_active``; its description adds the raw
metric behind the cause, read at alert time with the template ``query`` function,
so the page shows the number an engineer would look up first.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Evidence:
    text: str
    """Sentence with ``{v}`` where the value goes."""
    query: str
    format: str = "humanize"
    """Template function that prints the value: humanize, humanizePercentage, humanizeDuration."""


EVIDENCE: dict[str, Evidence] = {
    "coredns_unavailable": Evidence(
        "CoreDNS replicas not ready: {v}.",
        "sum(k8s_dns_coredns_replicas) - sum(k8s_dns_coredns_replicas_ready)",
    ),
    "coredns_overloaded": Evidence(
        "Busiest CoreDNS pod uses {v} of its CPU limit.",
        "max(k8s_dns_coredns_cpu_usage_cores / k8s_dns_coredns_cpu_limit_cores)",
        "humanizePercentage",
    ),
    "coredns_node_overloaded": Evidence(
        "Busiest node hosting CoreDNS is at {v} CPU.",
        "max(k8s_dns_coredns_node_cpu_usage_ratio)",
        "humanizePercentage",
    ),
    "coredns_load_unbalanced": Evidence(
        "CoreDNS pods run on {v} distinct node(s).",
        "max(k8s_dns_coredns_replica_nodes)",
    ),
    "coredns_config_error": Evidence(
        "External-name probes failing through CoreDNS: {v}.",
        'count(k8s_dns_probe_success{path=~"service|pod"} == 0)',
    ),
    "coredns_autopath_defect": Evidence(
        "Corefile has autopath enabled: {v}.",
        'max(k8s_dns_corefile_plugin_enabled{plugin="autopath"})',
    ),
    "coredns_headless_stale": Evidence(
        "CoreDNS pods reporting a version: {v}.",
        "count(k8s_dns_coredns_pod_info)",
    ),
    "coredns_api_unreachable": Evidence(
        "Probes to CoreDNS pods failing: {v}.",
        'count(k8s_dns_probe_success{path="pod"} == 0)',
    ),
    "service_routing_broken": Evidence(
        "Probes to the kube-dns Service failing: {v}.",
        'count(k8s_dns_probe_success{path="service"} == 0)',
    ),
    "ipvs_udp_stale": Evidence(
        "UDP probes to the kube-dns Service failing: {v}.",
        'count(k8s_dns_probe_success{path="service",transport="udp"} == 0)',
    ),
    "dns_port_blocked": Evidence(
        "Probes to CoreDNS pods timing out in the last 5m: {v}.",
        'sum(increase(k8s_dns_probe_failures_total{path="pod",reason="timeout"}[5m]))',
    ),
    "pod_network_broken": Evidence(
        "Failing probes on the affected node(s): {v}.",
        "count(k8s_dns_probe_success == 0)",
    ),
    "conntrack_table_full": Evidence(
        "Fullest conntrack table: {v}.",
        "max(k8s_dns_node_conntrack_entries / k8s_dns_node_conntrack_entries_limit)",
        "humanizePercentage",
    ),
    "conntrack_race_a_aaaa": Evidence(
        "conntrack insert failures per second, worst node: {v}.",
        "max(rate(k8s_dns_node_conntrack_insert_failed_total[5m]))",
    ),
    "client_overloaded": Evidence(
        "UDP receive errors per second, worst node: {v}.",
        "max(rate(k8s_dns_node_udp_in_errors_total[5m]))",
    ),
    "pod_resolv_conf_wrong": Evidence(
        "Most queries one lookup takes through the pod resolv.conf: {v}.",
        "max(k8s_dns_resolver_lookup_queries)",
    ),
    "node_dns_config_stale": Evidence(
        "Newest node resolv.conf change: {v} ago.",
        "time() - max(k8s_dns_node_resolv_conf_modified_timestamp_seconds)",
        "humanizeDuration",
    ),
    "upstream_mixed_resolvers": Evidence(
        "Upstream probes failing: {v}.",
        'count(k8s_dns_probe_success{path="upstream"} == 0)',
    ),
    "upstream_unreachable": Evidence(
        "Upstream probes timing out in the last 5m: {v}.",
        'sum(increase(k8s_dns_probe_failures_total{path="upstream",reason=~"timeout|network_error"}[5m]))',
    ),
    "upstream_error": Evidence(
        "Upstream error answers in the last 5m: {v}.",
        'sum(increase(k8s_dns_probe_failures_total{path="upstream",reason=~"servfail|refused|nxdomain"}[5m]))',
    ),
    "upstream_tcp_unsupported": Evidence(
        "Upstream TCP probes failing: {v}.",
        'count(k8s_dns_probe_success{path="upstream",transport="tcp"} == 0)',
    ),
    "response_truncated": Evidence(
        "Truncated UDP answers in the last 5m: {v}.",
        'sum(increase(k8s_dns_probe_failures_total{reason="truncated"}[5m]))',
    ),
    "endpointslice_migration": Evidence(
        "Services relying on tolerate-unready-endpoints: {v}.",
        "max(k8s_dns_tolerate_unready_services)",
    ),
    "statefulset_service_mismatch": Evidence(
        "StatefulSets without a matching headless Service: {v}.",
        "max(k8s_dns_statefulsets_service_mismatch)",
    ),
    "nodelocal_bypassed": Evidence(
        "Nodes where NodeLocal DNSCache answers: {v}.",
        'count(k8s_dns_probe_success{path="nodelocal"} == 1)',
    ),
    "nodelocal_down": Evidence(
        "NodeLocal DNSCache probes failing: {v}.",
        'count(k8s_dns_probe_success{path="nodelocal"} == 0)',
    ),
}
