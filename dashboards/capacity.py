"""CoreDNS capacity: pods, restarts, CPU and memory against limits, replicas now vs recommended."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.panels import CLUSTER, listing, series, single, variables

RATE = "$__rate_interval"


def build() -> dashboard.Dashboard:
    board = (
        dashboard.Dashboard("k8s-dns-exporter / CoreDNS capacity")
        .uid("k8s-dns-coredns-capacity")
        .description(
            "CoreDNS replicas, readiness, restarts, CPU and memory against limits, and what the cluster needs."
        )
        .tags(["k8s-dns-exporter", "dns", "kubernetes", "coredns"])
        .refresh("1m")
        .time("now-24h", "now")
    )
    board = variables(board)
    return (
        board.with_row(dashboard.Row("Replicas"))
        .with_panel(
            single(
                "Replicas",
                "CoreDNS pods behind kube-dns.",
                "short",
                f"max(k8s_dns_coredns_replicas{{{CLUSTER}}})",
            )
        )
        .with_panel(
            single(
                "Ready", "CoreDNS pods Ready.", "short", f"max(k8s_dns_coredns_replicas_ready{{{CLUSTER}}})"
            )
        )
        .with_panel(
            single(
                "Recommended",
                "Most replicas any formula recommends (cluster-proportional linear, memory).",
                "short",
                f"max(cluster:k8s_dns_coredns_replicas_recommended:max{{{CLUSTER}}})",
            )
        )
        .with_panel(
            single(
                "Nodes hosting CoreDNS",
                "Distinct nodes running CoreDNS pods; fewer than 2 means one node failure stops DNS.",
                "short",
                f"max(k8s_dns_coredns_replica_nodes{{{CLUSTER}}})",
            )
        )
        .with_panel(
            series(
                "Replicas now vs recommended",
                "linear: max(cores / 256, nodes / 16), at least 2; memory: the replicas the Corefile's memory "
                "need fits in at the current limit.",
                "short",
                (f"max(k8s_dns_coredns_replicas{{{CLUSTER}}})", "running"),
                (
                    f"max by (formula) (k8s_dns_coredns_recommended_replicas{{{CLUSTER}}})",
                    "recommended ({{formula}})",
                ),
                width=24,
            )
        )
        .with_row(dashboard.Row("Pods"))
        .with_panel(
            series(
                "CPU usage / limit by pod",
                "From metrics.k8s.io. Sustained above 80% means latency rises under load.",
                "percentunit",
                (
                    f"k8s_dns_coredns_cpu_usage_cores{{{CLUSTER}}} / k8s_dns_coredns_cpu_limit_cores{{{CLUSTER}}}",
                    "{{coredns_pod}}",
                ),
            )
        )
        .with_panel(
            series(
                "Memory usage / limit by pod",
                "From metrics.k8s.io. CoreDNS is OOM-killed at its limit.",
                "percentunit",
                (
                    f"k8s_dns_coredns_memory_usage_bytes{{{CLUSTER}}} / k8s_dns_coredns_memory_limit_bytes{{{CLUSTER}}}",
                    "{{coredns_pod}}",
                ),
            )
        )
        .with_panel(
            series(
                "Restarts per hour by pod",
                "Rising restarts: a bad Corefile, OOM kills, or failed probes of the pod.",
                "short",
                (f"increase(k8s_dns_coredns_pod_restarts_total{{{CLUSTER}}}[1h])", "{{coredns_pod}}"),
            )
        )
        .with_panel(
            series(
                "Nodes hosting CoreDNS: CPU and memory",
                "Usage over allocatable of each node that runs a CoreDNS pod.",
                "percentunit",
                (f"k8s_dns_coredns_node_cpu_usage_ratio{{{CLUSTER}}}", "cpu {{coredns_node}}"),
                (f"k8s_dns_coredns_node_memory_usage_ratio{{{CLUSTER}}}", "memory {{coredns_node}}"),
            )
        )
        .with_panel(
            listing(
                "CoreDNS pods",
                "Each pod's node, IP and version.",
                f"max by (cluster, coredns_pod, coredns_node, ip, version) (k8s_dns_coredns_pod_info{{{CLUSTER}}})",
                height=6,
            )
        )
        .with_row(dashboard.Row("Demand"))
        .with_panel(
            series(
                "Capacity inputs",
                "What the formulas read: nodes, CPU cores, pods and Services of the cluster.",
                "short",
                (f"max(k8s_dns_cluster_nodes{{{CLUSTER}}})", "nodes"),
                (f"max(k8s_dns_cluster_cpu_cores{{{CLUSTER}}})", "cores"),
                (f"max(k8s_dns_cluster_pods{{{CLUSTER}}})", "pods"),
                (f"max(k8s_dns_cluster_services{{{CLUSTER}}})", "services"),
            )
        )
        .with_panel(
            series(
                "CoreDNS memory: recommended vs limit",
                "(pods + services) / 1000 + 54 MB, or / 250 + 56 MB with autopath, against each pod's limit.",
                "bytes",
                (f"max(k8s_dns_coredns_memory_recommended_bytes{{{CLUSTER}}})", "recommended"),
                (f"max(k8s_dns_coredns_memory_limit_bytes{{{CLUSTER}}})", "limit"),
            )
        )
        .with_panel(
            series(
                "Probe load on CoreDNS",
                "Queries per second the exporters send to the Service and the pods.",
                "reqps",
                (
                    f'sum(cluster_path:k8s_dns_queries_sent:rate5m{{path=~"service|pod", {CLUSTER}}})',
                    "probes",
                ),
                width=24,
            )
        )
    )
