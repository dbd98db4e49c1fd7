"""Optional companion alerts on CoreDNS's and node_exporter's own metrics.

Each names the cause its signal points to and links that cause's runbook, so the
generator writes them with the same runbook base as the cause alerts. None pages:
they are the servers' own counters, not probes of what pods see (the severity model
in exporter/causes/_unit.py).
"""

from __future__ import annotations

from typing import Any

from alerts.settings import Settings

_COMPANION = "companion"


def _forward_count(job: str, matchers: str) -> str:
    """Forwarded requests per second by upstream: CoreDNS >= 1.11 (``coredns_proxy_*``), else the
    ``coredns_forward_*`` names older releases export (only one of them exists on a server)."""
    current = f'coredns_proxy_request_duration_seconds_count{{{job},proxy_name="forward"{matchers}}}'
    legacy = f"coredns_forward_responses_total{{{job}{matchers}}}"
    return f"(sum by (cluster, to) (rate({current}[5m]))\n or sum by (cluster, to) (rate({legacy}[5m])))"


def _forward_buckets(job: str) -> str:
    current = f'coredns_proxy_request_duration_seconds_bucket{{{job},proxy_name="forward"}}'
    legacy = f"coredns_forward_request_duration_seconds_bucket{{{job}}}"
    return (
        f"histogram_quantile(0.99,\n"
        f"  sum by (cluster, to, le) (rate({current}[5m]))\n"
        f"  or sum by (cluster, to, le) (rate({legacy}[5m])))"
    )


def _rule(
    alert: str, expr: str, wait: str | None, cause: str, *, summary: str, description: str
) -> dict[str, Any]:
    rule: dict[str, Any] = {"alert": alert, "expr": expr}
    if wait:
        rule["for"] = wait
    rule["labels"] = {"severity": "warning", "k8s_dns_alert": _COMPANION, "cause": cause}
    rule["annotations"] = {"summary": summary, "description": description}
    return rule


def coredns_rules(job: str) -> list[dict[str, Any]]:
    """The alerts on CoreDNS's metrics, read from the scrape job ``job`` (a matcher)."""
    return [
        _rule(
            "CoreDNSUpstreamErrors",
            _forward_count(job, ',rcode=~"SERVFAIL|REFUSED"')
            + "\n/\n"
            + _forward_count(job, "")
            + "\n> 0.05",
            "10m",
            "upstream_error",
            summary="Upstream {{ $labels.to }} answers CoreDNS with errors",
            description="{{ $value | humanizePercentage }} of what CoreDNS forwards to {{ $labels.to }} comes back SERVFAIL "
            "or REFUSED.",
        ),
        _rule(
            "CoreDNSUpstreamLatencyHigh",
            f"{_forward_buckets(job)}\n> 1",
            "10m",
            "upstream_unreachable",
            summary="Upstream {{ $labels.to }} is slow to answer CoreDNS",
            description="The 99th percentile of CoreDNS's requests to {{ $labels.to }} takes {{ $value | humanizeDuration }}.",
        ),
        _rule(
            "CoreDNSAllUpstreamsUnhealthy",
            f"sum by (cluster) (increase(coredns_forward_healthcheck_broken_total{{{job}}}[5m])) > 0",
            "2m",
            "upstream_unreachable",
            summary="CoreDNS finds every upstream unhealthy",
            description="CoreDNS's health checks failed for all upstreams {{ $value }} time(s) in 5 minutes; it sprays "
            "queries at random.",
        ),
        _rule(
            "CoreDNSForwardConcurrencyRejects",
            f"sum by (cluster) (rate(coredns_forward_max_concurrent_rejects_total{{{job}}}[5m])) > 0",
            "10m",
            "coredns_overloaded",
            summary="CoreDNS refuses queries at its forward concurrency limit",
            description="CoreDNS answers REFUSED to {{ $value | humanize }} queries per second because max_concurrent is "
            "reached.",
        ),
        _rule(
            "CoreDNSPanics",
            f"sum by (cluster) (increase(coredns_panics_total{{{job}}}[10m])) > 0",
            None,
            "coredns_unavailable",
            summary="CoreDNS panicked",
            description="CoreDNS panicked {{ $value }} time(s) in 10 minutes; its pods restart.",
        ),
        _rule(
            "CoreDNSDown",
            f"absent(up{{{job}}} == 1)",
            "15m",
            "coredns_unavailable",
            summary="Prometheus scrapes no CoreDNS pod",
            description=(
                f"No target of the job {job} is up: CoreDNS is down, or Prometheus no longer finds it. "
                "The exporter's probes tell which."
            ),
        ),
        _rule(
            "CoreDNSServfailHigh",
            f'sum by (cluster) (rate(coredns_dns_responses_total{{{job},rcode="SERVFAIL"}}[5m]))\n'
            f"/\nsum by (cluster) (rate(coredns_dns_responses_total{{{job}}}[5m]))\n> 0.01",
            "10m",
            "upstream_error",
            summary="CoreDNS answers SERVFAIL to many queries",
            description=(
                "{{ $value | humanizePercentage }} of CoreDNS's answers are SERVFAIL: an upstream failing, or "
                "CoreDNS unable to read the API."
            ),
        ),
        _rule(
            "CoreDNSLatencyHigh",
            "histogram_quantile(0.99,\n"
            f"  sum by (cluster, le) (rate(coredns_dns_request_duration_seconds_bucket{{{job}}}[5m])))\n> 1",
            "10m",
            "coredns_overloaded",
            summary="CoreDNS is slow to answer",
            description=(
                "The 99th percentile of CoreDNS's own answer time is {{ $value | humanizeDuration }} (forwarding "
                "included)."
            ),
        ),
        _rule(
            "CoreDNSUpstreamHealthcheckFailing",
            f"sum by (cluster, to) (rate(coredns_forward_healthcheck_failures_total{{{job}}}[5m])) > 0",
            "10m",
            "upstream_unreachable",
            summary="CoreDNS's health checks of upstream {{ $labels.to }} fail",
            description=(
                "CoreDNS's health checks of {{ $labels.to }} fail {{ $value | humanize }} times a second: it "
                "sends that upstream's share of queries to the others."
            ),
        ),
        _rule(
            "NodeLocalDNSSetupErrors",
            "increase(coredns_nodecache_setup_errors_total[10m]) > 0",
            None,
            "nodelocal_down",
            summary="NodeLocal DNSCache on {{ $labels.instance }} fails to set up",
            description=(
                "NodeLocal DNSCache on {{ $labels.instance }} failed {{ $value }} time(s) in 10 minutes to set up "
                "its interface or iptables rules ({{ $labels.errortype }}): pods on that node may bypass it or "
                "get no answer."
            ),
        ),
    ]


NODE_EXPORTER_RULES: list[dict[str, Any]] = [
    _rule(
        "NodeConntrackTableFilling",
        "node_nf_conntrack_entries / node_nf_conntrack_entries_limit > 0.75 <= 0.9",
        "15m",
        "conntrack_table_full",
        summary="conntrack table on {{ $labels.instance }} is filling",
        description=(
            "The conntrack table on {{ $labels.instance }} is {{ $value | humanizePercentage }} full: at 100% "
            "new UDP flows, DNS among them, are dropped."
        ),
    ),
    _rule(
        "NodeConntrackTableNearlyFull",
        "node_nf_conntrack_entries / node_nf_conntrack_entries_limit > 0.9",
        "5m",
        "conntrack_table_full",
        summary="conntrack table on {{ $labels.instance }} is nearly full",
        description="The conntrack table on {{ $labels.instance }} is {{ $value | humanizePercentage }} full; new UDP "
        "flows, DNS among them, are dropped when it fills.",
    ),
    _rule(
        "NodeConntrackDropping",
        "rate(node_nf_conntrack_stat_drop[5m]) + rate(node_nf_conntrack_stat_early_drop[5m]) > 0",
        "5m",
        "conntrack_table_full",
        summary="conntrack drops packets on {{ $labels.instance }}",
        description="conntrack on {{ $labels.instance }} drops {{ $value | humanize }} packets per second.",
    ),
    _rule(
        "NodeConntrackInsertFailures",
        "rate(node_nf_conntrack_stat_insert_failed[5m]) > 0",
        "15m",
        "conntrack_race_a_aaaa",
        summary="conntrack insert failures on {{ $labels.instance }}",
        description="conntrack on {{ $labels.instance }} fails {{ $value | humanize }} inserts per second: parallel A "
        "and AAAA queries from one socket collide.",
    ),
    _rule(
        "NodeUDPReceiveErrors",
        "rate(node_netstat_Udp_InErrors[5m]) + rate(node_netstat_Udp_RcvbufErrors[5m]) > 1",
        "10m",
        "client_overloaded",
        summary="UDP receive errors on {{ $labels.instance }}",
        description="{{ $labels.instance }} drops {{ $value | humanize }} UDP datagrams per second on receive: DNS "
        "answers are lost.",
    ),
]


def coredns_capacity_rules(job: str) -> list[dict[str, Any]]:
    """Capacity planning from what Prometheus already scrapes of CoreDNS: the figures the cluster
    instance reads from each pod (``k8s_dns_coredns_queries_per_second`` and the rest), per scraped
    CoreDNS instance and per cluster."""
    forward = f'coredns_proxy_request_duration_seconds_{{}}{{{{{job},proxy_name="forward"}}}}'
    return [
        {
            "record": "instance:coredns_dns_requests:rate5m",
            "expr": f"sum by (cluster, instance) (rate(coredns_dns_requests_total{{{job}}}[5m]))",
        },
        {
            "record": "cluster:coredns_dns_requests:rate5m",
            "expr": "sum by (cluster) (instance:coredns_dns_requests:rate5m)",
        },
        {
            "record": "cluster:coredns_dns_requests:peak_rate5m_1d",
            "expr": "max_over_time(cluster:coredns_dns_requests:rate5m[1d])",
        },
        {
            "record": "instance:coredns_cache_hits:ratio_rate5m",
            "expr": f"sum by (cluster, instance) (rate(coredns_cache_hits_total{{{job}}}[5m]))\n/\n"
            f"sum by (cluster, instance) (rate(coredns_cache_requests_total{{{job}}}[5m]))",
        },
        {
            "record": "instance:coredns_dns_request_duration_seconds:mean_rate5m",
            "expr": f"sum by (cluster, instance) (rate(coredns_dns_request_duration_seconds_sum{{{job}}}[5m]))\n/\n"
            f"sum by (cluster, instance) (rate(coredns_dns_request_duration_seconds_count{{{job}}}[5m]))",
        },
        {
            "record": "cluster_to:coredns_forward_duration_seconds:mean_rate5m",
            "expr": f"sum by (cluster, to) (rate({forward.format('sum')}[5m]))\n/\n"
            f"sum by (cluster, to) (rate({forward.format('count')}[5m]))",
        },
        {
            "record": "cluster:coredns_dns_requests:per_core_rate5m",
            "expr": "cluster:coredns_dns_requests:rate5m\n/\n"
            'on (cluster) sum by (cluster) (rate(container_cpu_usage_seconds_total{container="coredns"}[5m]))',
        },
    ]


def recording_groups(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """File name: groups of recording rules it holds after its alerts."""
    rules = coredns_capacity_rules(settings.coredns_job)
    return {"coredns.rules.yml": [{"name": "k8s-dns.companion.coredns.capacity", "rules": rules}]}


def companion_files(settings: Settings) -> dict[str, tuple[str, str, list[dict[str, Any]]]]:
    """File name: (group name, what the file holds, its rules)."""
    return {
        "coredns.rules.yml": (
            "k8s-dns.companion.coredns",
            "On CoreDNS's own metrics (its `prometheus` plugin, port 9153), from the job "
            f"{settings.coredns_job}; the forward plugin's coredns_proxy_* (CoreDNS >= 1.11), else "
            "coredns_forward_*.",
            coredns_rules(settings.coredns_job),
        ),
        "node-exporter.rules.yml": (
            "k8s-dns.companion.node-exporter",
            "On node_exporter's conntrack and netstat collectors, for clusters that already run it; the "
            "exporter's own node readings cover the same causes from inside the DNS path.",
            NODE_EXPORTER_RULES,
        ),
    }
