"""Conditional forwarders: each server a zone is forwarded to, probed for that zone.

The catch-all ``forward .`` feeds ``upstream: auto`` and is asked the configured
names. A forwarder for one zone (a stub domain: a ``corp.internal:53`` block, a
``forward corp.internal 10.1.0.4`` line, kube-dns's ``stubDomains``) answers only
that zone, so it is asked the zone's SOA instead: one probe per (zone, server), on
the ``upstream`` hop, whose ``name`` label is the zone. A forwarder that is gone
then reads as any silent upstream does (``upstream_unreachable``), named by its
address, and the zone it serves is in the series.

Any reply with NOERROR counts as an answer (the zone's SOA, or none when the name
is below a zone cut); NXDOMAIN, SERVFAIL or REFUSED mean the forwarder does not
serve the zone. At most :data:`MAX_ZONE_TARGETS` pairs are probed, so a Corefile
with many stub domains keeps the series bounded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from exporter.config import Expect, Server

MAX_ZONE_TARGETS = 32
ZONE_QTYPE = "SOA"
ZONE_EXPECT = Expect(rcode="NOERROR", min_answers=0)
ZONE_KIND = "zone"
"""The name kind of a zone probe in window statistics (configured names are internal or external)."""


@dataclass(frozen=True, slots=True, order=True)
class ZoneTarget:
    zone: str
    """Absolute and lower case: ``corp.internal.``."""
    server: Server
    transport: str = "udp"
    """``tcp`` when the forwarder is only asked over TCP (``force_tcp``)."""

    def __str__(self) -> str:
        return f"{self.zone} @{self.server}/{self.transport}"


def bounded(targets: Iterable[ZoneTarget]) -> tuple[ZoneTarget, ...]:
    """Each pair once, in order, at most :data:`MAX_ZONE_TARGETS` of them."""
    unique: list[ZoneTarget] = []
    for target in targets:
        if target not in unique:
            unique.append(target)
    return tuple(unique[:MAX_ZONE_TARGETS])


def absolute(zone: str) -> str:
    zone = zone.strip().lower()
    return zone if zone.endswith(".") else zone + "."
