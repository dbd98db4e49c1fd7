"""Every metric the exporter emits: its name, type, help and labels are written here once.

Collectors render fresh metric families from current state on each scrape
(``prometheus_client`` custom collectors), so a series whose target is gone
is simply not rendered again.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

PREFIX = "k8s_dns_"
PROBE_LABELS = ("path", "server", "name", "qtype", "transport")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    kind: str
    help: str
    labels: tuple[str, ...] = ()

    def gauge(self) -> GaugeMetricFamily:
        """A fresh, empty gauge family for this metric."""
        self._expect("gauge")
        return GaugeMetricFamily(self.name, self.help, labels=list(self.labels))

    def counter(self) -> CounterMetricFamily:
        self._expect("counter")
        return CounterMetricFamily(self.name, self.help, labels=list(self.labels))

    def histogram(self) -> HistogramMetricFamily:
        self._expect("histogram")
        return HistogramMetricFamily(self.name, self.help, labels=list(self.labels))

    def _expect(self, kind: str) -> None:
        if self.kind != kind:
            raise TypeError(f"{self.name} is a {self.kind}, not a {kind}")


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
    "includes the connect; for path resolver it is the whole lookup, search list included.",
    "path",
    "server",
    "transport",
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
BUILD_INFO = _spec(
    "exporter_build_info",
    "gauge",
    "Always 1; labels carry the exporter version, the Python version and the mode.",
    "version",
    "python_version",
    "mode",
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
