"""Capacity planning as data: the autoscaler's formulas, the demand rule, headroom, the parser of CoreDNS's
metrics, and when ``coredns_overloaded`` speaks."""

from __future__ import annotations

from typing import Any

import pytest

from exporter.cluster.autoscaler import Autoscaler, parse
from exporter.cluster.capacity import demand_replicas, headroom
from exporter.cluster.model import Inventory
from exporter.cluster.traffic import BadExposition, PodTraffic, Traffic, TrafficTracker, parse_counters
from lab.coredns_metrics import Load, exposition
from tests.unit.test_diagnosis_cluster import causes, healthy_pieces, pod

AKS = {
    "ladder": '{"coresToReplicas":[[1,2],[512,3],[1024,4],[2048,5]],"nodesToReplicas":[[1,2],[8,3],[16,4],[32,5]]}'
}
KUBE_DNS = {"linear": '{"coresPerReplica":256,"nodesPerReplica":16,"preventSinglePointFailure":true}'}


@pytest.mark.parametrize(
    ("data", "cores", "nodes", "expected"),
    [
        (AKS, 4, 1, 2),
        (AKS, 16, 8, 3),
        (AKS, 400, 100, 5),
        (AKS, 600, 10, 3),  # cores past 512 ask for 3 while nodes ask for 3
        (KUBE_DNS, 8, 1, 1),  # one node: no second replica needed to avoid a single point
        (KUBE_DNS, 8, 2, 2),  # preventSinglePointFailure
        (KUBE_DNS, 1024, 40, 4),
        ({"linear": '{"coresPerReplica":256,"nodesPerReplica":16,"min":3,"max":5}'}, 4000, 200, 5),
    ],
)
def test_the_autoscaler_formula_as_it_runs(
    data: dict[str, str], cores: int, nodes: int, expected: int
) -> None:
    assert parse("coredns-autoscaler", data).replicas(cores, nodes) == expected


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "ConfigMap x holds 0 of the keys linear, ladder (needs one)"),
        ({"linear": "{", "ladder": "{}"}, "ConfigMap x holds 2 of the keys linear, ladder (needs one)"),
        ({"linear": "{nope"}, "ConfigMap x key linear is not JSON: "),
        ({"linear": '{"coresPerReplica":-1}'}, "ConfigMap x linear.coresPerReplica: -1 is not a number >= 0"),
        ({"linear": "{}"}, "ConfigMap x linear: neither coresPerReplica nor nodesPerReplica is set"),
        ({"ladder": '{"nodesToReplicas":[[1]]}'}, "ConfigMap x ladder.nodesToReplicas: not a list of"),
    ],
)
def test_a_broken_autoscaler_configmap_is_named(data: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        parse("x", data)


@pytest.mark.parametrize(
    ("peak", "zones", "expected"),
    [
        (2000.0, 1, (3, 4)),  # one zone: a replica spare, a zone's loss cannot be covered
        (2000.0, 2, (3, 6)),  # 6 - 3 per zone = 3
        (2000.0, 3, (3, 5)),  # 5 - 2 = 3
        (1.0, 3, (1, 2)),
    ],
)
def test_demand_covers_a_replica_and_a_zone(peak: float, zones: int, expected: tuple[int, int]) -> None:
    assert demand_replicas(peak, 10000.0, 0.7, 0.1, zones) == expected


def test_headroom_after_losing_a_replica_a_node_a_zone() -> None:
    placement = {"a": "n1", "b": "n1", "c": "n2", "d": "n3"}
    room = headroom(1500.0, 1000.0, placement, {"n1": "z1", "n2": "z1", "n3": "z2"})
    assert room.replicas_per_zone == {"z1": 3, "z2": 1}
    assert room.utilisation == pytest.approx({"none": 0.375, "replica": 0.5, "node": 0.75, "zone": 1.5})
    assert headroom(10.0, 100.0, {"a": "n1"}, {}).utilisation["replica"] is None


def test_coredns_text_parsed_and_rates_between_reads() -> None:
    load = Load(qps=50.0, cache_hit=0.75, latency=0.002, upstreams={"10.0.0.2:53": 0.01, "10.0.0.3:53": 0.03})
    before, after = parse_counters(exposition(load, 10.0)), parse_counters(exposition(load, 40.0))
    tracker = TrafficTracker(window=600.0)
    tracker.update(100.0, [("p", before)], {})
    traffic = tracker.update(130.0, [("p", after)], {})
    rates = traffic.pod("p")
    assert rates is not None
    assert rates.qps == pytest.approx(50.0, rel=0.01)
    assert rates.cache_hit_ratio == pytest.approx(0.75, abs=0.01)
    assert rates.latency == pytest.approx(0.002, rel=0.01)
    assert rates.forward_latency == pytest.approx({"10.0.0.2:53": 0.01, "10.0.0.3:53": 0.03}, rel=0.01)
    assert (traffic.peak_qps, traffic.covered) == (pytest.approx(50.0, rel=0.01), 0.0)


def test_the_peak_is_of_its_window_only_and_a_restart_is_no_rate() -> None:
    tracker = TrafficTracker(window=100.0)
    load = Load(qps=10.0)
    tracker.update(0.0, [("p", parse_counters(exposition(load, 0.0, base=0.0)))], {})
    busy = parse_counters(exposition(Load(qps=10.0), 50.0, base=5000.0))
    assert tracker.update(50.0, [("p", busy)], {}).peak_qps == pytest.approx(110.0, rel=0.01)
    later = parse_counters(exposition(load, 200.0, base=5000.0))
    traffic = tracker.update(200.0, [("p", later)], {})
    assert traffic.peak_qps == pytest.approx(10.0, rel=0.02)  # the burst left the 100 s window
    assert traffic.covered == 100.0
    restarted = parse_counters(exposition(load, 1.0, base=0.0))
    assert tracker.update(210.0, [("p", restarted)], {}).pod("p") == PodTraffic("p", None)


@pytest.mark.parametrize(
    "text",
    [
        "<html>sign in</html>\n",
        'coredns_dns_requests_total{server="dns://:53" 1\n',
        "# TYPE up gauge\nup 1\n",
    ],
)
def test_what_is_not_coredns_text_is_refused(text: str) -> None:
    with pytest.raises(BadExposition):
        parse_counters(text)


def aks(pieces: dict[str, Any], *, peak: float | None) -> None:
    """100 schedulable nodes of 4 cores, 5 CoreDNS replicas, the AKS ladder; ``peak``: measured demand."""
    pieces["inventory"] = Inventory(
        nodes=100, schedulable_nodes=100, cores=392.0, counted_nodes=100, pods=900,
        schedulable_cores=400, all_cores=400,
    )  # fmt: skip
    pieces["coredns_pods"] = tuple(pod(f"coredns-{i}", f"10.244.{i}.5", f"node-{i}") for i in range(5))
    pieces["autoscaler"] = parse("coredns-autoscaler", AKS)
    pieces.pop("coredns_usage")
    if peak is not None:
        pods = tuple(PodTraffic(f"coredns-{i}", peak / 5) for i in range(5))
        pieces["coredns_metrics"] = Traffic(pods, {}, peak, peak, 86400.0, 3600.0)


@pytest.mark.parametrize("peak", [None, 300.0])
def test_aks_ladder_at_100_nodes_keeps_5_replicas_and_that_is_no_overload(peak: float | None) -> None:
    pieces = healthy_pieces()
    aks(pieces, peak=peak)
    assert causes(pieces) == []


def test_measured_demand_over_the_replicas_is_overload_whatever_the_autoscaler_says() -> None:
    pieces = healthy_pieces()
    aks(pieces, peak=30000.0)  # reference 17,719 q/s per core x 70% x 0.1 core: 1,240 q/s a replica
    assert causes(pieces) == ["coredns_overloaded"]


def test_an_absent_autoscaler_is_said_and_the_linear_rule_judges_only_then() -> None:
    pieces = healthy_pieces()
    aks(pieces, peak=None)
    pieces["autoscaler"] = Autoscaler(None)
    assert causes(pieces) == ["coredns_overloaded"]  # the linear rule asks for 7 of a cluster this size
    pieces.pop("autoscaler")  # not read (its reader failed): no judgement from defaults
    assert causes(pieces) == []


@pytest.mark.parametrize(("peak", "expected"), [(300.0, []), (3000.0, ["coredns_overloaded"])])
def test_one_replica_on_one_node_is_overloaded_only_when_it_cannot_carry_the_peak(
    peak: float, expected: list[str]
) -> None:
    """k3s ships one replica on one node: demand recommends a spare (2), but one that carries the peak
    at the target utilisation is no overload; one that cannot (3,000 q/s: 3 needed) is."""
    pieces = healthy_pieces()
    pieces["inventory"] = Inventory(
        nodes=1, schedulable_nodes=1, cores=3.92, counted_nodes=1, pods=12, schedulable_cores=4, all_cores=4
    )
    pieces["coredns_pods"] = (pod("coredns-0", "10.244.0.5", "node-1"),)
    pieces["autoscaler"] = Autoscaler(None)
    pieces.pop("coredns_usage")
    pieces["coredns_metrics"] = Traffic((PodTraffic("coredns-0", peak),), {}, peak, peak, 86400.0, 3600.0)
    assert causes(pieces) == expected
