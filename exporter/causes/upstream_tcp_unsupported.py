"""An upstream answers over UDP but not over TCP. With the API: NodeLocal DNSCache runs and a forward
block lacks prefer_udp, so queries reach it over TCP."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import cluster_of, server_list
from exporter.diagnosis.stats import ServerStats, Stats


def udp_only(stats: Stats) -> list[ServerStats]:
    """Upstreams that answer over UDP while their TCP probes fail."""
    return [u for u in stats.path("upstream") if u.transport("udp").answering and u.transport("tcp").failing]


def from_probes(obs: Observations, stats: Stats) -> Draft | None:
    affected = udp_only(stats)
    if not affected:
        return None
    return Draft(
        "upstream_tcp_unsupported",
        f"{len(affected)} upstream server(s) answer over UDP but not over TCP: {server_list(affected)}.",
        tuple(
            f"upstream {u.server}: udp answers, tcp {u.transport('tcp').failed}/"
            f"{u.transport('tcp').total} failed ({u.transport('tcp').top_reason()})"
            for u in affected
        ),
        "Allow TCP port 53 to the upstream if you can. If it cannot serve TCP (some private-zone "
        "services), add `prefer_udp` to the `forward` block of the CoreDNS Corefile: CoreDNS forwards "
        "with the client's protocol, and NodeLocal DNSCache talks to CoreDNS over TCP.",
        {"upstreams": [u.server for u in affected]},
    )


def from_api(obs: Observations, stats: Stats) -> Draft | None:
    """The API half: NodeLocal forwards over TCP and no forward block says prefer_udp."""
    cluster = cluster_of(obs)
    if cluster is None or cluster.nodelocal is None or not cluster.nodelocal.present:
        return None
    affected = udp_only(stats)
    if not affected:
        return None
    lacking = []
    root = cluster.corefile.root_forward if cluster.corefile is not None else None
    if root is not None and not root.prefer_udp:
        lacking.append(f"CoreDNS forward . ({root.where}) lacks prefer_udp")
    lacking += [
        f"NodeLocal DNSCache forward in {', '.join(f.zones)} ({f.where}) "
        + ("forces TCP" if f.force_tcp else "lacks prefer_udp")
        for f in cluster.nodelocal.forwards
        if f.catch_all and (f.force_tcp or not f.prefer_udp)
    ]
    if not lacking:
        return None
    return Draft(
        "upstream_tcp_unsupported",
        "NodeLocal DNSCache runs, and the forward path to these upstreams may use TCP.",
        tuple(lacking),
        "Add `prefer_udp` to the `forward .` block of the CoreDNS Corefile (and of NodeLocal's), so "
        "queries that arrive over TCP still go upstream over UDP.",
        {"forwards_without_prefer_udp": lacking},
    )


CAUSE = Cause(
    id="upstream_tcp_unsupported",
    severity="warning",
    title="An upstream answers over UDP but not over TCP",
    group=Group.UPSTREAM,
    meaning=(
        "An upstream answers over UDP but not over TCP, while a hop before it (NodeLocal's `force_tcp`) "
        "makes the query TCP."
    ),
    probe="`upstream` UDP answers, TCP fails",
    signals="api: `k8s_dns_corefile_problems` (forward options)",
    alert=AlertEvidence(
        text="Upstream TCP probes failing: {v}.",
        query='count(k8s_dns_probe_success{path="upstream",transport="tcp"} == 0)',
    ),
    rules=(from_probes, from_api),
    probed=True,
    path="upstream",
)
