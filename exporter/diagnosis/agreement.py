"""Do the upstream servers agree? Compare their answers to the same name and type.

CoreDNS ``forward`` picks an upstream at random: if one of them answers a
name differently (typically NXDOMAIN for a private zone the others serve),
pods fail now and then while the node, which asks the first server, never
does. The comparison uses the newest UDP reply of each upstream.

Names served through CDNs or geo-aware DNS legitimately get different addresses
from different resolvers, so by default only the outcome is compared: the rcode
and whether records of the asked type came back (a CNAME chain that differs in
detail but ends in records is the same outcome). A name whose config pins its
answers (``expect.answers``) is compared on the records too.

Only answers are compared: NOERROR and NXDOMAIN. A server that fails (SERVFAIL,
REFUSED, another error rcode, no reply) does not disagree with the others, it is
broken: upstream_error and upstream_unreachable name it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from exporter.config import NameSpec
from exporter.diagnosis.stats import Stats

ANSWERS = frozenset({"NOERROR", "NXDOMAIN"})
"""The rcodes that answer a question (the name has records, or does not exist)."""


@dataclass(frozen=True, slots=True)
class Comparison:
    name: str
    qtype: str
    outcomes: dict[str, str]
    """Upstream server -> what it answered (``NOERROR 192.0.2.1``, ``NXDOMAIN``) or why it did not."""
    keys: dict[str, tuple[str, ...]]
    """Upstream server -> what is compared: (rcode, "records"|"no records") or the records themselves."""

    @property
    def disagree(self) -> bool:
        return len(set(self.keys.values())) > 1


def compare_upstreams(stats: Stats, names: Sequence[NameSpec] = ()) -> list[Comparison]:
    """One comparison per (name, qtype) that two or more upstream servers answered (computed once
    per :class:`Stats`: the engine and two causes read it)."""
    memo = ("compare_upstreams", tuple(names))
    if memo not in stats.derived:
        stats.derived[memo] = _compare(stats, names)
    comparisons: list[Comparison] = stats.derived[memo]
    return list(comparisons)


def _compare(stats: Stats, names: Sequence[NameSpec]) -> list[Comparison]:
    pinned = {(spec.name, spec.qtype) for spec in names if spec.expect.answers is not None}
    outcomes: dict[tuple[str, str], dict[str, str]] = {}
    keys: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {}
    for upstream in stats.path("upstream"):
        for (name, qtype, transport), result in upstream.latest.items():
            if transport != "udp":
                continue
            shown = (
                f"no reply ({result.reason})"
                if result.rcode is None
                else " ".join([result.rcode, *result.answers])
            )
            outcomes.setdefault((name, qtype), {})[upstream.server] = shown
            if result.rcode not in ANSWERS:
                continue  # silence and failure rcodes are another server problem, not a disagreement
            if (name, qtype) in pinned:
                key: tuple[str, ...] = (result.rcode, *result.answers)
            else:
                key = (result.rcode, "records" if result.answers else "no records")
            keys.setdefault((name, qtype), {})[upstream.server] = key
    return [
        Comparison(name, qtype, outcomes[(name, qtype)], replied)
        for (name, qtype), replied in sorted(keys.items())
        if len(replied) > 1
    ]
