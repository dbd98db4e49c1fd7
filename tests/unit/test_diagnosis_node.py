"""Node rules: each names its cause from node readings, and healthy readings name none."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from exporter.config import Thresholds
from exporter.diagnosis.engine import diagnose
from exporter.diagnosis.model import Observations
from exporter.node import NodeReadings
from exporter.node.readers.conntrack import ConntrackStats
from exporter.node.readers.resolv_conf import NodeResolvConf
from exporter.node.readings import Increases, RaceSummary, RaceTarget, ResolvConfChange
from exporter.probe import ProbeResult, Reason
from exporter.resolvconf import parse_resolv_conf
from tests.unit.node_readings import NOW, readings
from tests.unit.results import NAMES, SERVICE, broken, fail, healthy_results, result, round_of


def grown(**changes: Any) -> Increases:
    base = readings().increases
    assert base is not None
    return dataclasses.replace(base, **changes)


def lost_race(lost: int, sequential: int, probes: int = 5) -> RaceSummary:
    target = RaceTarget("service", SERVICE, "kubernetes.default.svc.cluster.local.", probes, lost, sequential)
    return RaceSummary(probes=probes, lost=lost, sequential_lost=sequential, targets=(target,))


def causes(node: NodeReadings | None, results: list[ProbeResult] | None = None) -> list[str]:
    obs = Observations(
        rounds=tuple(round_of(*(results or healthy_results())) for _ in range(3)),
        names=NAMES,
        configured_paths=frozenset({"service", "pod", "nodelocal", "upstream"}),
        node=node,
        now=NOW,
    )
    return [f.cause for f in diagnose(obs)]


def full_table(entries: int) -> ConntrackStats:
    return ConntrackStats(
        entries=entries, limit=262144, insert_failed=40, drop=0, early_drop=0, clash_resolve=12, cpus=4
    )


def test_healthy_node_names_no_cause() -> None:
    assert causes(readings()) == []


def test_no_readings_and_first_sample_name_no_node_cause() -> None:
    assert causes(None) == []
    assert causes(readings(increases=None)) == []


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (readings(conntrack=full_table(250000)), ["conntrack_table_full"]),
        (readings(increases=grown(conntrack_early_drop=12)), ["conntrack_table_full"]),
        (readings(increases=grown(conntrack_drop=3)), ["conntrack_table_full"]),
        (readings(increases=grown(conntrack_insert_failed=4)), ["conntrack_race_a_aaaa"]),
        (readings(race=lost_race(lost=2, sequential=0)), ["conntrack_race_a_aaaa"]),
        (readings(increases=grown(udp_in_errors=25)), ["client_overloaded"]),
        (readings(increases=grown(udp_receive_buffer_errors=25)), ["client_overloaded"]),
        (
            readings(
                resolv_conf_change=ResolvConfChange(
                    ("10.1.0.3",), ("10.1.0.4", "10.1.0.5"), NOW - 70, NOW - 60
                )
            ),
            ["node_dns_config_stale"],
        ),
        (
            readings(
                resolv_conf=NodeResolvConf(
                    "/etc/resolv.conf",
                    parse_resolv_conf("nameserver 10.1.0.4\nnameserver 168.63.129.16\n"),
                    NOW,
                )
            ),
            ["upstream_mixed_resolvers"],
        ),
    ],
    ids=[
        "table 95% full",
        "early_drop rising",
        "drop rising",
        "insert_failed rising",
        "race lost, sequential not",
        "udp in errors",
        "rcvbuf errors",
        "nameservers changed",
        "azure beside custom",
    ],
)
def test_one_node_fault_one_cause(node: NodeReadings, expected: list[str]) -> None:
    assert causes(node) == expected


def test_pods_udp_drops_name_the_client_only_beside_lost_replies() -> None:
    """The pods' namespaces hold every application's sockets (statsd, syslog, QUIC): their drops alone
    say nothing of DNS. Beside replies that went missing from answering servers, they do."""
    dropping = readings(increases=grown(pod_udp_in_errors=40, pod_udp_receive_buffer_errors=40))
    assert causes(dropping) == []
    flaky = healthy_results()
    lossy = broken(flaky, fail(Reason.TIMEOUT, path="service", transport="udp"))
    assert causes(dropping, lossy) == ["client_overloaded"]
    assert causes(readings(), lossy) == []  # the lost reply alone is no overloaded client


def test_a_full_table_explains_the_losses_of_the_race_probe() -> None:
    node = readings(conntrack=full_table(262000), race=lost_race(lost=3, sequential=0))
    assert causes(node) == ["conntrack_table_full"]


def test_race_losses_with_sequential_losses_are_not_the_race() -> None:
    assert causes(readings(race=lost_race(lost=3, sequential=2))) == []


def test_one_race_loss_in_many_probes_is_noise() -> None:
    assert causes(readings(race=lost_race(lost=1, sequential=0, probes=20))) == []


def test_high_cpu_alone_is_not_overload_but_with_lost_replies_it_is() -> None:
    busy = readings(increases=grown(cpu_pressure_ratio=0.93, cpu_busy_ratio=0.99))
    assert causes(busy) == []
    # One round in three loses the service's UDP replies: the server answers otherwise.
    flaky = healthy_results()
    lossy = broken(flaky, fail(Reason.TIMEOUT, path="service", transport="udp"))
    obs = Observations(
        rounds=(round_of(*lossy), round_of(*flaky), round_of(*flaky)),
        names=NAMES,
        configured_paths=frozenset({"service", "pod", "nodelocal", "upstream"}),
        node=busy,
        now=NOW,
    )
    findings = diagnose(obs)
    assert [f.cause for f in findings] == ["client_overloaded"]
    assert "CPU pressure: some task waited for a CPU 93.0% of the time" in findings[0].evidence
    # No UDP error rose: the summary says what the node showed, not a drop it did not count.
    assert findings[0].summary.startswith("This node runs with its CPUs saturated: ")


@pytest.mark.parametrize(
    ("increases", "summary"),
    [
        (grown(udp_in_errors=25), "This node drops UDP it receives: "),
        (
            grown(udp_in_errors=25, cpu_busy_ratio=0.99),
            "This node drops UDP it receives and runs with its CPUs saturated: ",
        ),
    ],
)
def test_the_overload_summary_names_what_rose(increases: Increases, summary: str) -> None:
    obs = Observations(
        rounds=tuple(round_of(*healthy_results()) for _ in range(3)),
        names=NAMES,
        configured_paths=frozenset({"service", "pod", "nodelocal", "upstream"}),
        node=readings(increases=increases),
        now=NOW,
    )
    [finding] = diagnose(obs)
    assert finding.summary.startswith(summary)


def test_an_old_change_of_nameservers_is_no_longer_named() -> None:
    old = ResolvConfChange(("10.1.0.3",), ("10.1.0.4",), NOW - 7300, NOW - 7200)
    assert causes(readings(resolv_conf_change=old)) == []


def test_azure_mixture_and_disagreeing_upstreams_are_one_finding() -> None:
    node = readings(
        resolv_conf=NodeResolvConf(
            "/etc/resolv.conf", parse_resolv_conf("nameserver 10.0.0.2\nnameserver 168.63.129.16\n"), NOW
        )
    )
    results = broken(healthy_results(), fail(Reason.NXDOMAIN, "NXDOMAIN", server="10.0.0.3:53"))
    obs = Observations(
        rounds=tuple(round_of(*results) for _ in range(3)),
        names=NAMES,
        configured_paths=frozenset({"service", "pod", "nodelocal", "upstream"}),
        node=node,
        now=NOW,
    )
    findings = diagnose(obs)
    assert [f.cause for f in findings] == ["upstream_mixed_resolvers"]
    assert findings[0].summary.startswith("The upstream servers disagree on 1 name(s)")
    assert findings[0].evidence[-1] == (
        "the node's /etc/resolv.conf lists Azure DNS (168.63.129.16) beside other servers: 10.0.0.2, 168.63.129.16"
    )


def test_findings_carry_the_values() -> None:
    node = readings(conntrack=full_table(250000), increases=grown(conntrack_drop=7, conntrack_early_drop=3))
    (finding,) = diagnose(
        Observations(rounds=(), names=NAMES, configured_paths=frozenset(), node=node, now=NOW)
    )
    assert finding.cause == "conntrack_table_full"
    assert finding.summary.startswith("The node's conntrack table is 95.4% full")
    assert finding.evidence[0] == "conntrack entries 250000 of 262144 limit (95.4% full; named from 90.0%)"
    assert finding.evidence[1] == "over the last 60s: drop +7, early_drop +3"
    assert finding.facts["drops_in_window"] == 10
    race = diagnose(
        Observations(
            rounds=(), names=NAMES, configured_paths=frozenset(), node=readings(race=lost_race(2, 0)), now=NOW
        )
    )[0]
    assert race.evidence[0] == (
        "race probes (A and AAAA together from one socket): 2 answer(s) lost in 5 probe(s); "
        "the same queries sent one by one: 0 lost"
    )
    assert "single-request-reopen" in race.fix


def test_a_full_table_is_named_instead_of_the_broken_network_it_looks_like() -> None:
    """New flows are dropped: every probe from the node times out, which alone reads as pod_network_broken."""
    silent = [
        result(r.path, r.server, r.name, transport=r.transport, reason=Reason.TIMEOUT)
        for r in healthy_results()
    ]
    assert causes(None, silent) == ["pod_network_broken"]
    assert causes(readings(conntrack=full_table(262000)), silent) == ["conntrack_table_full"]


def test_the_fill_threshold_is_configurable() -> None:
    node = readings(conntrack=full_table(200000))  # 76% full
    obs = Observations(
        rounds=tuple(round_of(*healthy_results()) for _ in range(3)),
        names=NAMES,
        configured_paths=frozenset({"service", "pod", "nodelocal", "upstream"}),
        node=node,
        now=NOW,
        thresholds=Thresholds(conntrack_fill=0.75),
    )
    assert [f.cause for f in diagnose(obs)] == ["conntrack_table_full"]
    assert causes(node) == []
