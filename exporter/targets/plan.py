"""The probe plan of one round, as data: every probe the round will run, built from the targets.

A :class:`Plan` is what the prober runs (``exporter.probe``), what the cost model
counts without sending a query (``bench/cost_model.py``), and what bounds the load
an agent puts on the servers it probes. It is built fresh each round from the
config's names and the round's :class:`~exporter.targets.TargetSet`:

=========  ==========================================================================
kind       one probe is
=========  ==========================================================================
direct     one name, one type, over one transport, asked of one server of a direct hop
           (each name on each server of each hop it applies to, over each transport);
           and each conditional forwarder of ``upstream: auto`` asked its zone's SOA
           (``exporter.targets.zones``)
lookup     a whole lookup of one name through the ``resolver`` hop's resolv.conf, as
           glibc makes it: the search list's candidates in order, each asked of the
           nameservers in turn
race       A and AAAA of one name sent together from one UDP socket, and one by one,
           to one server of a hop that crosses the node's conntrack (names with
           ``race: true``, once per name and server)
=========  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum

from exporter.config import Config, Expect, NameSpec, ResolverTarget, Server
from exporter.hops import THROUGH_CONNTRACK, Hop, order
from exporter.resolvconf import ResolvConf, candidates
from exporter.targets.sources import TargetSet
from exporter.targets.zones import ZONE_EXPECT, ZONE_QTYPE

ROTATION = "rotation"
"""The reason of a server probed in its turn (``exporter.targets.selection``): it gets no race probe."""
RACE_TYPES: tuple[str, str] = ("A", "AAAA")
"""The pair a race probe sends, as glibc does for an unspecified address family."""


class Kind(StrEnum):
    DIRECT = "direct"
    LOOKUP = "lookup"
    RACE = "race"


@dataclass(frozen=True, slots=True)
class PlannedProbe:
    kind: Kind
    path: Hop
    label: str
    """The ``server`` label: ``IP:port``, or the resolv.conf file of a lookup."""
    name: str
    """As configured (a lookup applies the search list to it)."""
    qtype: str
    """The type asked; for a race, the first of :data:`RACE_TYPES`."""
    transport: str
    expect: Expect
    tries: tuple[str, ...]
    """The absolute names asked, in order: one for direct and race probes, the search list's
    candidates for a lookup."""
    server: Server | None = None
    """Where a direct or race probe sends its queries."""
    resolver: tuple[ResolverTarget, ResolvConf] | None = None
    """A lookup's resolv.conf (as read this round) and the port its nameservers answer on."""
    reason: str = ""
    """Why the target is in the plan (:attr:`TargetSet.reasons <exporter.targets.TargetSet.reasons>`)."""

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.path, self.label, self.name, self.qtype, self.transport)

    def queries(self, answers: Callable[[str, str], bool] = lambda name, qtype: True) -> int:
        """Queries the probe sends when every server replies at once.

        ``answers(absolute name, qtype)`` says whether a name has records of the type; a
        lookup goes on down its candidates past the ones that have none (NXDOMAIN and
        NODATA both make glibc search on), so it costs one query per candidate tried.
        """
        if self.kind is Kind.RACE:
            return 2 * len(RACE_TYPES)  # the pair together, then the pair one by one
        if self.kind is Kind.DIRECT:
            return 1
        for tried, name in enumerate(self.tries, start=1):
            if answers(name, self.qtype):
                return tried
        return len(self.tries)


@dataclass(frozen=True, slots=True)
class Plan:
    probes: tuple[PlannedProbe, ...]
    """In a stable order: direct probes by hop, server, name and transport; lookups; races."""

    def __iter__(self) -> Iterator[PlannedProbe]:
        return iter(self.probes)

    def __len__(self) -> int:
        return len(self.probes)

    def of(self, kind: Kind) -> tuple[PlannedProbe, ...]:
        return tuple(p for p in self.probes if p.kind is kind)

    def queries(self, answers: Callable[[str, str], bool] = lambda name, qtype: True) -> int:
        """Queries one round sends when every server replies at once (see :meth:`PlannedProbe.queries`)."""
        return sum(p.queries(answers) for p in self.probes)

    def paths(self) -> tuple[PathPlan, ...]:
        """The plan hop by hop: its targets with their reasons, its probes and its queries."""
        targets: dict[str, dict[str, str]] = {}
        probes: dict[str, int] = {}
        queries: dict[str, int] = {}
        for probe in self.probes:
            targets.setdefault(probe.path, {}).setdefault(probe.label, probe.reason)
            probes[probe.path] = probes.get(probe.path, 0) + 1
            queries[probe.path] = queries.get(probe.path, 0) + probe.queries(_none)
        return tuple(
            PathPlan(path, tuple(sorted(targets[path].items())), probes[path], queries[path])
            for path in sorted(targets, key=order)
        )


@dataclass(frozen=True, slots=True)
class PathPlan:
    """One hop's share of a plan."""

    path: str
    targets: tuple[tuple[str, str], ...]
    """(server label, reason), by label."""
    probes: int
    queries: int
    """At most, when every server replies at once: a lookup counted with all its candidates."""


def _none(name: str, qtype: str) -> bool:
    return False


def plan(config: Config, targets: TargetSet) -> Plan:
    """Every probe of one round against ``targets``."""
    direct = tuple(_direct(config, targets))
    return Plan((*direct, *_zones(targets, direct), *_lookups(config, targets), *_races(config, targets)))


def _direct(config: Config, targets: TargetSet) -> Iterator[PlannedProbe]:
    for path, servers in targets.servers.items():
        hop = Hop(path)
        for server in servers:
            for spec in config.names:
                if hop not in spec.paths:
                    continue
                for transport in spec.transports:
                    yield PlannedProbe(
                        Kind.DIRECT,
                        hop,
                        str(server),
                        spec.name,
                        spec.qtype,
                        transport,
                        spec.expect,
                        (spec.fqdn,),
                        server=server,
                        reason=targets.reasons.get((path, server), ""),
                    )


def _zones(targets: TargetSet, direct: tuple[PlannedProbe, ...]) -> Iterator[PlannedProbe]:
    """Each conditional forwarder asked its zone's SOA (unless a configured name asks the same)."""
    planned = {probe.key for probe in direct}
    for target in targets.zones:
        probe = PlannedProbe(
            Kind.DIRECT,
            Hop.UPSTREAM,
            str(target.server),
            target.zone,
            ZONE_QTYPE,
            target.transport,
            ZONE_EXPECT,
            (target.zone,),
            server=target.server,
        )
        if probe.key not in planned:
            planned.add(probe.key)
            yield probe


def _lookups(config: Config, targets: TargetSet) -> Iterator[PlannedProbe]:
    if targets.resolver is None:
        return
    resolver, conf = targets.resolver
    transport = "tcp" if "use-vc" in conf.flags else "udp"
    for spec in config.names:
        if Hop.RESOLVER in spec.paths:
            yield PlannedProbe(
                Kind.LOOKUP,
                Hop.RESOLVER,
                resolver.file,
                spec.name,
                spec.qtype,
                transport,
                spec.expect,
                candidates(spec.name, conf),
                resolver=targets.resolver,
                reason="resolver",
            )


def _races(config: Config, targets: TargetSet) -> Iterator[PlannedProbe]:
    names: dict[str, NameSpec] = {}
    for spec in config.names:
        if spec.race:
            names.setdefault(spec.fqdn.lower(), spec)
    for path, servers in targets.servers.items():
        hop = Hop(path)
        if hop not in THROUGH_CONNTRACK:
            continue
        for server in servers:
            if targets.reasons.get((path, server)) == ROTATION:
                continue  # the node's conntrack is raced on the hops it always probes
            for spec in names.values():
                if hop in spec.paths:
                    yield PlannedProbe(
                        Kind.RACE,
                        hop,
                        str(server),
                        spec.name,
                        RACE_TYPES[0],
                        "udp",
                        spec.expect,
                        (spec.fqdn,),
                        server=server,
                        reason=targets.reasons.get((path, server), ""),
                    )
