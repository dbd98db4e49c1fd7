"""Which CoreDNS pods a round probes: at most the budget, the node's own pod every round, and a rotation
whose coverage the README states (every pod within ``rounds_to_cover`` rounds)."""

from __future__ import annotations

import random

import pytest

from bench.coverage import Fleet, simulate
from exporter.config import Config, ConfigError, Server, parse_config
from exporter.hops import Hop
from exporter.targets import TargetSet
from exporter.targets.plan import Kind, plan
from exporter.targets.selection import Reason, narrow, rounds_to_cover, seed, select, share

DOC = {"names": [{"name": "example.org."}], "paths": {"pod": ["10.128.0.1:5353"]}}
PODS = [Server(f"10.128.{i // 250}.{i % 250 + 1}", 5353) for i in range(150)]


def placement(pods: list[Server]) -> dict[Server, str | None]:
    """One pod on each of node-0, node-1, ... (OpenShift's dns-default DaemonSet)."""
    return {pod: f"node-{i}" for i, pod in enumerate(pods)}


@pytest.mark.parametrize("pods", [24, 150])
def test_a_round_probes_at_most_the_budget_with_its_own_nodes_pod(pods: int) -> None:
    servers = PODS[:pods]
    where = placement(servers)
    for node in ("node-0", "node-7", f"node-{pods - 1}"):
        own = next(p for p, n in where.items() if n == node)
        for index in range(40):
            chosen = dict(select(servers, where, node, 3, index))
            assert len(chosen) == 3
            assert chosen[own] is Reason.OWN_NODE
            assert sorted(chosen.values()).count(Reason.ROTATION) == 2


@pytest.mark.parametrize(
    ("pods", "budget", "own"), [(24, 3, True), (24, 3, False), (150, 3, True), (10, 4, False)]
)
def test_each_agent_visits_every_pod_within_the_stated_rounds(pods: int, budget: int, own: bool) -> None:
    servers = PODS[:pods]
    where = placement(servers) if own else {}
    bound = rounds_to_cover(pods, budget, own=own)
    assert bound == -(-(pods - own) // (budget - own))
    for node in (f"node-{i}" for i in range(0, pods, 5)):
        for start in (0, 3, 1000):  # an agent's first round is any round: it restarts
            seen = set()
            for index in range(start, start + bound):
                seen.update(pod for pod, _ in select(servers, where, node, budget, index))
            assert seen == set(servers), f"{node} from round {start}"


def test_several_agents_cover_every_pod_every_round_when_each_pod_has_an_agent_on_its_node() -> None:
    servers = PODS[:24]
    where = placement(servers)
    for index in range(30):
        probed = set()
        for node in set(where.values()):
            probed.update(pod for pod, _ in select(servers, where, node, 3, index))
        assert probed == set(servers)


def test_few_pods_or_no_budget_probe_every_pod() -> None:
    two = PODS[:2]
    assert select(two, placement(two), "node-0", 3, 5) == ((two[0], Reason.ALL), (two[1], Reason.ALL))
    assert len(select(PODS, {}, "node-0", 0, 0)) == len(PODS)
    assert rounds_to_cover(2, 3, own=True) == 1
    assert rounds_to_cover(0, 3, own=False) == 0


def test_the_offset_is_the_nodes_own_and_stable() -> None:
    assert seed("node-7") != seed("node-8")
    starts = {select(PODS[:24], {}, f"node-{i}", 3, 0)[0][0] for i in range(200)}
    assert len(starts) > 12, "node names hash to offsets spread over the pods"


def test_narrow_keeps_the_other_hops_and_says_how_many_pods_there_are() -> None:
    servers = tuple(PODS[:24])
    service = Server("172.30.0.10", 53)
    targets = TargetSet(
        servers={"service": (service,), "pod": servers},
        reasons={("service", service): "discovered", **{("pod", p): "discovered" for p in servers}},
    )
    narrowed = narrow(targets, Hop.POD, 3, 0, placement=placement(list(servers)), node="node-3")
    assert narrowed.servers["service"] == (service,)
    assert len(narrowed.servers["pod"]) == 3
    assert narrowed.known == {"pod": 24}
    assert narrowed.reasons[("pod", servers[3])] == "own-node"
    assert {k for k in narrowed.reasons if k[0] == "pod"} == {("pod", p) for p in narrowed.servers["pod"]}
    assert narrow(TargetSet(servers={"service": (service,)}), Hop.POD, 3, 0, node="node-3").known == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1, "pods_per_round: 1 leaves no slot for the rotation: use 0 (every pod) or at least 2"),
        (-1, "pods_per_round: -1 is out of range [0, 100000]"),
        ("3", "pods_per_round: expected an integer, got string '3'"),
    ],
)
def test_a_bad_budget_is_named(value: object, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config({**DOC, "pods_per_round": value})
    assert str(raised.value) == message


def test_the_budget_defaults_to_three() -> None:
    assert parse_config(DOC).pods_per_round == 3


@pytest.mark.parametrize("pods", [2, 10, 100])
def test_on_100_nodes_a_failing_pod_is_probed_within_two_rounds_and_every_pair_as_stated(pods: int) -> None:
    """The simulation behind bench/results/coverage.md, on the shipped budget (it checks itself
    against ``select`` before counting)."""
    figures = simulate(Fleet(100, pods, Config().pods_per_round, beside=True), random.Random(pods))
    assert figures.latency <= 2
    assert figures.cover == figures.formula
    assert figures.per_pod[0] >= 1, "every pod is probed every round: its own node's agent probes it"
    assert figures.probed <= Config().pods_per_round


def test_a_round_takes_its_share_of_upstreams_and_races_only_what_it_always_probes() -> None:
    config = parse_config(
        {
            "names": [
                {"name": "kubernetes.default.svc.cluster.local.", "race": True},
                {"name": "example.org."},
            ],
            "paths": {"pod": ["10.128.0.1:5353"], "upstream": ["10.0.0.2:53"]},
            "upstreams_per_round": 1,
        }
    )
    pods = tuple(PODS[:24])
    upstreams = tuple(Server(f"10.0.0.{i}", 53) for i in (2, 3, 4))
    seen: set[Server] = set()
    for index in range(3):
        targets = share(
            TargetSet(servers={"pod": pods, "upstream": upstreams}),
            config,
            index,
            placement=placement(list(pods)),
            node="node-5",
        )
        assert len(targets.servers["upstream"]) == 1
        assert targets.known == {"pod": 24, "upstream": 3}
        seen.update(targets.servers["upstream"])
        raced = {p.label for p in plan(config, targets).of(Kind.RACE)}
        assert raced == {str(pods[5])}, "the race runs on the node's own pod, not on those in rotation"
    assert seen == set(upstreams), "every upstream within as many rounds as there are upstreams"
