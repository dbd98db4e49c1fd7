"""One node: its paths side by side, and the kernel counters that break DNS on a node."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.panels import CLUSTER, NODE, listing, series, single, variables

RATE = "$__rate_interval"
SEL = f"{CLUSTER}, {NODE}"


def build() -> dashboard.Dashboard:
    board = (
        dashboard.Dashboard("k8s-dns-exporter / Node")
        .uid("k8s-dns-node")
        .description("One node's DNS paths side by side, with conntrack, UDP and CPU readings of the host.")
        .tags(["k8s-dns-exporter", "dns", "kubernetes"])
        .refresh("30s")
        .time("now-1h", "now")
    )
    board = variables(board, node=True)
    return (
        board.with_row(dashboard.Row("Paths from this node"))
        .with_panel(
            listing(
                "Causes on this node",
                "Documented causes this node's exporter reports now; each row links its runbook. A cause "
                "named by the cluster instance shows on the node it runs on.",
                f"max by (cause, severity) (k8s_dns_cause_active{{{SEL}}} == 1)",
                height=5,
                runbooks=True,
            )
        )
        .with_panel(
            listing(
                "Last result of every probe",
                "1 = the last probe got the expected answer. Compare the paths: the Service failing while "
                "every pod answers is routing; one upstream failing alone is that upstream.",
                f"k8s_dns_probe_success{{{SEL}}}",
                height=9,
            )
        )
        .with_panel(
            listing(
                "Fails from pods, works from the node",
                "Names that fail from the pod network while the node-vantage agent on this node resolves "
                "them (deploy/components/node-vantage): look at mixed upstreams, a node resolver changed "
                "since CoreDNS read it, and policies blocking pod traffic to port 53. Empty without it.",
                f"k8s_dns_vantage_split{{{SEL}}} == 1",
                height=5,
            )
        )
        .with_panel(
            series(
                "Planned queries a round by path",
                "The agent's own load: the queries its plan sends each round (a bounded share of the "
                "CoreDNS pods and upstreams), by path.",
                "short",
                (f"k8s_dns_planned_queries{{{SEL}}}", "{{path}}"),
            )
        )
        .with_panel(
            series(
                "Success ratio by path",
                "Share of successful probes per path from this node.",
                "percentunit",
                (f"instance_path:k8s_dns_probe_success:ratio_rate5m{{{SEL}}}", "{{path}}"),
            )
        )
        .with_panel(
            series(
                "p99 latency by path and server",
                "Reply latency per server (kernel receive timestamp minus send time).",
                "s",
                (
                    "histogram_quantile(0.99, sum by (path, server, le) "
                    f"(rate(k8s_dns_probe_duration_seconds_bucket{{{SEL}}}[{RATE}])))",
                    "{{path}} {{server}}",
                ),
            )
        )
        .with_panel(
            series(
                "TCP connect, mean by path",
                "The handshake alone, part of the TCP latency above. About a second means a lost SYN "
                "the client sent again (conntrack, a full accept queue, a policy), not a slow server.",
                "s",
                (
                    f"rate(k8s_dns_probe_tcp_connect_seconds_sum{{{SEL}}}[{RATE}]) / "
                    f"rate(k8s_dns_probe_tcp_connect_seconds_count{{{SEL}}}[{RATE}])",
                    "{{path}}",
                ),
            )
        )
        .with_panel(
            series(
                "Failures by path, server and reason",
                "Failed probes per second.",
                "ops",
                (
                    f"sum by (path, server, reason) (rate(k8s_dns_probe_failures_total{{{SEL}}}[{RATE}]))",
                    "{{path}} {{server}} {{reason}}",
                ),
            )
        )
        .with_panel(
            series(
                "Queries per lookup through the pod resolv.conf",
                "What one lookup costs with the search list and ndots applied.",
                "short",
                (f"k8s_dns_resolver_lookup_queries{{{SEL}}}", "{{name}} {{qtype}}"),
            )
        )
        .with_row(dashboard.Row("Host kernel"))
        .with_panel(
            single(
                "conntrack fill",
                "Entries over the table's limit, host network namespace: orange from 75%, red from 90%.",
                "percentunit",
                f"max(k8s_dns_node_conntrack_entries{{{SEL}}} / k8s_dns_node_conntrack_entries_limit{{{SEL}}})",
                steps=((None, "green"), (0.75, "orange"), (0.9, "red")),
            )
        )
        .with_panel(
            series(
                "conntrack drops and insert failures",
                "drop and early_drop rise when the table is full; insert_failed when parallel A and AAAA "
                "queries from one socket collide.",
                "ops",
                (f"rate(k8s_dns_node_conntrack_drop_total{{{SEL}}}[{RATE}])", "drop"),
                (f"rate(k8s_dns_node_conntrack_early_drop_total{{{SEL}}}[{RATE}])", "early_drop"),
                (f"rate(k8s_dns_node_conntrack_insert_failed_total{{{SEL}}}[{RATE}])", "insert_failed"),
                width=18,
            )
        )
        .with_panel(
            series(
                "A+AAAA race probe: answers lost, parallel vs sequential",
                "The race probe sends A and AAAA at once from one socket; losses there but not in the "
                "sequential twin point at the conntrack race.",
                "ops",
                (
                    f"sum by (qtype) (rate(k8s_dns_race_probe_lost_total{{{SEL}}}[{RATE}]))",
                    "parallel {{qtype}}",
                ),
                (
                    f"sum by (qtype) (rate(k8s_dns_race_sequential_lost_total{{{SEL}}}[{RATE}]))",
                    "sequential {{qtype}}",
                ),
            )
        )
        .with_panel(
            series(
                "UDP errors and TCP retransmits",
                "Host-wide: receive errors and full buffers lose DNS answers on an overloaded node.",
                "ops",
                (f"rate(k8s_dns_node_udp_in_errors_total{{{SEL}}}[{RATE}])", "udp InErrors"),
                (f"rate(k8s_dns_node_udp_receive_buffer_errors_total{{{SEL}}}[{RATE}])", "udp RcvbufErrors"),
                (f"rate(k8s_dns_node_tcp_retransmitted_segments_total{{{SEL}}}[{RATE}])", "tcp RetransSegs"),
            )
        )
        .with_panel(
            series(
                "CPU pressure",
                "Share of time some task waited for CPU (PSI).",
                "percentunit",
                (f"rate(k8s_dns_node_cpu_pressure_seconds_total{{{SEL}}}[{RATE}])", "cpu some"),
            )
        )
        .with_panel(
            listing(
                "Node resolv.conf",
                "The node's resolver: the servers CoreDNS forwards to with `forward . /etc/resolv.conf`.",
                f"k8s_dns_node_resolv_conf_info{{{SEL}}}",
                height=5,
            )
        )
    )
