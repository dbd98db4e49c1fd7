"""Cluster rules: each names its cause from the API readings (with the probes where needed), none on healthy input."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from exporter.cluster.autoscaler import Autoscaler
from exporter.cluster.model import (
    CorednsPod,
    CorefileSource,
    Inventory,
    KubeDnsService,
    NodeLocal,
    NodeUsage,
    PodUsage,
    Policy,
    Resources,
    ServiceInventory,
    StatefulSetMismatch,
    Usage,
)
from exporter.cluster.readings import ClusterReadings, assemble
from exporter.config import CapacityConfig, Thresholds
from exporter.corefile.parse import parse_corefile
from exporter.diagnosis.engine import diagnose
from exporter.diagnosis.model import Observations
from exporter.node import NodeReadings
from exporter.node.readers.resolv_conf import NodeResolvConf
from exporter.probe import ProbeResult, Reason
from exporter.resolvconf import parse_resolv_conf
from tests.unit.node_readings import readings as node_readings
from tests.unit.results import NAMES, POD1, POD2, SERVICE, UP1, UP2, fail, healthy_results, round_of

NOW = 1_800_000_000.0
MIB = 1048576
COREFILE = (
    ".:53 {\n  errors\n  ready\n  kubernetes cluster.local\n  forward . /etc/resolv.conf\n  cache 30\n}\n"
)
LABELS = {"k8s-app": "kube-dns", "pod-template-hash": "5d78c9869d"}


def pod(name: str, ip: str, node: str, **changes: Any) -> CorednsPod:
    base = CorednsPod(
        name=name,
        node=node,
        ip=ip,
        phase="Running",
        ready=True,
        restarts=0,
        waiting_reason=None,
        last_terminated_reason=None,
        last_terminated_at=None,
        start_time=NOW - 86400,
        image="registry.k8s.io/coredns/coredns:v1.11.1",
        version=(1, 11, 1),
        labels=LABELS,
        resources=Resources(cpu_request=0.1, memory_request=70 * MIB, memory_limit=170 * MIB),
    )
    return dataclasses.replace(base, **changes)


def healthy_pieces() -> dict[str, Any]:
    return {
        "coredns_pods": (pod("coredns-a", "10.244.0.5", "node-1"), pod("coredns-b", "10.244.1.7", "node-2")),
        "kube_dns_service": KubeDnsService("kube-dns", ("10.96.0.10",), "None"),
        "corefile": CorefileSource(parse_corefile(COREFILE)),
        "nodelocal": NodeLocal(present=False),
        "kube_proxy": "iptables",
        "coredns_usage": Usage(
            (PodUsage("coredns-a", 0.003, 18 * MIB), PodUsage("coredns-b", 0.004, 19 * MIB)),
            (NodeUsage("node-1", 1.0, 4e9, 3.92, 15e9), NodeUsage("node-2", 1.5, 6e9, 3.92, 15e9)),
        ),
        "services": ServiceInventory(
            12, (), frozenset({("default", "redis")}), frozenset({("default", "redis")})
        ),
        "statefulsets": (),
        "network_policies": (),
        "inventory": Inventory(nodes=3, schedulable_nodes=3, cores=11.76, counted_nodes=3, pods=40),
        "autoscaler": Autoscaler(None),  # kubeadm installs none
    }


def node_modified(modified: float | None) -> NodeReadings:
    """A healthy node's readings (see tests/unit/node_readings.py) whose resolv.conf changed at ``modified``."""
    if modified is None:
        return node_readings(resolv_conf=None)
    conf = NodeResolvConf(
        "/run/systemd/resolve/resolv.conf", parse_resolv_conf("nameserver 10.1.0.4\n"), modified
    )
    return node_readings(resolv_conf=conf)


def run(
    pieces: dict[str, Any],
    results: list[ProbeResult] | None = None,
    *,
    removed: tuple[tuple[str, float], ...] = (),
    node: Any = None,
    leader: bool = True,
    thresholds: Thresholds | None = None,
) -> list[Any]:
    cluster = assemble(pieces, CapacityConfig(), leader=leader, removed=removed)
    results = healthy_results() if results is None else results
    results = [dataclasses.replace(r, timestamp=NOW - 5) for r in results]
    obs = Observations(
        rounds=tuple(round_of(*results, started=NOW - 5) for _ in range(3)),
        names=NAMES,
        configured_paths=frozenset({"service", "pod", "nodelocal", "upstream"}),
        node=node,
        cluster=cluster,
        now=NOW,
        thresholds=thresholds or Thresholds(),
    )
    return diagnose(obs)


def causes(pieces: dict[str, Any], results: list[ProbeResult] | None = None, **kwargs: Any) -> list[str]:
    return [f.cause for f in run(pieces, results, **kwargs)]


def with_pods(*pods: CorednsPod) -> Callable[[dict[str, Any]], None]:
    def change(pieces: dict[str, Any]) -> None:
        pieces["coredns_pods"] = pods

    return change


def setting(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(pieces: dict[str, Any]) -> None:
        pieces[key] = value

    return change


def test_healthy_cluster_names_no_cause() -> None:
    assert causes(healthy_pieces()) == []


def test_without_cluster_readings_or_on_a_standby_no_cluster_rule_runs() -> None:
    crashing = healthy_pieces()
    with_pods(pod("coredns-a", "10.244.0.5", "node-1", ready=False, waiting_reason="CrashLoopBackOff"))(
        crashing
    )
    assert causes(crashing, leader=False) == []
    obs = Observations(
        rounds=(round_of(*healthy_results()),), names=NAMES, configured_paths=frozenset({"pod"})
    )
    assert diagnose(obs) == []


CASES: list[tuple[str, Callable[[dict[str, Any]], None], list[str]]] = [
    (
        "crashloop",
        with_pods(
            pod("coredns-a", "10.244.0.5", "node-1"),
            pod(
                "coredns-b",
                "10.244.1.7",
                "node-2",
                ready=False,
                waiting_reason="CrashLoopBackOff",
                restarts=7,
                last_terminated_reason="Error",
                last_terminated_at=NOW - 60,
            ),
        ),
        ["coredns_unavailable"],
    ),
    (
        "not ready",
        with_pods(
            pod("coredns-a", "10.244.0.5", "node-1", ready=False), pod("coredns-b", "10.244.1.7", "node-2")
        ),
        ["coredns_unavailable"],
    ),
    (
        "restarts rising",
        with_pods(
            pod(
                "coredns-a",
                "10.244.0.5",
                "node-1",
                restarts=3,
                last_terminated_reason="OOMKilled",
                last_terminated_at=NOW - 200,
            ),
            pod("coredns-b", "10.244.1.7", "node-2"),
        ),
        ["coredns_unavailable"],
    ),
    (
        "memory near limit",
        setting("coredns_usage", Usage((PodUsage("coredns-a", 0.003, 150 * MIB),), ())),
        ["coredns_overloaded"],
    ),
    (
        # kubeadm and EKS ship a 100m request and no CPU limit: above the request nothing throttles it.
        "CPU above its request, no limit",
        setting("coredns_usage", Usage((PodUsage("coredns-a", 0.095, 20 * MIB),), ())),
        [],
    ),
    (
        "too few replicas",
        setting(
            "inventory", Inventory(nodes=100, schedulable_nodes=100, cores=400.0, counted_nodes=100, pods=900)
        ),
        ["coredns_overloaded"],
    ),
    (
        "memory formula over the limit",
        setting(
            "inventory", Inventory(nodes=3, schedulable_nodes=3, cores=11.76, counted_nodes=3, pods=200000)
        ),
        ["coredns_overloaded"],
    ),
    (
        "node saturated",
        setting("coredns_usage", Usage((), (NodeUsage("node-2", 3.8, 6e9, 3.92, 15e9),))),
        ["coredns_node_overloaded"],
    ),
    ("one replica", with_pods(pod("coredns-a", "10.244.0.5", "node-1")), ["coredns_load_unbalanced"]),
    (
        "one replica on the only node",
        lambda p: (
            with_pods(pod("coredns-a", "10.244.0.5", "node-1"))(p),
            setting(
                "inventory", Inventory(nodes=1, schedulable_nodes=1, cores=3.92, counted_nodes=1, pods=12)
            )(p),
        ),
        [],
    ),
    (
        "two replicas on the only node",
        lambda p: (
            with_pods(pod("coredns-a", "10.244.0.5", "node-1"), pod("coredns-b", "10.244.0.6", "node-1"))(p),
            setting(
                "inventory", Inventory(nodes=2, schedulable_nodes=1, cores=3.92, counted_nodes=1, pods=12)
            )(p),
        ),
        [],
    ),
    (
        "same node",
        with_pods(pod("coredns-a", "10.244.0.5", "node-1"), pod("coredns-b", "10.244.1.7", "node-1")),
        ["coredns_load_unbalanced"],
    ),
    (
        "session affinity",
        setting("kube_dns_service", KubeDnsService("kube-dns", ("10.96.0.10",), "ClientIP")),
        ["coredns_load_unbalanced"],
    ),
    (
        "hosts twice in a block",
        setting(
            "corefile",
            CorefileSource(parse_corefile(COREFILE.replace("cache 30", "cache 30\n  hosts\n  hosts /etc/h"))),
        ),
        ["coredns_config_error"],
    ),
    (
        "a plugin of the vendor's build (not known here) is no config error",
        setting(
            "corefile",
            CorefileSource(parse_corefile(COREFILE.replace("cache 30", "cache 30\n  healthcheck"))),
        ),
        [],
    ),
    (
        "autopath",
        setting(
            "corefile",
            CorefileSource(parse_corefile(COREFILE.replace("errors", "errors\n  autopath @kubernetes"))),
        ),
        ["coredns_autopath_defect"],
    ),
    (
        "old coredns",
        with_pods(
            *(
                pod(n, ip, node, version=(1, 6, 7), image="k8s.gcr.io/coredns:1.6.7")
                for n, ip, node in (
                    ("coredns-a", "10.244.0.5", "node-1"),
                    ("coredns-b", "10.244.1.7", "node-2"),
                )
            )
        ),
        ["coredns_headless_stale"],
    ),
    (
        "annotated services",
        setting("services", ServiceInventory(12, ("data/etcd",), frozenset(), frozenset())),
        ["endpointslice_migration"],
    ),
    (
        "statefulset",
        setting(
            "statefulsets",
            (StatefulSetMismatch("data", "kafka", "kafka-hl", "Service kafka-hl does not exist"),),
        ),
        ["statefulset_service_mismatch"],
    ),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_one_cluster_fault_one_cause(change: Callable[[dict[str, Any]], None], expected: list[str]) -> None:
    pieces = healthy_pieces()
    change(pieces)
    assert causes(pieces) == expected


def test_young_pod_not_ready_yet_is_not_a_fault() -> None:
    pieces = healthy_pieces()
    with_pods(
        pod("coredns-a", "10.244.0.5", "node-1", ready=False, start_time=NOW - 20),
        pod("coredns-b", "10.244.1.7", "node-2"),
    )(pieces)
    assert causes(pieces) == []


def test_crashloop_evidence_and_one_finding_with_the_probes() -> None:
    pieces = healthy_pieces()
    with_pods(
        *(
            pod(
                name,
                ip,
                node,
                ready=False,
                waiting_reason="CrashLoopBackOff",
                restarts=5,
                last_terminated_reason="Error",
                last_terminated_at=NOW - 30,
            )
            for name, ip, node in (
                ("coredns-a", "10.244.0.5", "node-1"),
                ("coredns-b", "10.244.1.7", "node-2"),
            )
        )
    )(pieces)
    pieces["corefile"] = CorefileSource(parse_corefile(COREFILE.replace("cache 30", "cache 30\n  cache 60")))
    results = healthy_results()
    for fault in (fail(Reason.TIMEOUT, path="pod"), fail(Reason.TIMEOUT, path="service")):
        results = [fault(r) or r for r in results]  # type: ignore[operator]
    (finding,) = run(pieces, results)
    assert finding.cause == "coredns_unavailable"
    assert finding.summary == (
        "None of the 2 CoreDNS pods answers, nor the kube-dns Service. 2 of 2 CoreDNS pods are not serving (0 serving)."
    )
    assert (
        "pod coredns-b on node-2: waiting: CrashLoopBackOff; not Ready (phase Running); 5 restarts, last terminated 30s ago (Error)"
        in finding.evidence
    )
    assert "Corefile: Corefile:1: cache appears 2 times in one server block" in finding.evidence
    assert any(e.startswith(f"pod {POD1}: ") for e in finding.evidence)  # the probe half is kept
    assert finding.fix.startswith("Look at the CoreDNS pods")


def test_endpointslice_migration_needs_coredns_1_8_4() -> None:
    pieces = healthy_pieces()
    pieces["services"] = ServiceInventory(12, ("data/etcd",), frozenset(), frozenset())
    old = [dataclasses.replace(p, version=(1, 8, 3)) for p in pieces["coredns_pods"]]
    pieces["coredns_pods"] = tuple(old)
    assert causes(pieces) == []


def blocked_policy(pieces: dict[str, Any]) -> None:
    pieces["network_policies"] = (
        Policy("metrics-only", {"k8s-app": "kube-dns"}, (), ingress=True, ports=((9153, None),)),
        Policy("other-app", {"app": "web"}, (), ingress=True, ports=((80, None),)),
    )


def test_dns_port_blocked_when_ready_pods_time_out_behind_a_policy() -> None:
    pieces = healthy_pieces()
    blocked_policy(pieces)
    results = [fail(Reason.TIMEOUT, server=POD2)(r) or r for r in healthy_results()]  # type: ignore[operator]
    (finding,) = run(pieces, results)
    assert finding.cause == "dns_port_blocked"
    assert finding.evidence == (
        f"pod {POD2} (coredns-b) is Ready, yet 12/12 probes timed out",
        "NetworkPolicy metrics-only selects the CoreDNS pods and admits no traffic to port 53",
    )
    # Every pod silent: the probes alone would say CoreDNS is down; the API says they are Ready.
    everything = healthy_results()
    for fault in (fail(Reason.TIMEOUT, path="pod"), fail(Reason.TIMEOUT, path="service")):
        everything = [fault(r) or r for r in everything]  # type: ignore[operator]
    assert causes(pieces, everything) == ["dns_port_blocked"]
    # Without a policy selecting CoreDNS, the same timeouts are not this cause.
    assert "dns_port_blocked" not in causes(healthy_pieces(), results)


def test_ipvs_udp_stale_after_an_endpoint_went_away() -> None:
    pieces = healthy_pieces()
    pieces["kube_proxy"] = "ipvs"
    results = [fail(Reason.TIMEOUT, path="service", transport="udp")(r) or r for r in healthy_results()]  # type: ignore[operator]
    removed = (("10.244.2.9:53", NOW - 60),)
    (finding,) = run(pieces, results, removed=removed)
    assert finding.cause == "ipvs_udp_stale"
    assert finding.evidence[0] == "endpoint 10.244.2.9:53 removed 60s ago"
    assert "kube-proxy mode: ipvs" in finding.evidence
    # The same UDP failures with iptables, or long after the removal, are not this cause.
    pieces["kube_proxy"] = "iptables"
    assert causes(pieces, results, removed=removed) == []
    pieces["kube_proxy"] = "ipvs"
    assert causes(pieces, results, removed=(("10.244.2.9:53", NOW - 900),)) == []
    # A Service dead over UDP and TCP after the removal: this cause explains the routing failure.
    dead = [fail(Reason.TIMEOUT, path="service")(r) or r for r in healthy_results()]  # type: ignore[operator]
    assert causes(pieces, dead, removed=removed) == ["ipvs_udp_stale"]
    pieces["kube_proxy"] = "iptables"
    assert causes(pieces, dead, removed=removed) == ["service_routing_broken"]


def test_upstream_tcp_unsupported_names_the_forward_blocks_without_prefer_udp() -> None:
    pieces = healthy_pieces()
    results = [fail(Reason.TIMEOUT, path="upstream", transport="tcp")(r) or r for r in healthy_results()]  # type: ignore[operator]
    (probe_only,) = run(pieces, results)
    pieces["nodelocal"] = NodeLocal(present=True)
    (finding,) = run(pieces, results)
    assert finding.cause == probe_only.cause == "upstream_tcp_unsupported"
    assert finding.evidence == (
        *probe_only.evidence,
        "CoreDNS forward . (Corefile:5) lacks prefer_udp",
    )
    assert "prefer_udp" in finding.fix
    assert finding.evidence[0] == f"upstream {UP1}: udp answers, tcp 3/3 failed (timeout)"
    assert UP2 in finding.summary
    # With prefer_udp in the Corefile the API half has nothing to add.
    pieces["corefile"] = CorefileSource(
        parse_corefile(COREFILE.replace("/etc/resolv.conf", "/etc/resolv.conf {\n    prefer_udp\n  }"))
    )
    assert run(pieces, results)[0].evidence == probe_only.evidence


def test_node_dns_config_stale_when_coredns_started_before_resolv_conf_changed() -> None:
    pieces = healthy_pieces()
    (finding,) = run(pieces, node=node_modified(NOW - 3600))
    assert finding.cause == "node_dns_config_stale"
    assert finding.evidence[:2] == (
        f"node resolv.conf modified at {NOW - 3600:.0f} (Unix time)",
        "CoreDNS forwards to /etc/resolv.conf",
    )
    # Pods started after the change, no mtime, or explicit forward targets: not this cause.
    assert causes(pieces, node=node_modified(NOW - 90000)) == []
    assert causes(pieces, node=node_modified(None)) == []
    pieces["corefile"] = CorefileSource(parse_corefile(COREFILE.replace("/etc/resolv.conf", "10.0.0.2")))
    assert causes(pieces, node=node_modified(NOW - 3600)) == []


def test_cluster_readings_are_frozen_and_serialisable() -> None:
    readings = assemble(healthy_pieces(), CapacityConfig(), leader=True)
    assert isinstance(readings, ClusterReadings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        readings.leader = False  # type: ignore[misc]
    doc = readings.as_dict()
    assert doc["coredns"] == {
        "version": "1.11.1",
        "replicas": 2,
        "ready": 2,
        "nodes": 2,
        "pods": [p.as_dict() for p in healthy_pieces()["coredns_pods"]],
    }
    assert doc["capacity"]["recommended_replicas_linear"] == 2
    assert SERVICE  # the probe fixtures are shared with the probe rules' tests


def test_usage_thresholds_come_from_the_config() -> None:
    """node-2 at 97% CPU is saturated by default (0.9), not when the threshold is 0.98."""
    pieces = healthy_pieces()
    pieces["coredns_usage"] = Usage((), (NodeUsage("node-2", 3.8, 6e9, 3.92, 15e9),))
    assert [f.cause for f in run(pieces)] == ["coredns_node_overloaded"]
    assert run(pieces, thresholds=Thresholds(node_cpu=0.98)) == []


@pytest.mark.parametrize(
    ("ports", "admitted"),
    [
        (((5353, None),), True),  # OpenShift: the Service's 53 reaches the pods on 5353
        ((("dns", None),), True),  # a named port
        (((5300, 5400),), True),  # a range with endPort
        ((("*", None),), True),  # a rule without ports admits every port
        (((9153, None),), False),  # metrics only
        ((("metrics", None),), False),
    ],
)
def test_a_policy_admits_dns_on_the_port_the_pods_serve(
    ports: tuple[tuple[int | str, int | None], ...], admitted: bool
) -> None:
    policy = Policy("dns", {"dns.operator.openshift.io/daemonset-dns": "default"}, (), True, ports)
    assert policy.admits({53, "dns", "dns-tcp", 5353}) is admitted


def test_dns_port_blocked_reads_policies_against_the_pods_real_port() -> None:
    """A policy admitting only 5353 where the pods serve on 5353 is no "admits no traffic" policy."""
    pieces = healthy_pieces()
    pieces["network_policies"] = (
        Policy("dns-default", {"k8s-app": "kube-dns"}, (), ingress=True, ports=((5353, None),)),
    )
    on_5353 = [dataclasses.replace(r, server=r.server.replace(":53", ":5353")) for r in healthy_results()]
    results = [fail(Reason.TIMEOUT, server=POD2.replace(":53", ":5353"))(r) or r for r in on_5353]  # type: ignore[operator]
    (finding,) = run(pieces, results)
    assert (
        "NetworkPolicy dns-default selects the CoreDNS pods and admits port 53/5353 from some sources only"
        in (finding.evidence)
    )
