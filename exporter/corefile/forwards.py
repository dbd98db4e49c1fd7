"""``forward`` in a Corefile: its rules, which of them CoreDNS reaches, and the servers they name.

Several ``forward`` in one block (CoreDNS 1.9.4 on) run in the order written: a
query goes to the first whose FROM covers its name and whose ``except`` does not.
A ``forward`` after one that takes all its names (``forward corp.internal ...``
imported after ``forward . /etc/resolv.conf``, as an AKS ``forward.override`` is)
is never reached: it is reported (``forward_shadowed``) and not probed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from exporter.config import Server
from exporter.corefile.parse import Directive, ServerBlock
from exporter.targets.zones import ZoneTarget, absolute


@dataclass(frozen=True, slots=True)
class ForwardRule:
    """One ``forward FROM TO...`` directive and its options."""

    zones: tuple[str, ...]
    """The zones of the server block it sits in."""
    source: str
    """FROM: the domain it forwards (``.`` for everything)."""
    targets: tuple[str, ...]
    policy: str
    prefer_udp: bool
    force_tcp: bool
    where: str
    excepts: tuple[str, ...] = ()
    """``except`` zones: names under them go on to the next plugin."""
    shadowed_by: str | None = None
    """Where an earlier ``forward`` of the same block that takes every name this one would is."""

    @property
    def catch_all(self) -> bool:
        return self.source == "." and "." in self.zones

    def as_dict(self) -> dict[str, Any]:
        return {
            "zones": list(self.zones),
            "from": self.source,
            "targets": list(self.targets),
            "policy": self.policy,
            "prefer_udp": self.prefer_udp,
            "force_tcp": self.force_tcp,
            "where": self.where,
        }


def covers(zone: str, name: str) -> bool:
    """``name`` is ``zone`` or below it (absolute names)."""
    return zone in (".", name) or name.endswith("." + zone)


def with_reach(rules: Sequence[ForwardRule]) -> tuple[ForwardRule, ...]:
    """The forward rules of one block, each marked with the earlier rule that shadows it, if any."""
    marked: list[ForwardRule] = []
    for rule in rules:
        first = next(
            (
                earlier
                for earlier in marked
                if earlier.shadowed_by is None
                and covers(earlier.source, rule.source)
                # names under an excepted zone pass the earlier rule: a later rule over them is reached
                and not any(
                    covers(zone, rule.source) or covers(rule.source, zone) for zone in earlier.excepts
                )
            ),
            None,
        )
        marked.append(replace(rule, shadowed_by=first.where) if first is not None else rule)
    return tuple(marked)


def forward_from(server: ServerBlock, directive: Directive) -> ForwardRule:
    """The rule one ``forward`` directive of ``server`` makes."""
    source = directive.args[0].lower() if directive.args else "."
    if not source.endswith("."):
        source += "."
    policies = directive.options("policy")
    policy = policies[-1].args[0] if policies and policies[-1].args else "random"
    excepts = tuple(absolute(z) for option in directive.options("except") for z in option.args)
    return ForwardRule(
        zones=server.zones,
        source=source,
        targets=directive.args[1:],
        policy=policy,
        prefer_udp=bool(directive.options("prefer_udp")),
        force_tcp=bool(directive.options("force_tcp")),
        where=directive.where,
        excepts=excepts,
    )


def forward_servers(rule: ForwardRule) -> tuple[Server, ...]:
    """The plain-DNS IP targets of a forward rule, as servers to probe.

    Files (``/etc/resolv.conf``: the node's nameservers, read by the node side of
    discovery), TLS/gRPC targets, host names and template placeholders are skipped.
    """
    servers: list[Server] = []
    for target in rule.targets:
        server = parse_target(target)
        if server is not None and server not in servers:
            servers.append(server)
    return tuple(servers)


def parse_target(target: str) -> Server | None:
    scheme, _, rest = target.rpartition("://")
    if scheme not in ("", "dns"):
        return None
    host, port = rest, 53
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":") and tail[1:].isascii() and tail[1:].isdigit():
            port = int(tail[1:])
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
        if not (port_text.isascii() and port_text.isdigit()):
            return None
        port = int(port_text)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    return Server(str(address), port) if 0 < port < 65536 else None


def catch_all_servers(rule: ForwardRule | None) -> tuple[Server, ...]:
    """The Corefile part of ``upstream: auto``: IP targets of the catch-all forward.

    ``forward . /etc/resolv.conf`` contributes nothing here: those servers are
    the node's resolv.conf nameservers, which the node side of discovery adds.
    """
    return forward_servers(rule) if rule is not None else ()


def forward_zones(forwards: Iterable[ForwardRule]) -> tuple[ZoneTarget, ...]:
    """Every forward that is reached but the catch-all, as (zone, server) pairs to probe for that zone.

    The zone is the forward's FROM when it names one (``forward corp.internal 10.1.0.4``
    in ``.:53``), else the zones of its block (``corp.internal:53 { forward . 10.20.0.4 }``).
    """
    targets: list[ZoneTarget] = []
    for rule in forwards:
        if rule.catch_all or rule.shadowed_by is not None:  # a forward never reached is never used
            continue
        zones = (rule.source,) if rule.source != "." else rule.zones
        transport = "tcp" if rule.force_tcp else "udp"
        for zone in zones:
            if zone == ".":
                continue
            targets.extend(ZoneTarget(zone, server, transport) for server in forward_servers(rule))
    return tuple(targets)
