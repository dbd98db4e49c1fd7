"""Every metric the exporter emits: its name, type, help and labels are written here once.

Collectors render fresh metric families from current state on each scrape
(``prometheus_client`` custom collectors), so a series whose target is gone
is simply not rendered again.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    SummaryMetricFamily,
)

PREFIX = "k8s_dns_"
PROBE_LABELS = ("path", "server", "name", "qtype", "transport")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    kind: str
    help: str
    labels: tuple[str, ...] = ()

    def gauge(self, value: float | None = None) -> GaugeMetricFamily:
        """A fresh gauge family for this metric: empty, or with its one unlabelled ``value``."""
        self._expect("gauge", value)
        if value is not None:
            return GaugeMetricFamily(self.name, self.help, value=value)
        return GaugeMetricFamily(self.name, self.help, labels=list(self.labels))

    def counter(self, value: float | None = None) -> CounterMetricFamily:
        """A fresh counter family for this metric: empty, or with its one unlabelled ``value``."""
        self._expect("counter", value)
        if value is not None:
            return CounterMetricFamily(self.name, self.help, value=value)
        return CounterMetricFamily(self.name, self.help, labels=list(self.labels))

    def histogram(self) -> HistogramMetricFamily:
        self._expect("histogram")
        return HistogramMetricFamily(self.name, self.help, labels=list(self.labels))

    def summary(self) -> SummaryMetricFamily:
        """A fresh summary family: ``_count`` and ``_sum`` per label set, no quantiles."""
        self._expect("summary")
        return SummaryMetricFamily(self.name, self.help, labels=list(self.labels))

    def _expect(self, kind: str, value: float | None = None) -> None:
        if self.kind != kind:
            raise TypeError(f"{self.name} is a {self.kind}, not a {kind}")
        if value is not None and self.labels:
            raise TypeError(f"{self.name} has labels {self.labels}: add its samples one by one")


def _spec(name: str, kind: str, help_text: str, *labels: str) -> MetricSpec:
    spec = MetricSpec(PREFIX + name, kind, help_text, tuple(labels))
    SPECS[spec.name] = spec
    return spec


SPECS: dict[str, MetricSpec] = {}

# Probes.
PROBE_SUCCESS = _spec(
    "probe_success",
    "gauge",
    "1 if the last probe of this name on this server and transport got the expected answer, else 0.",
    *PROBE_LABELS,
)
PROBES = _spec(
    "probes_total",
    "counter",
    "Probes run, by path, server, name, type and transport.",
    *PROBE_LABELS,
)
PROBE_FAILURES = _spec(
    "probe_failures_total",
    "counter",
    "Failed probes by reason: timeout, nxdomain, servfail, refused, network_error, truncated, "
    "wrong_answer, malformed.",
    *PROBE_LABELS,
    "reason",
)
PROBE_DURATION = _spec(
    "probe_duration_seconds",
    "histogram",
    "Time from sending a query to receiving its reply, for probes that got a reply. For tcp it "
    "includes the connect (probe_tcp_connect_seconds); for path resolver it is the whole lookup, "
    "search list included. Both transports in one histogram per server (probe_success and the "
    "failure counters keep them apart).",
    "path",
    "server",
)
TCP_CONNECT = _spec(
    "probe_tcp_connect_seconds",
    "summary",
    "The TCP connect (the handshake) of probes over tcp that connected, per path: rate(_sum) / "
    "rate(_count) is the mean. Part of probe_duration_seconds; a connect slow beside a fast "
    "reply points at the network (SYN drops, conntrack, a full accept queue), not the server.",
    "path",
)
PROBE_ANSWERS = _spec(
    "probe_answer_records",
    "gauge",
    "Records in the answer section of the last reply (CNAMEs included).",
    *PROBE_LABELS,
)
RESOLVER_QUERIES = _spec(
    "resolver_lookup_queries",
    "gauge",
    "Queries the last lookup through the resolv.conf took, search list and retries included.",
    "server",
    "name",
    "qtype",
)
PROBE_TARGETS = _spec("probe_targets", "gauge", "Servers probed on each path in the last round.", "path")
TARGETS_KNOWN = _spec(
    "targets_known",
    "gauge",
    "Servers known on each path before the round chose its share (CoreDNS pods: pods_per_round of them).",
    "path",
)
PLANNED_QUERIES = _spec(
    "planned_queries",
    "gauge",
    "DNS queries the last round's plan sends at most on each path: this agent's load per round.",
    "path",
)
QUERIES_SENT = _spec(
    "queries_sent_total",
    "counter",
    "DNS queries this exporter sent: its own load on the servers it probes.",
    "path",
    "transport",
)
LAST_RUN = _spec(
    "probe_last_run_timestamp_seconds",
    "gauge",
    "When the last probe round finished (Unix time); alert when it falls behind.",
)
ROUND_DURATION = _spec("probe_round_duration_seconds", "gauge", "How long the last probe round took.")
ROUNDS = _spec("probe_rounds_total", "counter", "Probe rounds completed.")
ROUNDS_SKIPPED = _spec(
    "probe_rounds_skipped_total",
    "counter",
    "Probe rounds not started because the previous one still ran (rounds never overlap).",
)
INTERVAL = _spec("probe_interval_seconds", "gauge", "Configured time between probe rounds (before jitter).")

# The exporter itself.
VANTAGE_SPLIT = _spec(
    "vantage_split",
    "gauge",
    "1 for each name that fails from the pod network while the node-vantage agent on this node "
    "resolves it: DNS fails from pods but works from the node. Absent without a node-vantage agent.",
    "name",
    "qtype",
)
BUILD_INFO = _spec(
    "exporter_build_info",
    "gauge",
    "Always 1; labels carry the exporter version, the Python version, the mode and the vantage "
    "(pod: probes leave from the pod network; node: from the node's, hostNetwork).",
    "version",
    "python_version",
    "mode",
    "vantage",
)
COLLECTOR_SUCCESS = _spec(
    "collector_success",
    "gauge",
    "1 if the collector's last run read its source, 0 if it failed or had no data.",
    "collector",
)
COLLECTOR_DURATION = _spec(
    "collector_duration_seconds", "gauge", "How long the collector's last run took.", "collector"
)
CONFIG_RELOAD_OK = _spec(
    "config_last_reload_successful",
    "gauge",
    "1 if the last config load (start or SIGHUP) succeeded; 0 means the previous config still runs.",
)
CONFIG_RELOAD_TIME = _spec(
    "config_last_reload_success_timestamp_seconds",
    "gauge",
    "When the config was last loaded successfully (Unix time).",
)

RESOLVER_CONF = _spec(
    "resolver_conf_info",
    "gauge",
    "Always 1: the resolv.conf the resolver path reads (in a pod, its own) and what glibc takes from it.",
    "file",
    "nameservers",
    "search",
    "ndots",
    "options",
)

# Diagnosis.
CAUSE_ACTIVE = _spec(
    "cause_active",
    "gauge",
    "1 if the documented cause is active now, else 0. Every known cause is always present.",
    "cause",
    "severity",
)
UPSTREAM_DISAGREEMENT = _spec(
    "upstream_disagreement",
    "gauge",
    "1 if the upstream servers answer this name differently (the rcode, or whether records come back; "
    "the records themselves for names whose answers the config pins), else 0.",
    "name",
    "qtype",
)

# Node readings (exporter/node): the host network namespace, read through the host procfs.
NODE_CONNTRACK_ENTRIES = _spec(
    "node_conntrack_entries",
    "gauge",
    "Connections tracked in the host network namespace (entries column of <procfs>/1/net/stat/nf_conntrack).",
)
NODE_CONNTRACK_LIMIT = _spec(
    "node_conntrack_entries_limit",
    "gauge",
    "Size of the conntrack table (nf_conntrack_max); new connections are dropped when entries reach it.",
)
NODE_CONNTRACK_INSERT_FAILED = _spec(
    "node_conntrack_insert_failed_total",
    "counter",
    "Packets dropped because their conntrack entry could not be inserted, summed over CPUs (the "
    "A+AAAA race on one source port ends here).",
)
NODE_CONNTRACK_DROP = _spec(
    "node_conntrack_drop_total",
    "counter",
    "Packets dropped by conntrack (table full, or no memory for a new entry), summed over CPUs.",
)
NODE_CONNTRACK_EARLY_DROP = _spec(
    "node_conntrack_early_drop_total",
    "counter",
    "Unconfirmed entries evicted to make room in a full table, summed over CPUs.",
)
NODE_CONNTRACK_CLASH_RESOLVE = _spec(
    "node_conntrack_clash_resolve_total",
    "counter",
    "Insert clashes the kernel resolved without dropping the packet, summed over CPUs (kernels 5.9+).",
)
NODE_UDP_IN_ERRORS = _spec(
    "node_udp_in_errors_total",
    "counter",
    "UDP datagrams the host could not deliver to a socket (Udp InErrors of <procfs>/1/net/snmp).",
)
NODE_UDP_RCVBUF_ERRORS = _spec(
    "node_udp_receive_buffer_errors_total",
    "counter",
    "UDP datagrams dropped because the receiving socket's buffer was full (Udp RcvbufErrors).",
)
NODE_UDP_SNDBUF_ERRORS = _spec(
    "node_udp_send_buffer_errors_total",
    "counter",
    "UDP datagrams not sent because the send buffer was full (Udp SndbufErrors).",
)
NODE_UDP_NO_PORTS = _spec(
    "node_udp_no_ports_total",
    "counter",
    "UDP datagrams to a port nobody listened on (Udp NoPorts).",
)
NODE_UDP6_IN_ERRORS = _spec(
    "node_udp6_in_errors_total",
    "counter",
    "UDP over IPv6 datagrams the host could not deliver to a socket (Udp6InErrors of <procfs>/1/net/snmp6).",
)
NODE_UDP6_RCVBUF_ERRORS = _spec(
    "node_udp6_receive_buffer_errors_total",
    "counter",
    "UDP over IPv6 datagrams dropped because the receiving socket's buffer was full (Udp6RcvbufErrors).",
)
NODE_UDP6_SNDBUF_ERRORS = _spec(
    "node_udp6_send_buffer_errors_total",
    "counter",
    "UDP over IPv6 datagrams not sent because the send buffer was full (Udp6SndbufErrors).",
)
NODE_UDP6_NO_PORTS = _spec(
    "node_udp6_no_ports_total",
    "counter",
    "UDP over IPv6 datagrams to a port nobody listened on (Udp6NoPorts).",
)
NODE_POD_UDP_IN_ERRORS = _spec(
    "node_pod_udp_in_errors_total",
    "counter",
    "UDP datagrams (IPv4 and IPv6) the pods' network namespaces could not deliver to a socket, since "
    "the exporter started (Udp InErrors of each namespace, each read once; the host's is not included).",
)
NODE_POD_UDP_RCVBUF_ERRORS = _spec(
    "node_pod_udp_receive_buffer_errors_total",
    "counter",
    "UDP datagrams (IPv4 and IPv6) dropped in the pods' network namespaces because the receiving "
    "socket's buffer was full, since the exporter started (the agent's own sockets included).",
)
NODE_POD_NAMESPACES = _spec(
    "node_pod_network_namespaces",
    "gauge",
    "Pods' network namespaces in the last reading, by state: read, failed (unreadable or corrupt "
    "files), skipped (over the per-round limit).",
    "state",
)
NODE_TCP_RETRANS = _spec(
    "node_tcp_retransmitted_segments_total",
    "counter",
    "TCP segments the host retransmitted (Tcp RetransSegs).",
)
NODE_CPU_PRESSURE = _spec(
    "node_cpu_pressure_seconds_total",
    "counter",
    "Time during which at least one runnable task on the node waited for a CPU (PSI cpu 'some' total).",
)
NODE_CPU_SECONDS = _spec(
    "node_cpu_seconds_total",
    "counter",
    "CPU time of the node by mode, summed over all CPUs (first line of <procfs>/stat).",
    "mode",
)
NODE_RESOLV_CONF_INFO = _spec(
    "node_resolv_conf_info",
    "gauge",
    "Always 1; labels carry the node resolver file and its nameservers, search list and options "
    "(comma-separated, as written).",
    "file",
    "nameservers",
    "search",
    "options",
)
NODE_RESOLV_CONF_MODIFIED = _spec(
    "node_resolv_conf_modified_timestamp_seconds",
    "gauge",
    "When the node resolver file was last written (its mtime, Unix time).",
    "file",
)
NODE_RESOLV_CONF_AZURE_MIXED = _spec(
    "node_resolv_conf_azure_dns_mixed",
    "gauge",
    "1 if the node resolver file lists Azure DNS (168.63.129.16) beside other servers, else 0.",
)

# The A+AAAA race probe (probe/race.py).
RACE_PROBES = _spec(
    "race_probes_total",
    "counter",
    "Race probes run: A and AAAA sent together from one UDP socket, and the same pair sent one by "
    "one from separate sockets.",
    "path",
    "server",
    "name",
)
RACE_LOST = _spec(
    "race_probe_lost_total",
    "counter",
    "Answers that never came when A and AAAA were sent together from one socket, by query type.",
    "path",
    "server",
    "name",
    "qtype",
)
RACE_SEQUENTIAL_LOST = _spec(
    "race_sequential_lost_total",
    "counter",
    "Answers that never came when A and AAAA were sent one after the other from separate sockets.",
    "path",
    "server",
    "name",
    "qtype",
)

# Kubernetes: discovery and leader election (both modes; leader in cluster mode only).
DISCOVERY_TARGETS = _spec(
    "discovery_targets",
    "gauge",
    "Targets discovered from the Kubernetes API for each path set to auto.",
    "path",
)
LEADER = _spec(
    "leader",
    "gauge",
    "1 on the cluster instance that holds the Lease and reports cluster readings, 0 on standbys.",
)

# Cluster readers (cluster mode, on the leader): CoreDNS pods.
COREDNS_POD_INFO = _spec(
    "coredns_pod_info",
    "gauge",
    "Always 1 for each cluster DNS pod: its node, IP and CoreDNS version (unknown if not CoreDNS).",
    "coredns_pod",
    "coredns_node",
    "ip",
    "version",
)
COREDNS_POD_READY = _spec(
    "coredns_pod_ready", "gauge", "1 if the CoreDNS pod's Ready condition is True.", "coredns_pod"
)
COREDNS_POD_RESTARTS = _spec(
    "coredns_pod_restarts_total",
    "counter",
    "Restarts of the cluster DNS pod's containers, all of them summed.",
    "coredns_pod",
)
COREDNS_POD_WAITING = _spec(
    "coredns_pod_waiting",
    "gauge",
    "1 while a container of the DNS pod waits, with the reason (CrashLoopBackOff, ImagePullBackOff...).",
    "coredns_pod",
    "reason",
)
COREDNS_POD_LAST_TERMINATED = _spec(
    "coredns_pod_last_terminated",
    "gauge",
    "1 for the reason a container of the DNS pod last terminated (OOMKilled, Error, Completed...).",
    "coredns_pod",
    "reason",
)
COREDNS_POD_START_TIME = _spec(
    "coredns_pod_start_time_seconds",
    "gauge",
    "When the kubelet started the CoreDNS pod (Unix time).",
    "coredns_pod",
)
COREDNS_REPLICAS = _spec("coredns_replicas", "gauge", "CoreDNS pods that exist and are not terminating.")
COREDNS_REPLICAS_READY = _spec("coredns_replicas_ready", "gauge", "CoreDNS pods that are Ready.")
COREDNS_REPLICA_NODES = _spec("coredns_replica_nodes", "gauge", "Distinct nodes the CoreDNS pods run on.")
COREDNS_CPU_USAGE = _spec(
    "coredns_cpu_usage_cores", "gauge", "CPU the CoreDNS pod uses (metrics.k8s.io).", "coredns_pod"
)
COREDNS_CPU_REQUEST = _spec(
    "coredns_cpu_request_cores", "gauge", "CPU request of the DNS pod (its containers' sum).", "coredns_pod"
)
COREDNS_CPU_LIMIT = _spec(
    "coredns_cpu_limit_cores",
    "gauge",
    "CPU limit of the DNS pod (its containers' sum; none if one has none).",
    "coredns_pod",
)
COREDNS_MEMORY_USAGE = _spec(
    "coredns_memory_usage_bytes",
    "gauge",
    "Memory (working set) the CoreDNS pod uses (metrics.k8s.io).",
    "coredns_pod",
)
COREDNS_MEMORY_REQUEST = _spec(
    "coredns_memory_request_bytes",
    "gauge",
    "Memory request of the DNS pod (its containers' sum).",
    "coredns_pod",
)
COREDNS_MEMORY_LIMIT = _spec(
    "coredns_memory_limit_bytes",
    "gauge",
    "Memory limit of the DNS pod (its containers' sum; none if one has none).",
    "coredns_pod",
)
COREDNS_NODE_CPU = _spec(
    "coredns_node_cpu_usage_ratio",
    "gauge",
    "CPU in use over allocatable on a node hosting CoreDNS.",
    "coredns_node",
)
COREDNS_NODE_MEMORY = _spec(
    "coredns_node_memory_usage_ratio",
    "gauge",
    "Memory in use over allocatable on a node hosting CoreDNS.",
    "coredns_node",
)
SESSION_AFFINITY = _spec(
    "kube_dns_service_session_affinity", "gauge", "1 if the kube-dns Service has sessionAffinity ClientIP."
)

# Cluster readers: the Corefile, kube-proxy, and workloads DNS depends on.
COREFILE_PLUGIN = _spec(
    "corefile_plugin_enabled",
    "gauge",
    "1 if a server block of the Corefile uses the plugin, else 0.",
    "plugin",
)
COREFILE_FORWARD_TARGETS = _spec(
    "corefile_forward_targets", "gauge", "Targets of the Corefile's catch-all forward (forward . ...)."
)
COREFILE_FORWARD_POLICY = _spec(
    "corefile_forward_policy_info", "gauge", "Always 1; the policy of the catch-all forward.", "policy"
)
COREFILE_FORWARD_OPTION = _spec(
    "corefile_forward_option_enabled",
    "gauge",
    "1 if the catch-all forward sets the option (prefer_udp, force_tcp), else 0.",
    "option",
)
COREFILE_PROBLEMS = _spec(
    "corefile_problems", "gauge", "Problems the Corefile lint found, by kind (see the README).", "problem"
)
KUBE_PROXY_MODE = _spec("kube_proxy_mode_info", "gauge", "Always 1; kube-proxy's proxy mode.", "mode")
TOLERATE_UNREADY = _spec(
    "tolerate_unready_services",
    "gauge",
    "Services annotated service.alpha.kubernetes.io/tolerate-unready-endpoints "
    "(ignored by CoreDNS >= 1.8.4).",
)
STATEFULSETS_MISMATCH = _spec(
    "statefulsets_service_mismatch",
    "gauge",
    "StatefulSets whose serviceName is empty or not a headless Service: their pod names do not resolve.",
)
COREDNS_NETWORK_POLICIES = _spec(
    "coredns_network_policies", "gauge", "NetworkPolicies that select CoreDNS pods."
)

# Capacity planning (cluster mode).
RECOMMENDED_REPLICAS = _spec(
    "coredns_recommended_replicas",
    "gauge",
    "CoreDNS replicas each formula recommends: linear (the cluster-proportional-autoscaler linear rule "
    "with the exporter's parameters), autoscaler (the running autoscaler's own formula and ConfigMap), "
    "demand (the measured peak query rate at the target utilisation, with a replica and a zone spare).",
    "formula",
)
AUTOSCALER = _spec(
    "coredns_autoscaler_info",
    "gauge",
    "The cluster-proportional-autoscaler ConfigMap that sizes CoreDNS, and its mode (linear, ladder); "
    'mode "none" when no autoscaler ConfigMap exists.',
    "configmap",
    "mode",
)
COREDNS_QPS = _spec(
    "coredns_queries_per_second",
    "gauge",
    "Queries a second the CoreDNS pod received between the exporter's last two reads of its metrics "
    "(coredns_dns_requests_total).",
    "coredns_pod",
)
COREDNS_QPS_PEAK = _spec(
    "coredns_queries_per_second_peak",
    "gauge",
    "Highest total query rate of the CoreDNS pods over the peak window (kept in the exporter's memory).",
)
COREDNS_PEAK_WINDOW = _spec(
    "coredns_peak_window_seconds",
    "gauge",
    "Seconds of the peak window measured so far (configured: kubernetes.capacity.peak_window).",
)
COREDNS_QPS_PER_CORE = _spec(
    "coredns_queries_per_core",
    "gauge",
    "Queries a second per CPU core in use (metrics.k8s.io) of the CoreDNS pod.",
    "coredns_pod",
)
COREDNS_CACHE_HIT = _spec(
    "coredns_cache_hit_ratio",
    "gauge",
    "Share of the CoreDNS pod's cache lookups answered from its cache between the last two reads.",
    "coredns_pod",
)
COREDNS_LATENCY = _spec(
    "coredns_request_duration_mean_seconds",
    "gauge",
    "Mean time the CoreDNS pod took to answer a query between the last two reads (its own histogram).",
    "coredns_pod",
)
COREDNS_FORWARD_LATENCY = _spec(
    "coredns_forward_duration_mean_seconds",
    "gauge",
    "Mean time of the CoreDNS pod's forwarded queries to each upstream between the last two reads.",
    "coredns_pod",
    "to",
)
COREDNS_DISRUPTIONS_ALLOWED = _spec(
    "coredns_disruptions_allowed",
    "gauge",
    "Pods a drain may evict now under each PodDisruptionBudget that selects CoreDNS pods (none: no "
    "budget protects CoreDNS).",
    "budget",
)
COREDNS_PEAK_UTILISATION = _spec(
    "coredns_peak_utilisation_ratio",
    "gauge",
    "The peak query rate over what the replicas carry (QPS per core x cores per replica), with "
    "nothing lost, or after losing one replica, the node or the zone holding the most replicas.",
    "lost",
)
CLUSTER_NODES = _spec(
    "cluster_nodes", "gauge", "Nodes counted by the linear formula (schedulable by default)."
)
CLUSTER_CPU = _spec(
    "cluster_cpu_cores", "gauge", "Allocatable CPU of the nodes counted by the linear formula."
)
CLUSTER_PODS = _spec("cluster_pods", "gauge", "Pods in the cluster (all namespaces).")
CLUSTER_SERVICES = _spec("cluster_services", "gauge", "Services in the cluster (all namespaces).")
MEMORY_RECOMMENDED = _spec(
    "coredns_memory_recommended_bytes",
    "gauge",
    "Memory one CoreDNS replica needs for this cluster's pods and Services (CoreDNS sizing formula).",
)
SAMPLED_PODS = _spec(
    "sampled_pods",
    "gauge",
    "Running application pods read for their DNS settings (kubernetes.sample_pods), by what they use: "
    "sampled, cluster_first, nodelocal (its address in dnsConfig), bypassing_nodelocal (ClusterFirst "
    "without it), elsewhere (dnsPolicy None, neither cluster DNS nor NodeLocal).",
    "dns",
)
