"""Probe state and its rendering: counters, histograms, and series that vanish with their target."""

from __future__ import annotations

import dataclasses

import pytest
from prometheus_client import CollectorRegistry

from exporter.config import DiagnosisConfig, parse_config
from exporter.exposition import Collector
from exporter.probe import Reason
from exporter.probe.race import RaceResult
from exporter.runtime import Runtime
from exporter.snapshot import Snapshot
from exporter.state import LATENCY_BUCKETS, ProbeState
from exporter.status import Status
from tests.unit.results import EXTERNAL, result, round_of

CONFIG = parse_config({"names": [{"name": EXTERNAL}], "paths": {"pod": ["10.0.0.1:53"]}, "interval": "5s"})
LABELS = {"path": "pod", "server": "10.0.0.1:53", "name": EXTERNAL, "qtype": "A", "transport": "udp"}


def registry_for(state: ProbeState, *, status: Status | None = None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    status = status or Status()
    registry.register(Collector(lambda: Snapshot(CONFIG, state.view(), (), (), status.view())))
    return registry


def test_counters_success_and_histogram() -> None:
    state = ProbeState()
    state.record(round_of(result("pod", "10.0.0.1:53", latency=0.0007)))
    state.record(round_of(result("pod", "10.0.0.1:53", reason=Reason.TIMEOUT)))
    state.record(
        round_of(
            result("pod", "10.0.0.1:53", reason=Reason.SERVFAIL, rcode="SERVFAIL", answers=(), latency=0.03)
        )
    )
    registry = registry_for(state)
    get = registry.get_sample_value
    assert get("k8s_dns_probes_total", LABELS) == 3
    assert get("k8s_dns_probe_failures_total", {**LABELS, "reason": "timeout"}) == 1
    assert get("k8s_dns_probe_failures_total", {**LABELS, "reason": "servfail"}) == 1
    assert get("k8s_dns_probe_failures_total", {**LABELS, "reason": "nxdomain"}) is None
    assert get("k8s_dns_probe_success", LABELS) == 0
    hist = {"path": "pod", "server": "10.0.0.1:53"}
    assert get("k8s_dns_probe_duration_seconds_count", hist) == 2  # the timeout has no latency
    assert get("k8s_dns_probe_duration_seconds_sum", hist) == pytest.approx(0.0307)
    assert get("k8s_dns_probe_duration_seconds_bucket", {**hist, "le": "0.001"}) == 1
    assert get("k8s_dns_probe_duration_seconds_bucket", {**hist, "le": "0.025"}) == 1
    assert get("k8s_dns_probe_duration_seconds_bucket", {**hist, "le": "0.05"}) == 2
    assert get("k8s_dns_probe_duration_seconds_bucket", {**hist, "le": "+Inf"}) == 2
    assert get("k8s_dns_probe_rounds_total") == 3
    assert get("k8s_dns_queries_sent_total", {"path": "pod", "transport": "udp"}) == 3


def test_a_server_gone_from_the_round_vanishes_from_metrics() -> None:
    state = ProbeState()
    state.record(round_of(result("pod", "10.0.0.1:53"), result("pod", "10.0.0.2:53", reason=Reason.TIMEOUT)))
    registry = registry_for(state)
    gone = {**LABELS, "server": "10.0.0.2:53"}
    assert registry.get_sample_value("k8s_dns_probe_success", gone) == 0
    state.record(round_of(result("pod", "10.0.0.1:53")))
    assert registry.get_sample_value("k8s_dns_probe_success", gone) is None
    assert registry.get_sample_value("k8s_dns_probes_total", gone) is None
    assert registry.get_sample_value("k8s_dns_probe_failures_total", {**gone, "reason": "timeout"}) is None
    assert registry.get_sample_value("k8s_dns_probe_targets", {"path": "pod"}) == 1
    assert registry.get_sample_value("k8s_dns_probe_success", LABELS) == 1


def test_buckets_are_cumulative_and_sorted() -> None:
    assert list(LATENCY_BUCKETS) == sorted(LATENCY_BUCKETS)
    state = ProbeState()
    state.record(round_of(*(result("pod", "10.0.0.1:53", latency=lat) for lat in (0.0001, 0.004, 9.0))))
    counts = [
        registry_for(state).get_sample_value(
            "k8s_dns_probe_duration_seconds_bucket",
            {"path": "pod", "server": "10.0.0.1:53", "le": repr(b)},
        )
        for b in LATENCY_BUCKETS
    ]
    assert counts == sorted(counts)
    assert counts[0] == 1
    assert counts[-1] == 2  # 9 s is above the last bucket: only in +Inf


def test_collector_status_renders_every_run_and_a_failure_as_zero() -> None:
    status = Status()
    status.record("node_conntrack", ok=False, duration=0.001, error="No such file or directory: /proc/1/x")
    status.record("probe", ok=True, duration=0.25)
    registry = registry_for(ProbeState(), status=status)
    get = registry.get_sample_value
    assert get("k8s_dns_collector_success", {"collector": "node_conntrack"}) == 0
    assert get("k8s_dns_collector_success", {"collector": "probe"}) == 1
    assert get("k8s_dns_collector_duration_seconds", {"collector": "probe"}) == 0.25
    assert get("k8s_dns_config_last_reload_successful") == 1
    status.config_loaded(ok=False)
    assert registry.get_sample_value("k8s_dns_config_last_reload_successful") == 0
    assert (
        get(
            "k8s_dns_exporter_build_info",
            {
                "mode": "node",
                "vantage": "pod",
                "version": "0.1.0",
                "python_version": __import__("platform").python_version(),
            },
        )
        == 1
    )


def test_race_counters_and_their_series_vanish_with_the_target() -> None:
    name = "kubernetes.default.svc.cluster.local."
    state = ProbeState()
    racing = RaceResult("service", "10.96.0.10:53", name, ("AAAA",), ())
    state.record(round_of(races=(racing, RaceResult("pod", "10.244.0.5:53", name, (), ("A",)))))
    state.record(round_of(races=(racing,)))
    registry = registry_for(state)
    labels = {"path": "service", "server": "10.96.0.10:53", "name": name}
    assert registry.get_sample_value("k8s_dns_race_probes_total", labels) == 2
    assert registry.get_sample_value("k8s_dns_race_probe_lost_total", {**labels, "qtype": "AAAA"}) == 2
    assert registry.get_sample_value("k8s_dns_race_probe_lost_total", {**labels, "qtype": "A"}) == 0
    assert registry.get_sample_value("k8s_dns_race_sequential_lost_total", {**labels, "qtype": "A"}) == 0
    # Each race probe sends four queries: the pair together, then the pair one by one.
    assert (
        registry.get_sample_value("k8s_dns_queries_sent_total", {"path": "service", "transport": "udp"}) == 8
    )
    gone = {"path": "pod", "server": "10.244.0.5:53", "name": name}
    assert registry.get_sample_value("k8s_dns_race_probes_total", gone) is None


def test_keep_holds_only_the_newest_rounds() -> None:
    state = ProbeState()
    for started in range(5):
        state.record(round_of(result("pod", "10.0.0.1:53"), started=float(started)))
    state.keep(3)
    assert [r.started for r in state.view().rounds] == [2.0, 3.0, 4.0]
    state.record(round_of(result("pod", "10.0.0.1:53"), started=5.0))
    assert [r.started for r in state.view().rounds] == [3.0, 4.0, 5.0]
    state.keep(4)  # growing keeps what is there and fills up from the next rounds
    state.record(round_of(result("pod", "10.0.0.1:53"), started=6.0))
    assert [r.started for r in state.view().rounds] == [3.0, 4.0, 5.0, 6.0]
    assert state.view().rounds_total == 7


def test_runtime_keeps_as_many_rounds_as_diagnosis_reads() -> None:
    runtime = Runtime(dataclasses.replace(CONFIG, diagnosis=DiagnosisConfig(window=2)))
    for started in range(5):
        runtime.probes.record(round_of(result("pod", "10.0.0.1:53"), started=float(started)))
    assert [r.started for r in runtime.probes.view().rounds] == [3.0, 4.0]
    runtime.apply(dataclasses.replace(CONFIG, diagnosis=DiagnosisConfig(window=4)))  # a SIGHUP reload
    for started in range(5, 8):
        runtime.probes.record(round_of(result("pod", "10.0.0.1:53"), started=float(started)))
    assert [r.started for r in runtime.probes.view().rounds] == [4.0, 5.0, 6.0, 7.0]
