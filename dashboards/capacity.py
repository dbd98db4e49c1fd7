"""CoreDNS capacity: pods, CPU and memory against limits, measured demand, recommendations, headroom."""

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
                "Most replicas any formula recommends (demand, the running autoscaler, the linear rule).",
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
        .with_row(dashboard.Row("Pods"))
        .with_panel(
            series(
                "CPU usage / limit (or request) by pod",
                "From metrics.k8s.io, against the limit, or the request where no limit is set (kubeadm, EKS). Sustained above 80% means latency rises under load.",
                "percentunit",
                (
                    f"k8s_dns_coredns_cpu_usage_cores{{{CLUSTER}}} / k8s_dns_coredns_cpu_limit_cores{{{CLUSTER}}}",
                    "{{coredns_pod}} / limit",
                ),
                (
                    f"k8s_dns_coredns_cpu_usage_cores{{{CLUSTER}}} / k8s_dns_coredns_cpu_request_cores{{{CLUSTER}}} unless k8s_dns_coredns_cpu_limit_cores{{{CLUSTER}}}",
                    "{{coredns_pod}} / request",
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
                "Queries per second by pod against CPU",
                "Each pod's query rate, read from its own metrics (coredns_dns_requests_total) between the exporter's reads, beside its CPU from metrics.k8s.io (right axis: cores).",
                "reqps",
                (f"k8s_dns_coredns_queries_per_second{{{CLUSTER}}}", "q/s {{coredns_pod}}"),
                (f"k8s_dns_coredns_cpu_usage_cores{{{CLUSTER}}} * 1000", "CPU millicores {{coredns_pod}}"),
            )
        )
        .with_panel(
            series(
                "Queries per core by pod",
                "Queries a second per CPU core in use. CoreDNS's scaling notes measured about 17,700 server-side queries a second per core on a 2-core node.",
                "short",
                (f"k8s_dns_coredns_queries_per_core{{{CLUSTER}}}", "{{coredns_pod}}"),
            )
        )
        .with_panel(
            series(
                "Total and peak query rate",
                "All CoreDNS pods together, and the highest total of the exporter's peak window (kept in its memory: it starts again when the exporter restarts).",
                "reqps",
                (f"sum by (cluster) (k8s_dns_coredns_queries_per_second{{{CLUSTER}}})", "now"),
                (f"max by (cluster) (k8s_dns_coredns_queries_per_second_peak{{{CLUSTER}}})", "peak"),
            )
        )
        .with_panel(
            series(
                "Cache hit ratio by pod",
                "Cache lookups answered from the cache. A low ratio sends more queries upstream.",
                "percentunit",
                (f"k8s_dns_coredns_cache_hit_ratio{{{CLUSTER}}}", "{{coredns_pod}}"),
            )
        )
        .with_panel(
            series(
                "Forward latency by upstream",
                "Mean time of a query CoreDNS forwards to each upstream; the slowest pod's view.",
                "s",
                (
                    f"max by (cluster, to) (k8s_dns_coredns_forward_duration_mean_seconds{{{CLUSTER}}})",
                    "{{to}}",
                ),
            )
        )
        .with_panel(
            series(
                "Answer latency by pod",
                "Mean time CoreDNS took to answer, from its own request duration histogram.",
                "s",
                (f"k8s_dns_coredns_request_duration_mean_seconds{{{CLUSTER}}}", "{{coredns_pod}}"),
            )
        )
        .with_row(dashboard.Row("Recommendations and headroom"))
        .with_panel(
            series(
                "Recommended replicas by formula",
                "demand: the peak at the target utilisation, one replica spare and a zone's loss covered; autoscaler: the running autoscaler's own formula; linear: the exporter's linear rule.",
                "short",
                (f"max(k8s_dns_coredns_replicas{{{CLUSTER}}})", "running"),
                (f"max by (formula) (k8s_dns_coredns_recommended_replicas{{{CLUSTER}}})", "{{formula}}"),
            )
        )
        .with_panel(
            series(
                "Peak utilisation after a loss",
                "The peak over what the replicas carry, now and after losing one replica, the busiest node or the busiest zone. Above the target utilisation, the loss hurts.",
                "percentunit",
                (f"max by (lost) (k8s_dns_coredns_peak_utilisation_ratio{{{CLUSTER}}})", "{{lost}} lost"),
            )
        )
        .with_panel(
            series(
                "Capacity inputs",
                "What the size formulas read: nodes, CPU cores, pods and Services of the cluster.",
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
                "(pods + services) / 1000 + 54 MiB, or / 250 + 56 MiB with autopath, against each pod's limit.",
                "bytes",
                (f"max(k8s_dns_coredns_memory_recommended_bytes{{{CLUSTER}}})", "recommended"),
                (f"max(k8s_dns_coredns_memory_limit_bytes{{{CLUSTER}}})", "limit"),
            )
        )
    )
