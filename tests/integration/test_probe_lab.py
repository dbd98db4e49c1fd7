"""The probe engine against real DNS servers (dnsmasq, unbound) playing every hop."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from exporter.probe import Reason
from exporter.state import RACE_QUERIES
from exporter.targets.plan import Kind, plan
from lab import Lab
from lab.zones import HEADLESS_ENDPOINTS
from tests.integration.probing import one, run_round

pytestmark = pytest.mark.lab


def test_every_path_and_transport_answers(shared_lab: Lab, tmp_path: Path) -> None:
    resolv = shared_lab.write_resolv_conf(tmp_path / "resolv.conf")
    _, round_ = run_round(shared_lab.config(resolv_conf=resolv))
    seen = {(r.path, r.transport) for r in round_.results}
    for path in ("service", "pod", "nodelocal", "upstream"):
        assert {(path, "udp"), (path, "tcp")} <= seen
    assert ("resolver", "udp") in seen
    failed = [r for r in round_.results if not r.ok]
    assert failed == []
    internal = one(round_, path="service", name="kubernetes.default.svc.cluster.local.", transport="udp")
    assert internal.answers == ("10.96.0.1",)
    assert internal.rcode == "NOERROR"
    assert internal.latency is not None
    assert 0 < internal.latency < 0.5
    # Internal names are not asked of upstreams: they do not serve the cluster zone.
    assert not [r for r in round_.results if r.path == "upstream" and r.name.endswith("cluster.local.")]
    external = one(
        round_, path="upstream", server=shared_lab.address("upstream-2"), name="example.org.", transport="tcp"
    )
    assert external.answers == ("192.0.2.10",)


def test_truncated_over_udp_complete_over_tcp(shared_lab: Lab) -> None:
    doc = shared_lab.config(names=[{"name": "big-headless.default.svc.cluster.local.", "type": "A"}])
    doc["paths"] = {"pod": [shared_lab.address("pod-1")]}
    _, round_ = run_round(doc)
    udp = one(round_, transport="udp")
    tcp = one(round_, transport="tcp")
    assert udp.reason is Reason.TRUNCATED
    assert udp.truncated
    assert 0 < len(udp.answers) < HEADLESS_ENDPOINTS
    assert tcp.ok
    assert len(tcp.answers) == HEADLESS_ENDPOINTS


def test_edns_makes_room_for_the_whole_answer(shared_lab: Lab) -> None:
    doc = shared_lab.config(
        names=[{"name": "big-headless.default.svc.cluster.local.", "type": "A"}], edns_payload=4096
    )
    doc["paths"] = {"pod": [shared_lab.address("pod-1")]}
    _, round_ = run_round(doc)
    assert one(round_, transport="udp").ok


def test_resolver_path_applies_search_list_and_ndots(shared_lab: Lab, tmp_path: Path) -> None:
    resolv = shared_lab.write_resolv_conf(tmp_path / "resolv.conf", ndots=5)
    doc = shared_lab.config(
        resolv_conf=resolv,
        names=[
            {"name": "example.org", "kind": "external"},
            {"name": "kubernetes.default", "kind": "internal"},
            {"name": "web", "kind": "internal"},
            {"name": "no-such-name", "kind": "internal"},
            {"name": "example.org."},
        ],
    )
    doc["paths"] = {"resolver": doc["paths"]["resolver"]}
    _, round_ = run_round(doc)
    external = one(round_, name="example.org")
    assert (external.ok, external.queries, external.answers) == (True, 4, ("192.0.2.10",))
    assert "example.org.cluster.local. NXDOMAIN" in external.detail
    assert one(round_, name="kubernetes.default").queries == 2
    assert one(round_, name="web").queries == 1  # web.default.svc.cluster.local. answers first
    missing = one(round_, name="no-such-name")
    assert (missing.reason, missing.queries, missing.rcode) == (Reason.NXDOMAIN, 4, "NXDOMAIN")
    absolute = one(round_, name="example.org.")
    assert absolute.queries == 1
    assert absolute.server == str(resolv)


def test_resolver_path_with_ndots_1_asks_the_name_first(shared_lab: Lab, tmp_path: Path) -> None:
    resolv = shared_lab.write_resolv_conf(tmp_path / "resolv.conf", ndots=1)
    doc = shared_lab.config(resolv_conf=resolv, names=[{"name": "example.org", "kind": "external"}])
    doc["paths"] = {"resolver": doc["paths"]["resolver"]}
    _, round_ = run_round(doc)
    assert one(round_, name="example.org").queries == 1


def test_resolver_path_moves_to_the_next_nameserver(shared_lab: Lab, tmp_path: Path) -> None:
    dead = "127.0.99.1"  # nothing listens there: the kernel refuses the port at once
    resolv = shared_lab.write_resolv_conf(
        tmp_path / "resolv.conf", nameservers=[dead, shared_lab.servers["service"].host]
    )
    doc = shared_lab.config(resolv_conf=resolv, names=[{"name": "kubernetes.default.svc.cluster.local."}])
    doc["paths"] = {"resolver": doc["paths"]["resolver"]}
    _, round_ = run_round(doc)
    result = one(round_, path="resolver")
    assert result.ok
    assert result.queries == 2


def test_a_lookup_cut_off_by_the_budget_counts_the_queries_it_sent(shared_lab: Lab, tmp_path: Path) -> None:
    """A silent first nameserver: glibc waits 5 s on it, the round's budget (0.9 s here) ends first.
    The query sent is load on that server all the same, and counts."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.98.1", shared_lab.port))  # receives, never answers
    with silent:
        resolv = shared_lab.write_resolv_conf(
            tmp_path / "resolv.conf", nameservers=["127.0.98.1", shared_lab.servers["service"].host]
        )
        doc = shared_lab.config(resolv_conf=resolv, names=[{"name": "kubernetes.default.svc.cluster.local."}])
        doc["paths"] = {"resolver": doc["paths"]["resolver"]}
        runtime, round_ = run_round(doc)
    result = one(round_, path="resolver")
    assert result.reason is Reason.TIMEOUT
    assert result.queries == 1
    assert "127.0.98.1 udp cut off" in result.detail
    assert runtime.probes.view().queries_sent[("resolver", "udp")] == 1


@pytest.mark.parametrize(
    ("expect", "reason"),
    [
        ({"answers": ["10.96.0.1"]}, None),
        ({"answers": ["10.96.0.99"]}, Reason.WRONG_ANSWER),
        ({"rcode": "NXDOMAIN"}, Reason.WRONG_ANSWER),
        ({"min_answers": 2}, Reason.WRONG_ANSWER),
    ],
)
def test_expectations(shared_lab: Lab, expect: dict[str, object], reason: Reason | None) -> None:
    doc = shared_lab.config(names=[{"name": "kubernetes.default.svc.cluster.local.", "expect": expect}])
    doc["paths"] = {"service": [shared_lab.address("service")]}
    _, round_ = run_round(doc)
    assert {r.reason for r in round_.results} == {reason}


def test_negative_probe_expects_nxdomain(shared_lab: Lab) -> None:
    doc = shared_lab.config(
        names=[
            {"name": "no-such.default.svc.cluster.local.", "expect": {"rcode": "NXDOMAIN"}},
            {"name": "no-such.default.svc.cluster.local.", "type": "AAAA"},
        ]
    )
    doc["paths"] = {"pod": [shared_lab.address("pod-1")]}
    _, round_ = run_round(doc)
    assert one(round_, qtype="A", transport="udp").ok
    assert one(round_, qtype="AAAA", transport="udp").reason is Reason.NXDOMAIN


def test_closed_ports_are_network_errors(shared_lab: Lab) -> None:
    doc = shared_lab.config()
    doc["paths"] = {"pod": ["127.0.99.2:5353"]}
    _, round_ = run_round(doc)
    assert {(r.transport, r.reason) for r in round_.results} == {
        ("udp", Reason.NETWORK_ERROR),
        ("tcp", Reason.NETWORK_ERROR),
    }
    assert all(r.detail == "connection refused" for r in round_.results)


def test_killing_one_server_fails_exactly_its_probes(lab: Lab) -> None:
    lab.kill("pod-2")
    _, round_ = run_round(lab.config())
    failed = {r.server for r in round_.results if not r.ok}
    assert failed == {lab.address("pod-2")}
    assert {r.reason for r in round_.results if not r.ok} <= {Reason.NETWORK_ERROR, Reason.TIMEOUT}


def test_the_plan_counts_the_queries_the_round_sends(shared_lab: Lab, tmp_path: Path) -> None:
    """What the cost model counts (the plan, no query sent) is what a healthy round sends."""
    resolv = shared_lab.write_resolv_conf(tmp_path / "resolv.conf")
    doc = shared_lab.config(resolv_conf=resolv)
    doc["names"] = [
        *doc["names"],
        {"name": "kubernetes.default.svc.cluster.local.", "type": "AAAA", "race": True},
    ]
    runtime, round_ = run_round(doc)
    assert round_.targets is not None
    planned = plan(runtime.config, round_.targets)
    sent = sum(r.queries for r in round_.results) + RACE_QUERIES * len(round_.races)
    answered = {(r.name if r.name.endswith(".") else r.name + ".", r.qtype) for r in round_.results if r.ok}
    assert planned.queries(lambda name, qtype: (name, qtype) in answered) == sent
    assert len(planned) == len(round_.results) + len(round_.races)
    assert {p.key for p in planned.of(Kind.RACE)} == {
        (r.path, r.server, r.name, "A", "udp") for r in round_.races
    }
