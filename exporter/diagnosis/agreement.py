"""Do the upstream servers agree? Compare their answers to the same name and type.

CoreDNS ``forward`` picks an upstream at random: if one of them answers a
name differently (typically NXDOMAIN for a private zone the others serve),
pods fail now and then while the node, which asks the first server, never
does. The comparison uses the newest UDP reply of each upstream.

Names served through CDNs or geo-aware DNS legitimately get different addresses
from different resolvers, so by default only the outcome is compared: the rcode
and whether records came back. A name whose config pins its answers
(``expect.answers``) is compared on the records too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from exporter.config import NameSpec
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.stats import Stats
from exporter.node import NodeReadings
from exporter.node.resolv_conf import AZURE_DNS

_ERROR_RCODES = frozenset({"SERVFAIL", "REFUSED", "NXDOMAIN"})


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
    """One comparison per (name, qtype) that two or more upstream servers answered."""
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
            if result.rcode is None:
                continue  # silence is upstream_unreachable's evidence, not a disagreement
            if (name, qtype) in pinned:
                key: tuple[str, ...] = (result.rcode, *result.answers)
            else:
                key = (result.rcode, "records" if result.answer_count else "no records")
            keys.setdefault((name, qtype), {})[upstream.server] = key
    return [
        Comparison(name, qtype, outcomes[(name, qtype)], replied)
        for (name, qtype), replied in sorted(keys.items())
        if len(replied) > 1
    ]


def _host(server: str) -> str:
    return server.rsplit(":", 1)[0].strip("[]")


def upstream_mixed_resolvers(obs: Observations, stats: Stats) -> Draft | None:
    """Upstreams that disagree, or the node resolv.conf listing Azure DNS beside other servers.

    Either is this cause; when both are seen they are one finding with both kinds of evidence.
    """
    split = [c for c in compare_upstreams(stats, obs.names) if c.disagree]
    node = obs.node.resolv_conf if isinstance(obs.node, NodeReadings) else None
    mixed = node is not None and node.azure_dns_mixed
    if not split and not mixed:
        return None
    servers = sorted({s for c in split for s in c.outcomes})
    azure = [s for s in servers if _host(s) == AZURE_DNS]
    evidence = tuple(
        f"{c.name} {c.qtype}: " + "; ".join(f"{s} -> {o}" for s, o in sorted(c.outcomes.items()))
        for c in split
    )
    if azure:
        evidence += (f"Azure DNS ({AZURE_DNS}) is listed beside custom DNS servers",)
    if node is not None and mixed:
        evidence += (
            f"the node's {node.file} lists Azure DNS ({AZURE_DNS}) beside other servers: "
            + ", ".join(node.conf.nameservers),
        )
    summary = (
        f"The upstream servers disagree on {len(split)} name(s); CoreDNS picks one at random, so "
        "pods fail intermittently while the node (which asks the first server) does not."
        if split
        else "The node's DNS servers mix Azure DNS with other servers; CoreDNS forwards to one at "
        "random, so names only the custom servers know fail now and then from pods."
    )
    return Draft(
        "upstream_mixed_resolvers",
        summary,
        evidence,
        "List only servers that serve the same zones in the network's DNS settings (for Azure: "
        "custom DNS servers only, with Azure DNS configured as their forwarder), then restart the "
        "nodes' network service and the CoreDNS pods.",
        {
            "names": [{"name": c.name, "qtype": c.qtype, "outcomes": c.outcomes} for c in split],
            "node_nameservers": list(node.conf.nameservers) if node is not None else None,
            "node_azure_dns_mixed": mixed,
        },
    )


def upstream_error(obs: Observations, stats: Stats) -> Draft | None:
    split = {(c.name, c.qtype) for c in compare_upstreams(stats, obs.names) if c.disagree}
    kinds = {spec.name: spec.kind for spec in obs.names}
    cases = []
    for upstream in stats.path("upstream"):
        for (name, qtype, _transport), result in sorted(upstream.latest.items()):
            if kinds.get(name) != "external" or (name, qtype) in split:
                continue
            if result.rcode in _ERROR_RCODES and result.reason is not None:
                cases.append((upstream.server, name, qtype, result.rcode))
    if not cases:
        return None
    unique = sorted(set(cases))
    return Draft(
        "upstream_error",
        f"Upstream servers answer external names with errors ({len(unique)} case(s)).",
        tuple(f"upstream {s}: {n} {t} -> {rcode}" for s, n, t, rcode in unique),
        "The upstream itself fails these names: check its configuration and its own upstreams, "
        "and give its operator the name, the rcode and the time.",
        {"cases": [{"server": s, "name": n, "qtype": t, "rcode": r} for s, n, t, r in unique]},
    )
