"""Coverage of the CoreDNS pods by a fleet of agents that each probe a bounded share of them.

Run from the repository root (no network is used):

    .venv/bin/python -m bench.coverage

Each agent of N probes at most K pods a round (``pods_per_round``, the shipped
default), chosen by ``exporter.targets.selection.select``: a pod on its own node every
round, the others in a rotation seeded by a hash of its node name. For N nodes and P
pods (P in {2, 10, N}), the simulation reports

* how many agents probe each pod in a round (minimum, mean and maximum over pods and
  rounds), and how many (pod, round) pairs no agent probed;
* how many rounds pass until every (node, pod) pair has been probed, against the
  formula ``ceil((P - o) / (K - o))`` (o = 1 when the node hosts a pod);
* how many rounds pass, at worst, between a pod failing and the first agent probing it
  (a probe that fails names the pod: ``k8s_dns_probe_success{path="pod",server}`` 0 and
  ``FAILING`` in ``doctor``).

Pods sit on distinct nodes (a Deployment spread by anti-affinity, or one per node as
OpenShift's DaemonSet). The shipped DaemonSet tolerates every taint, so each pod's node
runs an agent; the variant "no agent beside the pods" puts the pods on nodes without
one, where only the rotation reaches them. Agents start at different times: each one's
round counter has its own random phase (seeded, so the run is reproducible).

For speed the fleet is simulated with :func:`window`, the selection written as
arithmetic over the sorted pod list; before any figure is written it is checked against
``select`` itself on a sample of agents and rounds of every case.
"""

from __future__ import annotations

import argparse
import math
import random
from dataclasses import dataclass
from pathlib import Path

from bench.common import RESULTS, publish, run
from exporter.config import Config, Server, load_config
from exporter.targets.selection import rounds_to_cover, seed, select

NODES = (10, 100, 1_000, 5_000)
ROUNDS = 40
"""Rounds over which the per-round figures and the failure latency are taken."""
CHECKED = 300
"""(agent, round) pairs of each case on which :func:`window` is checked against ``select``."""


@dataclass(frozen=True)
class Fleet:
    nodes: int
    pods: int
    budget: int
    beside: bool
    """Each pod's node runs an agent (else the pods sit on nodes without one)."""

    def node(self, index: int) -> str:
        return f"ip-10-0-{index // 250}-{index % 250 + 1}.ec2.internal"

    def host(self, pod: int) -> int | None:
        """The agent on pod ``pod``'s node: pods spread evenly over the nodes."""
        return pod * self.nodes // self.pods if self.beside else None

    def servers(self) -> list[Server]:
        return [Server(f"10.128.{i // 250}.{i % 250 + 1}", 5353) for i in range(self.pods)]


def window(fleet: Fleet, offset: int, own: int | None, round_index: int) -> list[int]:
    """Indices (into the sorted pods) an agent probes in ``round_index``: ``select`` as arithmetic.

    ``offset``: the seed of the agent's node name; ``own``: the index of the pod on its node."""
    pods, budget = fleet.pods, fleet.budget
    if budget <= 0 or pods <= budget:
        return list(range(pods))
    chosen = [] if own is None else [own]
    others = pods - len(chosen)
    slots = budget - len(chosen)
    start = (offset + round_index * slots) % others
    for i in range(slots):
        k = (start + i) % others
        chosen.append(k + 1 if own is not None and k >= own else k)
    return chosen


def check(fleet: Fleet, owns: dict[int, int], phases: list[int], rng: random.Random) -> None:
    servers = fleet.servers()
    order = sorted(range(fleet.pods), key=lambda i: servers[i])
    placement = {servers[p]: fleet.node(a) for a, p in owns.items()}
    for _ in range(CHECKED):
        agent, round_index = (
            rng.randrange(fleet.nodes),
            phases[rng.randrange(fleet.nodes)] + rng.randrange(99),
        )
        own = owns.get(agent)
        mine = None if own is None else order.index(own)
        want = {servers[order[i]] for i in window(fleet, seed(fleet.node(agent)), mine, round_index)}
        got = {pod for pod, _ in select(servers, placement, fleet.node(agent), fleet.budget, round_index)}
        if want != got:
            raise AssertionError(
                f"window differs from select for {fleet}, agent {agent}, round {round_index}"
            )


@dataclass(frozen=True)
class Figures:
    fleet: Fleet
    probed: int
    per_pod: tuple[int, float, int]
    unprobed: int
    cover: int
    formula: int
    latency: int
    within_two: float


def simulate(fleet: Fleet, rng: random.Random) -> Figures:
    servers = fleet.servers()
    order = sorted(range(fleet.pods), key=lambda i: servers[i])
    rank = {pod: i for i, pod in enumerate(order)}
    owns = {a: p for p in range(fleet.pods) if (a := fleet.host(p)) is not None}
    phases = [rng.randrange(1_000_000) for _ in range(fleet.nodes)]
    check(fleet, owns, phases, rng)
    mine = {a: rank[p] for a, p in owns.items()}
    offsets = [seed(fleet.node(a)) for a in range(fleet.nodes)]
    probers = [[0] * fleet.pods for _ in range(ROUNDS)]
    for agent in range(fleet.nodes):
        for r in range(ROUNDS):
            for i in window(fleet, offsets[agent], mine.get(agent), phases[agent] + r):
                probers[r][i] += 1
    counts = [c for row in probers for c in row]
    cover = 0
    for agent in range(fleet.nodes):
        seen = bytearray(fleet.pods)
        left, r = fleet.pods, 0
        while left:
            for i in window(fleet, offsets[agent], mine.get(agent), phases[agent] + r):
                if not seen[i]:
                    seen[i] = 1
                    left -= 1
            r += 1
        cover = max(cover, r)
    # A pod failing at round t is named at the first round t + d (d >= 0) some agent probes it.
    waits = []
    half = ROUNDS // 2
    for pod in range(fleet.pods):
        for t in range(half):
            d = next((d for d in range(ROUNDS - t) if probers[t + d][pod]), ROUNDS)
            waits.append(d + 1)
    kinds = {agent in mine for agent in range(fleet.nodes)}
    return Figures(
        fleet,
        probed=max(len(window(fleet, offsets[a], mine.get(a), 0)) for a in range(fleet.nodes)),
        per_pod=(min(counts), sum(counts) / len(counts), max(counts)),
        unprobed=sum(1 for c in counts if c == 0),
        cover=cover,
        formula=max(rounds_to_cover(fleet.pods, fleet.budget, own=own) for own in kinds),
        latency=max(waits),
        within_two=sum(1 for w in waits if w <= 2) / len(waits),
    )


def report(figures: list[Figures], config: Config, source: str) -> str:
    budget, interval = config.pods_per_round, config.interval
    lines = [
        "# Coverage of the CoreDNS pods by the fleet",
        "",
        "`.venv/bin/python -m bench.coverage`",
        "",
        f"From `{source}`: pods_per_round K = {budget}, interval {interval:g} s. Pods on distinct nodes; "
        f"agents' round counters at random phases; per-round figures over {ROUNDS} rounds. "
        f"`exporter.targets.selection.select` itself was checked against the simulation's arithmetic on "
        f"{CHECKED} (agent, round) pairs of every case.",
        "",
        "A round lasts the interval, so R rounds are R x "
        f"{interval:g} s. A pod failing is named by the first agent that probes it after it fails: "
        "'failure named within' counts that round as 1 (a failure in the round it is probed: 1 round).",
        "",
    ]
    for beside in (True, False):
        lines += [
            "## Each pod's node runs an agent (the shipped DaemonSet tolerates every taint)"
            if beside
            else "## No agent beside the pods (only the rotation reaches them)",
            "",
            "| nodes N | pods P | pods per agent a round | agents per pod a round: min / mean / max "
            "| (pod, round) with no agent | rounds until every (node, pod) pair: simulated (formula) "
            "| failure named within, worst (share within 2 rounds) |",
            "|---|---|---|---|---|---|---|",
        ]
        for f in figures:
            if f.fleet.beside != beside:
                continue
            low, mean, high = f.per_pod
            cover = f"{f.cover:,} ({f.formula:,}): {_time(f.cover * interval)}"
            named = f"{f.latency} round{'s' if f.latency > 1 else ''} ({f.within_two:.1%})"
            lines.append(
                f"| {f.fleet.nodes:,} | {f.fleet.pods:,} | {f.probed} | {low:,} / {mean:,.1f} / {high:,} "
                f"| {f.unprobed:,} | {cover} | {named} |"
            )
        lines.append("")
    return "\n".join(lines)


def _time(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:g} s"
    if seconds < 7200:
        return f"{seconds / 60:.3g} min"
    return f"{seconds / 3600:.1f} h"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.coverage", description=__doc__.split("\n")[0])
    parser.add_argument("--config", type=Path, default=Path("deploy/base/config/node.yaml"))
    parser.add_argument("--nodes", type=int, nargs="+", default=list(NODES))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    config = load_config(args.config)
    rng = random.Random(16)  # noqa: S311 - reproducible phases for a simulation, not a secret
    figures = []
    for beside in (True, False):
        for nodes in args.nodes:
            for pods in sorted({2, 10, nodes}):
                fleet = Fleet(nodes, pods, config.pods_per_round, beside)
                figures.append(simulate(fleet, rng))
                print(f"{fleet}: done", flush=True)
    assert all(math.isfinite(f.per_pod[1]) for f in figures)
    return publish(args.out, "coverage.md", report(figures, config, str(args.config)))


if __name__ == "__main__":
    run(main)
