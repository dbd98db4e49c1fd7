"""Recording rules and symptom alerts: what users feel, before a cause is named.

Symptom alerts fire on the probes' failure ratio per path with multi-window
burn rates against a 99.5% probe success objective, and on latency; exporter
alerts on the exporter itself. Only a fast burn on a path pods use, seen from a
share of the nodes, pages (``critical`` in the severity model of
exporter/causes/_unit.py); a page lists the causes active in its cluster. Their
runbook is the triage guide: read the paths against each other, then the causes.
"""

from __future__ import annotations

from typing import Any

from alerts.settings import Settings

OBJECTIVE = Settings().objective
"""The default probe success objective (the dashboards mark it)."""
WINDOWS = ("5m", "30m", "1h", "6h")

PAGED_PATHS = ("service", "nodelocal", "resolver")
"""The paths pods' own lookups take. ``pod`` (one CoreDNS replica, which the Service routes around
when it is not Ready) and ``upstream`` (which CoreDNS health-checks around) are not asked by pods."""
BACKEND_PATHS = ("pod", "upstream")

FAST_BURN = 14.4
SLOW_BURN = 6.0


def rules(settings: Settings) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The recording rules and the symptom and exporter alerts, for ``settings``."""
    objective = settings.objective
    budget = 1 - objective
    latency_limits = settings.latency_p99_seconds
    exporter_job = settings.exporter_job
    page_share = settings.page_node_share

    failing = (
        "count by (cluster, path) (instance_path:k8s_dns_probe_success:ratio_rate5m"
        f" < {1 - round(FAST_BURN * budget, 6):g})\n"
        "or count by (cluster, path) (instance_path:k8s_dns_probe_success:ratio_rate5m) * 0"
    )
    """Nodes whose own probes on the path fail beyond the fast-burn rate (0, not nothing, when none)."""

    ready_ips = "cluster_ip:k8s_dns_coredns_pod_ready:max"
    """The IPs of the CoreDNS pods that are Ready (the cluster instance reads them): the endpoints the
    kube-dns Service routes to."""

    def _served(metric: str, by: str, window: str) -> str:
        """``sum by (<by>) (rate(metric[window]))``, the ``pod`` path counting only Ready CoreDNS pods.

        A pod that is not Ready gets no traffic from the Service; its failures are the cause alert's
        (coredns_unavailable), not the objective's. Where no pod is Ready, or no cluster instance
        reports readiness, every pod counts.
        """
        pod = f'rate({metric}{{path="pod"}}[{window}])'
        by_ip = f'label_replace({pod}, "ip", "$1", "server", "\\\\[?(.*?)\\\\]?:[0-9]+")'
        return (
            f'sum by ({by}) (rate({metric}{{path!="pod"}}[{window}]))\n'
            f"or sum by ({by}) (\n"
            f"  ({by_ip} and on (cluster, ip) {ready_ips})\n"
            f"  or ({pod} unless on (cluster) {ready_ips})\n"
            ")"
        )

    def _ratio(window: str, by: str = "cluster, path") -> str:
        failures = f"({_served('k8s_dns_probe_failures_total', by, window)})"
        probes = f"({_served('k8s_dns_probes_total', by, window)})"
        # No failure series at all means a ratio of 0, not "no data".
        return f"({failures}\nor {probes} * 0)\n/\n{probes}"

    recording: list[dict[str, Any]] = [
        {
            "record": ready_ips,
            "expr": (
                "max by (cluster, ip) (\n"
                "  k8s_dns_coredns_pod_info\n"
                "  * on (cluster, coredns_pod) group_left ()\n"
                "  (max by (cluster, coredns_pod) (k8s_dns_coredns_pod_ready) == 1)\n"
                ")"
            ),
        },
        *(
            {"record": f"cluster_path:k8s_dns_probe_failures:ratio_rate{w}", "expr": _ratio(w)}
            for w in WINDOWS
        ),
        {
            "record": "instance_path:k8s_dns_probe_success:ratio_rate5m",
            "expr": f"1 - (\n{_ratio('5m', 'cluster, instance, node, path')}\n)",
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
        {"record": "cluster_path:k8s_dns_probe_instances_failing:count5m", "expr": failing},
        {
            "record": "cluster_path:k8s_dns_probe_instances_failing:ratio5m",
            "expr": f"({failing})\n/\ncount by (cluster, path) (instance_path:k8s_dns_probe_success:ratio_rate5m)",
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

    def _burn(short: str, long: str, factor: float, paths: tuple[str, ...]) -> str:
        threshold = round(factor * budget, 6)
        selector = f'{{path=~"{"|".join(paths)}"}}'
        return (
            f"cluster_path:k8s_dns_probe_failures:ratio_rate{long}{selector} > {threshold}\n"
            f"and\ncluster_path:k8s_dns_probe_failures:ratio_rate{short}{selector} > {threshold}"
        )

    wide = (
        "(\n"
        f"  cluster_path:k8s_dns_probe_instances_failing:ratio5m >= {page_share}\n"
        "  and on (cluster, path)\n"
        "  (cluster_path:k8s_dns_probe_instances_failing:count5m >= 2"
        " or cluster_path:k8s_dns_probe_instances_failing:ratio5m == 1)\n)"
    )
    """A share of the cluster's nodes fail on the path, two at least unless all of them do."""

    symptom = {"k8s_dns_alert": "symptom"}
    exporter = {"k8s_dns_alert": "exporter"}
    """The exporter's own health: never inhibited by a cause (a blind watcher explains nothing)."""

    def _latency_expr() -> str:
        """One alert for every path, each path against its own limit."""
        by_limit: dict[float, list[str]] = {}
        for path, limit in latency_limits.items():
            by_limit.setdefault(limit, []).append(path)
        parts = [
            f'cluster_path:k8s_dns_probe_duration_seconds:p99_rate5m{{path=~"{"|".join(paths)}"}} > {limit}'
            for limit, paths in sorted(by_limit.items())
        ]
        return "\nor\n".join(f"({part})" for part in parts)

    def _latency_limits() -> str:
        return ", ".join(f"{path} {limit * 1000:g} ms" for path, limit in latency_limits.items())

    look = "Check k8s_dns_cause_active and the cause alerts for what explains it; the triage runbook reads the paths."

    fast = _burn("5m", "1h", FAST_BURN, (*PAGED_PATHS, *BACKEND_PATHS))
    page = _burn("5m", "1h", FAST_BURN, PAGED_PATHS) + f"\nand on (cluster, path) {wide}"
    fast_text = (
        "{{ $value | humanizePercentage }} of DNS probes on path {{ $labels.path }} failed over the last "
        f"5 minutes and the last hour: at this rate the {objective:.1%} objective's monthly budget lasts about two days."
    )
    nodes_failing = (
        "{{ with printf `cluster_path:k8s_dns_probe_instances_failing:count5m{cluster=%q,path=%q}` "
        "$labels.cluster $labels.path | query }}{{ . | first | value }} node(s) fail on it themselves.{{ end }}"
    )

    alerts: list[dict[str, Any]] = [
        {
            "alert": "K8sDNSProbeErrorBudgetFastBurn",
            "expr": page,
            "for": "2m",
            "keep_firing_for": "5m",
            "labels": {"severity": "critical", **symptom},
            "annotations": {
                "summary": "DNS lookups on path {{ $labels.path }} are failing fast across the cluster",
                "description": f"{fast_text} {nodes_failing} {look}",
            },
        },
        {
            "alert": "K8sDNSProbeErrorBudgetFastBurnPartial",
            "expr": f"({fast})\nunless on (cluster, path) (\n{page}\n)",
            "for": "2m",
            "labels": {"severity": "warning", **symptom},
            "annotations": {
                "summary": "DNS probes on path {{ $labels.path }} are failing fast, not on a share of nodes pods use",
                "description": (
                    f"{fast_text} {nodes_failing} Either the path is one pods do not query themselves "
                    f"({', '.join(BACKEND_PATHS)}: CoreDNS and the Service route around one bad server) or too few "
                    f"nodes fail for a page (less than {page_share:.0%} of them, or one). {look}"
                ),
            },
        },
        {
            "alert": "K8sDNSProbeErrorBudgetSlowBurn",
            "expr": _burn("30m", "6h", SLOW_BURN, (*PAGED_PATHS, *BACKEND_PATHS)),
            "for": "15m",
            "labels": {"severity": "warning", **symptom},
            "annotations": {
                "summary": "DNS probes on path {{ $labels.path }} keep failing",
                "description": (
                    "{{ $value | humanizePercentage }} of DNS probes on path {{ $labels.path }} failed over the last "
                    f"30 minutes and 6 hours, six times what the {objective:.1%} objective allows. {look}"
                ),
            },
        },
        {
            "alert": "K8sDNSNodePathFailing",
            "expr": "instance_path:k8s_dns_probe_success:ratio_rate5m < 0.5",
            "for": "10m",
            "keep_firing_for": "10m",
            "labels": {"severity": "warning", **symptom},
            "annotations": {
                "summary": "DNS path {{ $labels.path }} fails from node {{ $labels.node }} ({{ $labels.instance }})",
                "description": (
                    "Only {{ $value | humanizePercentage }} of the probes on path {{ $labels.path }} from "
                    "{{ $labels.instance }} succeed: a fault local to that node or one server on the path. "
                    + look
                ),
            },
        },
        {
            "alert": "K8sDNSFailsFromPodsNotNode",
            "expr": "max by (cluster, instance, node, name, qtype) (k8s_dns_vantage_split) == 1",
            "for": "5m",
            "labels": {"severity": "warning", **symptom},
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
            "alert": "K8sDNSLatencyHigh",
            "expr": _latency_expr(),
            "for": "10m",
            "labels": {"severity": "warning", **symptom},
            "annotations": {
                "summary": "DNS answers on path {{ $labels.path }} are slow",
                "description": (
                    "The 99th percentile of DNS probe latency on path {{ $labels.path }} is "
                    "{{ $value | humanizeDuration }}, above its limit (" + _latency_limits() + "). " + look
                ),
            },
        },
        {
            "alert": "K8sDNSProbesStale",
            "expr": "time() - k8s_dns_probe_last_run_timestamp_seconds > 3 * k8s_dns_probe_interval_seconds + 30",
            "for": "5m",
            "labels": {"severity": "warning", **exporter},
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
            "expr": f"up{{{exporter_job}}} == 0",
            "for": "5m",
            "labels": {"severity": "warning", **exporter},
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
            "expr": f"absent(up{{{exporter_job}}})",
            "for": "15m",
            "labels": {"severity": "warning", **exporter},
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
            "labels": {"severity": "warning", **exporter},
            "annotations": {
                "summary": "{{ $labels.instance }} refused its new config",
                "description": (
                    "The last config reload on {{ $labels.instance }} failed; it keeps probing with the previous "
                    "config. Its log line config_reload_failed names the field and the reason."
                ),
            },
        },
        {
            "alert": "K8sDNSExporterCollectorFailing",
            "expr": f"k8s_dns_collector_success{{{exporter_job}}} == 0",
            "for": "15m",
            "labels": {"severity": "warning", **exporter},
            "annotations": {
                "summary": "Collector {{ $labels.collector }} fails on {{ $labels.instance }}",
                "description": (
                    "The {{ $labels.collector }} collector on {{ $labels.instance }} has not read its source for "
                    "15 minutes: the causes it feeds cannot be named there. Its log lines name the error; /diagnose "
                    "shows the collector's state."
                ),
            },
        },
        {
            "alert": "K8sDNSExporterLeaderMissing",
            "expr": f"sum by (cluster) (k8s_dns_leader{{{exporter_job}}}) != 1",
            "for": "5m",
            "labels": {"severity": "warning", **exporter},
            "annotations": {
                "summary": "{{ $value }} cluster instances hold the Lease",
                "description": (
                    "{{ $value }} k8s-dns-exporter cluster instances report themselves leader, not one: with none, "
                    "nothing reads the API (CoreDNS pods, Corefile, capacity) and the causes told from it go "
                    "unnamed; with two, both report. Look at the Lease in the exporter's namespace and the "
                    "cluster instances' logs."
                ),
            },
        },
        {
            "alert": "K8sDNSExporterDiscoveryEmpty",
            "expr": f'k8s_dns_discovery_targets{{{exporter_job},path=~"service|pod"}} == 0',
            "for": "10m",
            "labels": {"severity": "warning", **exporter},
            "annotations": {
                "summary": "{{ $labels.instance }} finds no {{ $labels.path }} target to probe",
                "description": (
                    "Discovery on {{ $labels.instance }} found no target for path {{ $labels.path }} for 10 minutes: "
                    "that path goes unprobed there (the kube-dns Service or its EndpointSlices are not found, or "
                    "the exporter may not read them). /diagnose shows the discovery errors."
                ),
            },
        },
        {
            "alert": "K8sDNSExporterAgentsMissing",
            "expr": (
                'count by (cluster) (kube_node_info{os_image!~"(?i).*windows.*"})\n'
                f'- count by (cluster) (k8s_dns_exporter_build_info{{{exporter_job},mode="node"}})\n> 0'
            ),
            "for": "30m",
            "labels": {"severity": "warning", **exporter},
            "annotations": {
                "summary": "{{ $value }} Linux node(s) run no k8s-dns-exporter agent",
                "description": (
                    "kube-state-metrics counts {{ $value }} more Linux nodes than there are node agents "
                    "scraped: DNS on those nodes is not watched. Compare `kubectl -n k8s-dns-exporter get "
                    "daemonset` (desired, ready) with the nodes, and look at pods stuck Pending."
                ),
            },
        },
        {
            "alert": "K8sDNSExporterRoundsSkipped",
            "expr": f"increase(k8s_dns_probe_rounds_skipped_total{{{exporter_job}}}[15m]) > 0",
            "for": "15m",
            "labels": {"severity": "warning", **exporter},
            "annotations": {
                "summary": "{{ $labels.instance }} keeps skipping probe rounds",
                "description": (
                    "{{ $labels.instance }} skipped {{ $value | humanize }} probe rounds in 15 minutes because the "
                    "one before still ran: rounds take longer than the interval (timeouts, too many targets). "
                    "Raise the interval or lower the timeouts."
                ),
            },
        },
    ]
    return recording, alerts
