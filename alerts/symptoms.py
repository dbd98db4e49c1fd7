"""Recording rules and symptom alerts: what users feel, before a cause is named.

Symptom alerts page on the probes' failure ratio per path with multi-window
burn rates against a 99.5% probe success objective (a fast burn pages, a slow
burn opens a ticket), on latency, and on the exporter itself. Their runbook is
the triage guide: read the paths against each other, then the cause alerts.
"""

from __future__ import annotations

from typing import Any

OBJECTIVE = 0.995
"""Probe success objective per path, cluster-wide."""
BUDGET = 1 - OBJECTIVE
WINDOWS = ("5m", "30m", "1h", "6h")
LATENCY_P99_SECONDS = {"service": 0.25, "pod": 0.25, "nodelocal": 0.1, "upstream": 1.0, "resolver": 1.0}
EXPORTER_JOB = 'job=~".*k8s-dns-exporter.*"'


def _ratio(window: str) -> str:
    failures = f"sum by (cluster, path) (rate(k8s_dns_probe_failures_total[{window}]))"
    probes = f"sum by (cluster, path) (rate(k8s_dns_probes_total[{window}]))"
    # No failure series at all means a ratio of 0, not "no data".
    return f"({failures} or {probes} * 0)\n/\n{probes}"


RECORDING_RULES: list[dict[str, Any]] = [
    *({"record": f"cluster_path:k8s_dns_probe_failures:ratio_rate{w}", "expr": _ratio(w)} for w in WINDOWS),
    {
        "record": "instance_path:k8s_dns_probe_success:ratio_rate5m",
        "expr": (
            "1 - (\n"
            "  (sum by (cluster, instance, node, path) (rate(k8s_dns_probe_failures_total[5m]))"
            " or sum by (cluster, instance, node, path) (rate(k8s_dns_probes_total[5m])) * 0)\n"
            "  / sum by (cluster, instance, node, path) (rate(k8s_dns_probes_total[5m]))\n)"
        ),
    },
    *(
        {
            "record": f"cluster_path:k8s_dns_probe_duration_seconds:p{q}_rate5m",
            "expr": f"histogram_quantile(0.{q}, sum by (cluster, path, le) (rate(k8s_dns_probe_duration_seconds_bucket[5m])))",
        }
        for q in ("50", "99")
    ),
    {
        "record": "cluster_path:k8s_dns_queries_sent:rate5m",
        "expr": "sum by (cluster, path) (rate(k8s_dns_queries_sent_total[5m]))",
    },
    {
        "record": "cluster:k8s_dns_cause_active:instances",
        "expr": "count by (cluster, cause, severity) (k8s_dns_cause_active == 1)",
    },
    {
        "record": "cluster:k8s_dns_coredns_replicas_recommended:max",
        "expr": "max by (cluster) (k8s_dns_coredns_recommended_replicas)",
    },
    {
        "record": "cluster:k8s_dns_coredns_replicas_shortfall:max",
        "expr": "max by (cluster) (k8s_dns_coredns_recommended_replicas) - on (cluster) max by (cluster) (k8s_dns_coredns_replicas)",
    },
    {
        "record": "cluster:k8s_dns_coredns_cpu_limit_usage:ratio_max",
        "expr": "max by (cluster) (k8s_dns_coredns_cpu_usage_cores / k8s_dns_coredns_cpu_limit_cores)",
    },
    {
        "record": "cluster:k8s_dns_coredns_memory_limit_usage:ratio_max",
        "expr": "max by (cluster) (k8s_dns_coredns_memory_usage_bytes / k8s_dns_coredns_memory_limit_bytes)",
    },
]


def _burn(short: str, long: str, factor: float) -> str:
    threshold = round(factor * BUDGET, 6)
    return (
        f"cluster_path:k8s_dns_probe_failures:ratio_rate{long} > {threshold}\n"
        f"and\ncluster_path:k8s_dns_probe_failures:ratio_rate{short} > {threshold}"
    )


_SYMPTOM = {"k8s_dns_alert": "symptom"}


def _latency_expr() -> str:
    """One alert for every path, each path against its own limit."""
    by_limit: dict[float, list[str]] = {}
    for path, limit in LATENCY_P99_SECONDS.items():
        by_limit.setdefault(limit, []).append(path)
    parts = [
        f'cluster_path:k8s_dns_probe_duration_seconds:p99_rate5m{{path=~"{"|".join(paths)}"}} > {limit}'
        for limit, paths in sorted(by_limit.items())
    ]
    return "\nor\n".join(f"({part})" for part in parts)


def _latency_limits() -> str:
    return ", ".join(f"{path} {limit * 1000:g} ms" for path, limit in LATENCY_P99_SECONDS.items())


_LOOK = "Check k8s_dns_cause_active and the cause alerts for what explains it; the triage runbook reads the paths."

SYMPTOM_ALERTS: list[dict[str, Any]] = [
    {
        "alert": "K8sDNSProbeErrorBudgetFastBurn",
        "expr": _burn("5m", "1h", 14.4),
        "for": "2m",
        "labels": {"severity": "critical", **_SYMPTOM},
        "annotations": {
            "summary": "DNS probes on path {{ $labels.path }} are failing fast",
            "description": (
                "{{ $value | humanizePercentage }} of DNS probes on path {{ $labels.path }} failed over the last "
                f"5 minutes and the last hour: at this rate the {OBJECTIVE:.1%} objective's monthly budget lasts "
                f"about two days. {_LOOK}"
            ),
        },
    },
    {
        "alert": "K8sDNSProbeErrorBudgetSlowBurn",
        "expr": _burn("30m", "6h", 6),
        "for": "15m",
        "labels": {"severity": "warning", **_SYMPTOM},
        "annotations": {
            "summary": "DNS probes on path {{ $labels.path }} keep failing",
            "description": (
                "{{ $value | humanizePercentage }} of DNS probes on path {{ $labels.path }} failed over the last "
                f"30 minutes and 6 hours, six times what the {OBJECTIVE:.1%} objective allows. {_LOOK}"
            ),
        },
    },
    {
        "alert": "K8sDNSNodePathFailing",
        "expr": "instance_path:k8s_dns_probe_success:ratio_rate5m < 0.5",
        "for": "10m",
        "labels": {"severity": "warning", **_SYMPTOM},
        "annotations": {
            "summary": "DNS path {{ $labels.path }} fails from {{ $labels.instance }}",
            "description": (
                "Only {{ $value | humanizePercentage }} of the probes on path {{ $labels.path }} from "
                "{{ $labels.instance }} succeed: a fault local to that node or one server on the path. "
                + _LOOK
            ),
        },
    },
    {
        "alert": "K8sDNSLatencyHigh",
        "expr": _latency_expr(),
        "for": "10m",
        "labels": {"severity": "warning", **_SYMPTOM},
        "annotations": {
            "summary": "DNS answers on path {{ $labels.path }} are slow",
            "description": (
                "The 99th percentile of DNS probe latency on path {{ $labels.path }} is "
                "{{ $value | humanizeDuration }}, above its limit (" + _latency_limits() + "). " + _LOOK
            ),
        },
    },
    {
        "alert": "K8sDNSFailsFromPodsNotNode",
        "expr": "max by (cluster, instance, node, name, qtype) (k8s_dns_vantage_split) == 1",
        "for": "5m",
        "labels": {"severity": "warning", **_SYMPTOM},
        "annotations": {
            "summary": "{{ $labels.name }} fails from pods but resolves from the node on {{ $labels.instance }}",
            "description": (
                "{{ $labels.name }} ({{ $labels.qtype }}) fails from the pod network on {{ $labels.instance }} "
                "while the node-vantage agent there resolves it through the node's own resolver. Check "
                "upstreams that answer differently (upstream_mixed_resolvers), a node resolver changed since "
                "CoreDNS read it (node_dns_config_stale) and policies blocking pod traffic to port 53 "
                "(dns_port_blocked); `doctor` on the node agent shows both sides."
            ),
        },
    },
    {
        "alert": "K8sDNSProbesStale",
        "expr": "time() - k8s_dns_probe_last_run_timestamp_seconds > 3 * k8s_dns_probe_interval_seconds + 30",
        "for": "5m",
        "labels": {"severity": "warning", **_SYMPTOM},
        "annotations": {
            "summary": "{{ $labels.instance }} has stopped probing DNS",
            "description": (
                "The last probe round on {{ $labels.instance }} finished {{ $value | humanizeDuration }} ago, "
                "more than three intervals: its DNS metrics are stale. Look at its logs and /healthz."
            ),
        },
    },
    {
        "alert": "K8sDNSExporterDown",
        "expr": f"up{{{EXPORTER_JOB}}} == 0",
        "for": "5m",
        "labels": {"severity": "warning", **_SYMPTOM},
        "annotations": {
            "summary": "k8s-dns-exporter {{ $labels.instance }} cannot be scraped",
            "description": (
                "Prometheus cannot scrape {{ $labels.instance }}: DNS on that node is not being watched. "
                "Look at the pod's status and logs."
            ),
        },
    },
    {
        "alert": "K8sDNSExporterAbsent",
        "expr": f"absent(up{{{EXPORTER_JOB}}})",
        "for": "15m",
        "labels": {"severity": "warning", **_SYMPTOM},
        "annotations": {
            "summary": "No k8s-dns-exporter target is scraped",
            "description": (
                "Prometheus has no k8s-dns-exporter target at all: the DaemonSet is gone or service "
                "discovery (ServiceMonitor, PodMonitor or scrape config) does not find it."
            ),
        },
    },
    {
        "alert": "K8sDNSExporterConfigReloadFailed",
        "expr": "k8s_dns_config_last_reload_successful == 0",
        "for": "5m",
        "labels": {"severity": "warning", **_SYMPTOM},
        "annotations": {
            "summary": "{{ $labels.instance }} refused its new config",
            "description": (
                "The last config reload on {{ $labels.instance }} failed; it keeps probing with the previous "
                "config. Its log line config_reload_failed names the field and the reason."
            ),
        },
    },
]
