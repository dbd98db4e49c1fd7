"""The cluster overview: is DNS answering on every path, what is wrong, what it costs."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from alerts.symptoms import OBJECTIVE
from dashboards.panels import CLUSTER, distribution, listing, series, single, variables

RATE = "$__rate_interval"


def build() -> dashboard.Dashboard:
    board = (
        dashboard.Dashboard("k8s-dns-exporter / Overview")
        .uid("k8s-dns-overview")
        .description("DNS answers on every path of the cluster, the causes named, and the probes' own load.")
        .tags(["k8s-dns-exporter", "dns", "kubernetes"])
        .refresh("30s")
        .time("now-3h", "now")
    )
    board = variables(board)
    return (
        board.with_row(dashboard.Row("Now"))
        .with_panel(
            listing(
                "Active causes",
                "Documented causes active now, with how many exporter instances report each. "
                "Each row links its cause's runbook.",
                f"cluster:k8s_dns_cause_active:instances{{{CLUSTER}}}",
                width=12,
                height=7,
                runbooks=True,
            )
        )
        .with_panel(
            single(
                "Probe success, last 5m (worst path)",
                f"Lowest share of successful probes over all paths, cluster-wide; red below the {OBJECTIVE:.1%} "
                "objective.",
                "percentunit",
                f"1 - max(cluster_path:k8s_dns_probe_failures:ratio_rate5m{{{CLUSTER}}})",
                steps=((None, "red"), (OBJECTIVE, "green")),
            )
        )
        .with_panel(
            single(
                "Exporter instances up",
                "Scraped k8s-dns-exporter targets that answer.",
                "short",
                f'count(up{{job=~".*k8s-dns-exporter.*", {CLUSTER}}} == 1)',
            )
        )
        .with_row(dashboard.Row("Paths"))
        .with_panel(
            series(
                "Probe success ratio by path",
                "Share of probes that got the expected answer, per path (service, pod, nodelocal, upstream, "
                "resolver). A path that drops while the others hold is where the fault is. The dashed line is "
                f"the {OBJECTIVE:.1%} objective.",
                "percentunit",
                (
                    f"1 - cluster_path:k8s_dns_probe_failures:ratio_rate5m{{{CLUSTER}}}",
                    "{{cluster}} {{path}}",
                ),
                steps=((None, "red"), (OBJECTIVE, "green")),
            )
        )
        .with_panel(
            series(
                "Latency by path (p50, p99)",
                "Time from query to reply; for resolver, the whole lookup with its search list.",
                "s",
                (f"cluster_path:k8s_dns_probe_duration_seconds:p99_rate5m{{{CLUSTER}}}", "p99 {{path}}"),
                (f"cluster_path:k8s_dns_probe_duration_seconds:p50_rate5m{{{CLUSTER}}}", "p50 {{path}}"),
            )
        )
        .with_panel(
            series(
                "Failures by path and reason",
                "Failed probes per second by reason: timeout, nxdomain, servfail, refused, network_error, "
                "truncated, wrong_answer, malformed.",
                "ops",
                (
                    f"sum by (path, reason) (rate(k8s_dns_probe_failures_total{{{CLUSTER}}}[{RATE}]))",
                    "{{path}} {{reason}}",
                ),
            )
        )
        .with_panel(
            series(
                "Nodes failing, by path",
                "Exporter instances where less than half of a path's probes succeed.",
                "short",
                (
                    f"count by (path) (instance_path:k8s_dns_probe_success:ratio_rate5m{{{CLUSTER}}} < 0.5)",
                    "{{path}}",
                ),
            )
        )
        .with_panel(
            distribution(
                "Latency distribution, every path",
                "How answer times spread, from the probes' histogram: a second band far above the first is "
                "retries or a slow server behind a fast one.",
                f"sum by (le) (rate(k8s_dns_probe_duration_seconds_bucket{{{CLUSTER}}}[{RATE}]))",
            )
        )
        .with_row(dashboard.Row("Upstreams"))
        .with_panel(
            series(
                "Upstream success by server and transport",
                "Share of the last probes each upstream answered, over UDP and over TCP: one that answers UDP "
                "but not TCP fails the large answers clients retry over TCP.",
                "percentunit",
                (
                    f'avg by (server, transport) (k8s_dns_probe_success{{path="upstream", {CLUSTER}}})',
                    "{{server}} {{transport}}",
                ),
            )
        )
        .with_panel(
            series(
                "Names the upstreams disagree on",
                "1 while the upstreams answer a name differently: CoreDNS then answers it one way or the "
                "other, depending on which upstream it picks.",
                "short",
                (
                    f"max by (name, qtype) (k8s_dns_upstream_disagreement{{{CLUSTER}}})",
                    "{{name}} {{qtype}}",
                ),
            )
        )
        .with_row(dashboard.Row("Load"))
        .with_panel(
            series(
                "Probe queries sent per second",
                "The exporters' own load on DNS: nodes x queries per round / interval.",
                "reqps",
                (f"sum by (path) (cluster_path:k8s_dns_queries_sent:rate5m{{{CLUSTER}}})", "{{path}}"),
                width=24,
            )
        )
    )
