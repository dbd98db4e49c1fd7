"""The probe plan: every probe of a round as data, in a stable order, and what it costs in queries."""

from __future__ import annotations

from exporter.config import ResolverTarget, Server, parse_config
from exporter.hops import Hop
from exporter.resolvconf import parse_resolv_conf
from exporter.targets import TargetSet
from exporter.targets.plan import Kind, plan
from exporter.targets.zones import MAX_ZONE_TARGETS, ZoneTarget, bounded

CONF = parse_resolv_conf(
    "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
)
DOC = {
    "names": [
        {"name": "kubernetes.default.svc.cluster.local.", "type": "A", "race": True},
        {"name": "example.org.", "type": "AAAA", "transports": ["udp"]},
        {"name": "kubernetes.default", "type": "A"},
    ],
    "paths": {"service": ["10.96.0.10"], "pod": ["10.0.0.5", "10.0.1.7"], "upstream": ["192.0.2.53"]},
}
SERVERS = {
    "service": (Server("10.96.0.10"),),
    "pod": (Server("10.0.0.5"), Server("10.0.1.7")),
    "upstream": (Server("192.0.2.53"),),
}


def targets(resolver: bool = True) -> TargetSet:
    return TargetSet(
        servers=SERVERS, resolver=(ResolverTarget("/etc/resolv.conf", 53), CONF) if resolver else None
    )


def test_direct_probes_cross_every_name_with_the_hops_servers_and_transports_it_applies_to() -> None:
    probes = plan(parse_config(DOC), targets()).of(Kind.DIRECT)
    # Internal names skip upstreams (they do not serve the cluster zone); relative names are lookups only.
    assert [(p.path, p.label, p.name, p.qtype, p.transport) for p in probes] == [
        (Hop.SERVICE, "10.96.0.10:53", "kubernetes.default.svc.cluster.local.", "A", "udp"),
        (Hop.SERVICE, "10.96.0.10:53", "kubernetes.default.svc.cluster.local.", "A", "tcp"),
        (Hop.SERVICE, "10.96.0.10:53", "example.org.", "AAAA", "udp"),
        (Hop.POD, "10.0.0.5:53", "kubernetes.default.svc.cluster.local.", "A", "udp"),
        (Hop.POD, "10.0.0.5:53", "kubernetes.default.svc.cluster.local.", "A", "tcp"),
        (Hop.POD, "10.0.0.5:53", "example.org.", "AAAA", "udp"),
        (Hop.POD, "10.0.1.7:53", "kubernetes.default.svc.cluster.local.", "A", "udp"),
        (Hop.POD, "10.0.1.7:53", "kubernetes.default.svc.cluster.local.", "A", "tcp"),
        (Hop.POD, "10.0.1.7:53", "example.org.", "AAAA", "udp"),
        (Hop.UPSTREAM, "192.0.2.53:53", "example.org.", "AAAA", "udp"),
    ]
    assert {p.server for p in probes} == {s for servers in SERVERS.values() for s in servers}
    assert all(p.queries() == 1 for p in probes)


def test_a_lookup_tries_the_search_list_in_glibcs_order_and_costs_a_query_per_candidate_tried() -> None:
    lookups = {p.name: p for p in plan(parse_config(DOC), targets()).of(Kind.LOOKUP)}
    assert set(lookups) == {"kubernetes.default.svc.cluster.local.", "example.org.", "kubernetes.default"}
    short = lookups["kubernetes.default"]
    assert (short.path, short.label, short.transport) == (Hop.RESOLVER, "/etc/resolv.conf", "udp")
    assert short.tries == (
        "kubernetes.default.default.svc.cluster.local.",
        "kubernetes.default.svc.cluster.local.",
        "kubernetes.default.cluster.local.",
        "kubernetes.default.",
    )
    assert short.queries(lambda name, qtype: name == "kubernetes.default.svc.cluster.local.") == 2
    assert short.queries(lambda name, qtype: False) == 4  # NXDOMAIN everywhere: every candidate
    assert lookups["example.org."].tries == ("example.org.",)
    assert plan(parse_config(DOC), targets(resolver=False)).of(Kind.LOOKUP) == ()


def test_use_vc_plans_lookups_over_tcp() -> None:
    conf = parse_resolv_conf("nameserver 10.96.0.10\noptions use-vc\n")
    lookups = plan(parse_config(DOC), TargetSet(servers={}, resolver=(ResolverTarget(), conf))).of(
        Kind.LOOKUP
    )
    assert {p.transport for p in lookups} == {"tcp"}


def test_race_probes_go_once_per_race_name_and_server_of_the_hops_that_cross_conntrack() -> None:
    races = plan(parse_config(DOC), targets()).of(Kind.RACE)
    assert [(p.path, p.label, p.name, p.transport) for p in races] == [
        (Hop.SERVICE, "10.96.0.10:53", "kubernetes.default.svc.cluster.local.", "udp"),
        (Hop.POD, "10.0.0.5:53", "kubernetes.default.svc.cluster.local.", "udp"),
        (Hop.POD, "10.0.1.7:53", "kubernetes.default.svc.cluster.local.", "udp"),
    ]
    assert {p.queries() for p in races} == {4}  # A and AAAA together, then one by one


def test_a_round_costs_the_sum_of_its_probes() -> None:
    round_plan = plan(parse_config(DOC), targets())
    assert len(round_plan) == 10 + 3 + 3
    exists = {"kubernetes.default.svc.cluster.local.", "example.org."}
    # 10 direct + lookups (1 + 1 + 2) + 3 races of 4
    assert round_plan.queries(lambda name, qtype: name in exists) == 10 + 4 + 12


def test_conditional_forwarders_are_asked_their_zones_soa_once_each() -> None:
    corp = (
        ZoneTarget("corp.internal.", Server("10.1.0.4")),
        ZoneTarget("corp.internal.", Server("10.20.0.4")),
    )
    tcp = ZoneTarget("cluster.local.", Server("10.233.0.3"), "tcp")
    zoned = TargetSet(servers=SERVERS, zones=(*corp, tcp))
    probes = [p for p in plan(parse_config(DOC), zoned).of(Kind.DIRECT) if p.qtype == "SOA"]
    assert [(p.path, p.label, p.name, p.transport, p.tries) for p in probes] == [
        (Hop.UPSTREAM, "10.1.0.4:53", "corp.internal.", "udp", ("corp.internal.",)),
        (Hop.UPSTREAM, "10.20.0.4:53", "corp.internal.", "udp", ("corp.internal.",)),
        (Hop.UPSTREAM, "10.233.0.3:53", "cluster.local.", "tcp", ("cluster.local.",)),
    ]
    assert all(p.expect.rcode == "NOERROR" and p.expect.min_answers == 0 for p in probes)
    # the configured names are not asked of a forwarder that serves one zone only
    assert {p.label for p in plan(parse_config(DOC), zoned).of(Kind.DIRECT) if p.path is Hop.UPSTREAM} == {
        "192.0.2.53:53",
        "10.1.0.4:53",
        "10.20.0.4:53",
        "10.233.0.3:53",
    }
    assert len(plan(parse_config(DOC), zoned)) == len(plan(parse_config(DOC), targets(resolver=False))) + 3


def test_zone_targets_are_bounded() -> None:
    many = [ZoneTarget(f"z{i}.corp.", Server("10.1.0.4")) for i in range(MAX_ZONE_TARGETS + 5)]
    kept = bounded([*many, many[0]])
    assert kept == tuple(many[:MAX_ZONE_TARGETS])
