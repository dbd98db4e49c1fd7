"""Window statistics over probe rounds: how each server fared, by name kind and transport.

A server is *failing* when more than half of its probes in the window failed,
and *answering* otherwise. Rules are written in these two words, so one lost
datagram never names a cause and a steady fault always does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from exporter.config import NameSpec
from exporter.probe.engine import Round
from exporter.probe.result import ProbeResult, Reason
from exporter.targets.zones import ZONE_KIND

NO_REPLY = frozenset({Reason.TIMEOUT, Reason.NETWORK_ERROR})
FAILING_RATIO = 0.5


@dataclass(slots=True)
class Tally:
    total: int = 0
    failed: int = 0
    reasons: Counter[Reason] = field(default_factory=Counter)

    def add(self, result: ProbeResult) -> None:
        self.total += 1
        if result.reason is not None:
            self.failed += 1
            self.reasons[result.reason] += 1

    @property
    def failing(self) -> bool:
        return self.total > 0 and self.failed / self.total > FAILING_RATIO

    @property
    def answering(self) -> bool:
        return self.total > 0 and not self.failing

    @property
    def silent(self) -> bool:
        """Failing, and mostly without any reply (timeouts, refused ports)."""
        no_reply = sum(n for reason, n in self.reasons.items() if reason in NO_REPLY)
        return self.failing and no_reply * 2 >= self.failed

    def top_reason(self) -> str:
        return str(self.reasons.most_common(1)[0][0]) if self.reasons else "none"


@dataclass(slots=True)
class ServerStats:
    path: str
    server: str
    all: Tally = field(default_factory=Tally)
    by_kind: dict[str, Tally] = field(default_factory=dict)
    by_transport: dict[str, Tally] = field(default_factory=dict)
    latest: dict[tuple[str, str, str], ProbeResult] = field(default_factory=dict)
    """(name, qtype, transport) -> the newest result in the window."""

    @property
    def down(self) -> bool:
        """Every kind of name it was asked fails: the server, not one zone behind it.

        A pod that answers the cluster zone but fails every forwarded name is up:
        its forwarding is broken, which is another cause.
        """
        asked = [tally for tally in self.by_kind.values() if tally.total]
        return bool(asked) and all(tally.failing for tally in asked)

    def kind(self, kind: str) -> Tally:
        return self.by_kind.get(kind, Tally())

    def transport(self, transport: str) -> Tally:
        return self.by_transport.get(transport, Tally())


class Stats:
    """The window's statistics per (hop, server), built once per diagnosis and read by every rule."""

    def __init__(self, rounds: Iterable[Round], names: Iterable[NameSpec]) -> None:
        kinds = {spec.name: spec.kind for spec in names}
        self.servers: dict[tuple[str, str], ServerStats] = {}
        self.derived: dict[object, Any] = {}
        """Views derived from these statistics that several rules read (the upstream comparison),
        computed once."""
        for round_ in rounds:
            for result in round_.results:
                key = (result.path, result.server)
                stats = self.servers.get(key)
                if stats is None:
                    stats = self.servers[key] = ServerStats(result.path, result.server)
                stats.all.add(result)
                # A name no config lists, on an upstream: a conditional forwarder asked for its zone.
                kind = kinds.get(result.name, ZONE_KIND if result.path == "upstream" else "external")
                stats.by_kind.setdefault(kind, Tally()).add(result)
                stats.by_transport.setdefault(result.transport, Tally()).add(result)
                stats.latest[(result.name, result.qtype, result.transport)] = result
        self._by_path: dict[str, list[ServerStats]] = {}
        for (path, _), server in sorted(self.servers.items()):
            self._by_path.setdefault(path, []).append(server)

    def path(self, path: str) -> list[ServerStats]:
        """The servers of one hop, by server."""
        return list(self._by_path.get(path, ()))
