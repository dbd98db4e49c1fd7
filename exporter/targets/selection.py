"""Which CoreDNS pods an agent probes this round: a bounded, rotating share, its own node's pod first.

Probing every pod from every node costs nodes x pods (OpenShift runs a DNS pod on
every node). Instead each round an agent probes at most ``budget`` pods
(``pods_per_round``):

* **own node**: a pod on the agent's own node (``NODE_NAME`` against the
  EndpointSlice's ``nodeName``), every round, when there is one (several on the
  node take turns);
* **rotation**: the other slots walk the remaining pods, sorted by address, from
  an offset seeded by a hash of the node name and advancing by the number of
  slots each round.

What that proves, with P pods, a budget K, o = 1 when the node hosts a pod (else 0)
and S = K - o rotating slots:

* every pod whose node runs an agent is probed by that agent **every round**;
* each agent probes every other pod at least once in ``ceil((P - o) / S)``
  consecutive rounds (:func:`rounds_to_cover`), so every (node, pod) pair is probed
  within that many rounds;
* on average a pod is probed by ``N x K / P`` agents a round (``bench/coverage.py``
  gives the spread for N up to 5,000).

With ``P <= K`` (or a budget of 0) every pod is probed every round.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping, Sequence
from enum import StrEnum

from exporter.config import Config, Server
from exporter.hops import Hop
from exporter.targets.plan import ROTATION
from exporter.targets.sources import TargetSet


class Reason(StrEnum):
    """Why a pod is in this round's plan."""

    ALL = "all"
    """No more servers than the budget, or a budget of 0: all of them."""
    OWN_NODE = "own-node"
    ROTATION = ROTATION


def seed(node: str | None) -> int:
    """A stable offset for ``node`` (the same in every process and on every restart)."""
    return int.from_bytes(hashlib.sha256((node or "").encode()).digest()[:8], "big")


def select(
    pods: Sequence[Server],
    placement: Mapping[Server, str | None],
    node: str | None,
    budget: int,
    round_index: int,
) -> tuple[tuple[Server, Reason], ...]:
    """The pods to probe in round ``round_index`` of the agent on ``node``, each with its reason.

    ``placement``: pod address -> the node it runs on (``None``: not known).
    """
    ordered = sorted(set(pods))
    if budget <= 0 or len(ordered) <= budget:
        return tuple((pod, Reason.ALL) for pod in ordered)
    own = [pod for pod in ordered if node and placement.get(pod) == node]
    chosen: list[tuple[Server, Reason]] = []
    if own:
        mine = own[round_index % len(own)]
        chosen.append((mine, Reason.OWN_NODE))
        ordered.remove(mine)
    slots = budget - len(chosen)
    start = (seed(node) + round_index * slots) % len(ordered)
    chosen.extend((ordered[(start + i) % len(ordered)], Reason.ROTATION) for i in range(slots))
    return tuple(sorted(chosen))


def rounds_to_cover(pods: int, budget: int, *, own: bool) -> int:
    """Rounds within which one agent probes each of ``pods`` pods at least once (``own``: one is on its
    node, probed every round)."""
    if pods <= 0:
        return 0
    if budget <= 0 or pods <= budget:
        return 1
    mine = 1 if own else 0
    return math.ceil((pods - mine) / (budget - mine))


def narrow(
    targets: TargetSet,
    hop: Hop,
    budget: int,
    round_index: int,
    *,
    placement: Mapping[Server, str | None] | None = None,
    node: str | None = None,
) -> TargetSet:
    """``targets`` with ``hop`` narrowed to this round's selection (each server with its reason), and
    how many servers the hop has in :attr:`TargetSet.known`. Only CoreDNS pods have a ``placement``
    (an upstream is on no node): the others rotate."""
    path = str(hop)
    servers = targets.servers.get(path, ())
    if not servers:
        return targets
    chosen = select(servers, placement or {}, node, budget, round_index)
    reasons = {key: why for key, why in targets.reasons.items() if key[0] != path}
    reasons.update(((path, server), str(why)) for server, why in chosen)
    return dataclasses.replace(
        targets,
        servers={**targets.servers, path: tuple(server for server, _ in chosen)},
        reasons=reasons,
        known={**targets.known, path: len(set(servers))},
    )


def share(
    targets: TargetSet,
    config: Config,
    round_index: int,
    *,
    placement: Mapping[Server, str | None] | None = None,
    node: str | None = None,
) -> TargetSet:
    """The round's share of the CoreDNS pods (``pods_per_round``, the node's own first) and of the
    upstreams (``upstreams_per_round``); the other hops as they are."""
    pods = narrow(targets, Hop.POD, config.pods_per_round, round_index, placement=placement, node=node)
    return narrow(pods, Hop.UPSTREAM, config.upstreams_per_round, round_index, node=node)
