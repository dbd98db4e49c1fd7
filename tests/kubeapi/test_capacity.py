"""Capacity planning end to end: CoreDNS pods' own metrics read on their IPs, the autoscaler's ConfigMap
read through the API, and the three recommendations with their headroom.

The CoreDNS pods are stand-ins on their loopback pod IPs (``lab/coredns_metrics.py``) serving CoreDNS's
exposition format with counters growing at known rates; the autoscaler ConfigMaps are the public ones:
kubernetes/kubernetes ``cluster/addons/dns-horizontal-autoscaler`` (its ``--default-params``, which the
autoscaler writes into ``kube-dns-autoscaler``) and AKS's ``coredns-autoscaler`` (as ``kubectl get
configmap coredns-autoscaler -n kube-system -o yaml`` shows it on an AKS cluster).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from exporter.cluster.readings import ClusterReadings
from exporter.diagnosis.engine import diagnose
from exporter.report import build_report
from exporter.runtime import Runtime
from exporter.text import render_text
from lab.coredns_metrics import CorednsMetrics, Load
from lab.kubeapi.cluster import POD_NAMES, FakeCluster
from lab.kubeapi.nodes import node, pod_metrics
from lab.kubeapi.server import KubeAPI
from lab.kubeapi.workloads import configmap, disruption_budget
from tests.integration.metrics_text import samples
from tests.kubeapi.test_readers import failures, read, runtime

POD_IPS = ("127.0.20.1", "127.0.20.2")
RATES = (1200.0, 800.0)
KUBE_DNS_AUTOSCALER = configmap(
    "kube-dns-autoscaler",
    {"linear": '{"coresPerReplica":256,"nodesPerReplica":16,"preventSinglePointFailure":true,'
     '"includeUnschedulableNodes":true}'},
)  # fmt: skip
AKS_AUTOSCALER = configmap(
    "coredns-autoscaler",
    {
        "ladder": '{"coresToReplicas":[[1,2],[512,3],[1024,4],[2048,5]],"nodesToReplicas":[[1,2],[8,3],[16,4],[32,5]]}'
    },
)
ZONES = {"node-1": "eu-west-1a", "node-2": "eu-west-1b", "node-3": "eu-west-1c"}


def zoned(name: str, **fields: Any) -> dict[str, Any]:
    obj = node(name, **fields)
    obj["metadata"]["labels"]["topology.kubernetes.io/zone"] = ZONES[name]
    return obj


def busy_cluster(kube_api: KubeAPI) -> FakeCluster:
    """The healthy fake cluster, its nodes in three zones, each CoreDNS pod using 100m CPU (its request)."""
    cluster = FakeCluster(
        kube_api, list(POD_IPS), "127.0.10.10", 5353, ["127.0.40.1:5353"], healthy=True
    ).load()
    kube_api.store.put(zoned("node-1", allocatable_cpu="3920m"))
    kube_api.store.put(zoned("node-2", allocatable_cpu="3920m"))
    kube_api.store.put(zoned("node-3", cpu="8", allocatable_cpu="7900m"))
    for name in POD_NAMES:
        kube_api.store.put(pod_metrics(name, cpu="100m", memory="30Mi"))
    return cluster


@pytest.fixture
def coredns_pods() -> Iterator[list[CorednsMetrics]]:
    with ExitStack() as stack:
        yield [
            stack.enter_context(CorednsMetrics(ip, 9153, Load(qps)))
            for ip, qps in zip(POD_IPS, RATES, strict=True)
        ]


def read_twice(rt: Runtime, gap: float = 1.0) -> ClusterReadings:
    read(rt)
    time.sleep(gap)  # a rate needs time between two reads of the counters
    return read(rt)


def test_measured_demand_and_the_three_recommendations(
    kube_api: KubeAPI, kubeconfig: Path, coredns_pods: list[CorednsMetrics]
) -> None:
    busy_cluster(kube_api)
    kube_api.store.put(KUBE_DNS_AUTOSCALER)
    kube_api.store.put(disruption_budget("coredns-pdb", selector={"k8s-app": "kube-dns"}, max_unavailable=1))
    kube_api.store.put(disruption_budget("other-pdb", selector={"app": "web"}, max_unavailable=1))
    rt = runtime(kubeconfig)
    readings = read_twice(rt)
    assert failures(rt) == {}
    traffic = readings.traffic
    assert traffic is not None
    for name, rate in zip(POD_NAMES, RATES, strict=True):
        pod = traffic.pod(name)
        assert pod is not None
        assert pod.qps is not None
        assert pod.qps == pytest.approx(rate, rel=0.1)
        assert pod.cache_hit_ratio == pytest.approx(0.8, abs=0.02)
        assert pod.latency == pytest.approx(0.0005, rel=0.05)
        assert pod.forward_latency["10.0.0.2:53"] == pytest.approx(0.012, rel=0.05)
    assert traffic.peak_qps == pytest.approx(sum(RATES), rel=0.1)
    capacity = readings.capacity
    assert capacity is not None
    assert capacity.demand is not None
    assert capacity.headroom is not None
    demand = capacity.demand
    # 2000 q/s on 0.2 cores: 10,000 q/s per core; a replica may use 70% of its 100m request: 700 q/s.
    assert demand.qps_per_core == pytest.approx(10000, rel=0.1)
    assert demand.qps_per_core_source == "measured"
    assert (demand.cores_per_replica, demand.cores_source) == (0.1, "request")
    assert demand.zones == 3
    # ceil(2000 / 700) = 3; one spare: 4; losing the zone holding ceil(4/3) = 2 leaves 2 < 3, so 5.
    assert (demand.base_replicas, demand.replicas) == (3, 5)
    # The peak uses all the CPU the two replicas are set aside (100%); with one of them lost, twice that.
    assert capacity.headroom.utilisation["none"] == pytest.approx(1.0, rel=0.01)
    assert capacity.headroom.utilisation["replica"] == pytest.approx(2.0, rel=0.01)
    assert capacity.headroom.utilisation["zone"] == pytest.approx(2.0, rel=0.01)
    assert capacity.headroom.replicas_per_zone == {"eu-west-1a": 1, "eu-west-1b": 1}
    # kube-dns-autoscaler: 4 nodes (unschedulable ones included), 20 whole cores: max(1, 1), at least 2.
    assert capacity.autoscaler is not None
    assert capacity.autoscaler.mode == "linear"
    assert capacity.autoscaler_replicas == 2
    assert capacity.linear_replicas == 2
    text = generate_latest(rt.registry()).decode()
    recommended = {
        labels["formula"]: v for labels, v in samples(text, "k8s_dns_coredns_recommended_replicas")
    }
    assert recommended == {"linear": 2.0, "autoscaler": 2.0, "demand": 5.0}
    per_pod = {labels["coredns_pod"]: v for labels, v in samples(text, "k8s_dns_coredns_queries_per_second")}
    assert per_pod[POD_NAMES[0]] == pytest.approx(RATES[0], rel=0.1)
    findings = {f.cause: f for f in diagnose(rt.observations())}
    overloaded = findings["coredns_overloaded"]
    assert any(
        e.startswith("2 replicas for a peak of ")
        and e.endswith("it needs 3, 5 with a replica spare and a zone's loss covered")
        for e in overloaded.evidence
    )
    assert any("of 0.1 cores request" in e and "no limit set" in e for e in overloaded.evidence)
    doctor = render_text(build_report(rt.snapshot()))
    assert "CoreDNS capacity: 2 replica(s) running" in doctor
    assert "    autoscaler  2: kube-dns-autoscaler (linear)" in doctor
    assert "    demand      5: ceil(" in doctor
    assert (
        "  disruption budget: coredns-pdb (minAvailable None, maxUnavailable 1; 1 eviction(s) allowed now)"
        in doctor
    )
    assert {labels["budget"]: v for labels, v in samples(text, "k8s_dns_coredns_disruptions_allowed")} == {
        "coredns-pdb": 1.0
    }


def test_aks_ladder_at_100_nodes_with_low_demand_is_not_overloaded(
    kube_api: KubeAPI, kubeconfig: Path
) -> None:
    cluster = FakeCluster(
        kube_api, list(POD_IPS), "127.0.10.10", 5353, ["127.0.40.1:5353"], healthy=True
    ).load()
    for index in range(5, 102):
        kube_api.store.put(node(f"node-{index}", allocatable_cpu="3920m"))
    assert cluster.pods
    kube_api.store.put(AKS_AUTOSCALER)
    with ExitStack() as stack:
        for ip in POD_IPS:
            stack.enter_context(CorednsMetrics(ip, 9153, Load(qps=40.0)))
        rt = runtime(kubeconfig)
        readings = read_twice(rt)
    capacity = readings.capacity
    assert capacity is not None
    assert capacity.demand is not None
    # 100 schedulable nodes: the exporter's linear rule asks for 7, the AKS ladder for 5.
    assert capacity.linear_replicas == 7
    assert capacity.autoscaler_replicas == 5
    assert capacity.demand.replicas <= 2
    assert "coredns_overloaded" not in {f.cause for f in diagnose(rt.observations())}


def test_without_metrics_server_or_reachable_pod_metrics_it_says_what_it_cannot_see(
    kube_api: KubeAPI, kubeconfig: Path
) -> None:
    busy_cluster(kube_api)
    kube_api.faults.absent.add("metrics.k8s.io/v1beta1")
    rt = runtime(kubeconfig)
    readings = read_twice(rt, gap=0.1)
    failed = failures(rt)
    assert failed["coredns_usage"] == "metrics.k8s.io is not served (is metrics-server installed?)"
    reason = failed["coredns_metrics"]
    assert reason is not None
    assert reason.startswith("2 of 2 pods unread: ")
    assert f"{POD_IPS[0]}:9153: " in reason
    assert readings.errors["coredns_metrics"] == reason
    capacity = readings.capacity
    assert capacity is not None
    assert capacity.demand is None  # nothing measured, nothing invented
    assert capacity.autoscaler is not None
    assert not capacity.autoscaler.present  # absent: said, not assumed
    text = generate_latest(rt.registry()).decode()
    success = {labels["collector"]: v for labels, v in samples(text, "k8s_dns_collector_success")}
    assert success["coredns_metrics"] == 0.0
    assert success["autoscaler"] == 1.0
    recommended = {
        labels["formula"]: v for labels, v in samples(text, "k8s_dns_coredns_recommended_replicas")
    }
    assert recommended == {"linear": 2.0}
    assert {labels["mode"] for labels, _ in samples(text, "k8s_dns_coredns_autoscaler_info")} == {"none"}
    doctor = render_text(build_report(rt.snapshot()))
    assert "  demand: not measured: 2 of 2 pods unread: " in doctor
    assert "    autoscaler  none: no cluster-proportional-autoscaler ConfigMap" in doctor
    assert (
        "  disruption budget: none selects the CoreDNS pods: a drain may evict every replica at once"
        in doctor
    )


def test_one_pod_serving_something_else_is_counted_with_its_reason(
    kube_api: KubeAPI, kubeconfig: Path
) -> None:
    busy_cluster(kube_api)
    with (
        CorednsMetrics(POD_IPS[0], 9153, Load(qps=300.0)),
        CorednsMetrics(POD_IPS[1], 9153, body="<html>login</html>\n"),
    ):
        rt = runtime(kubeconfig)
        readings = read_twice(rt, gap=0.5)
    reason = failures(rt)["coredns_metrics"]
    assert reason is not None
    assert POD_NAMES[1] in reason
    assert "not Prometheus text" in reason or "no coredns_dns_requests_total" in reason
    traffic = readings.traffic
    assert traffic is not None
    assert traffic.qps is not None
    assert traffic.qps == pytest.approx(300.0, rel=0.1)  # what could be read still counts
    assert set(traffic.failed) == {POD_NAMES[1]}
