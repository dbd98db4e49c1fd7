"""Causes read from the probes alone, by comparing the paths with each other."""

from __future__ import annotations

from collections.abc import Callable

from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.stats import ServerStats, Stats, Tally
from exporter.probe.result import Reason

Rule = Callable[[Observations, Stats], Draft | None]


def _servers(stats: list[ServerStats]) -> str:
    return ", ".join(s.server for s in stats)


def _state(s: ServerStats) -> str:
    if not s.all.failed:
        return f"{s.path} {s.server}: all {s.all.total} probes answered"
    return f"{s.path} {s.server}: {s.all.failed}/{s.all.total} probes failed ({s.all.top_reason()})"


def pod_network_broken(obs: Observations, stats: Stats) -> Draft | None:
    direct = [s for s in stats.servers.values() if s.path != "resolver"]
    paths = {s.path for s in direct}
    if len(direct) < 2 or len(paths) < 2 or not all(s.all.silent for s in direct):
        return None
    return Draft(
        "pod_network_broken",
        f"No DNS server answers from this node: all {len(direct)} servers on {len(paths)} paths "
        "time out or refuse the connection, TCP included.",
        tuple(_state(s) for s in direct),
        "Check the CNI on this node (its pods, logs and routes); test from a debug pod on the "
        "node with `dig @<CoreDNS pod IP>` and `ping`; restart the CNI agent or drain the node.",
        {"servers": [s.server for s in direct]},
    )


def coredns_unavailable(obs: Observations, stats: Stats) -> Draft | None:
    pods = stats.path("pod")
    if not pods or not all(p.down for p in pods):
        return None
    service = stats.path("service")
    if service and not all(s.down for s in service):
        return None
    return Draft(
        "coredns_unavailable",
        f"None of the {len(pods)} CoreDNS pods answers" + (", nor the kube-dns Service." if service else "."),
        tuple(_state(s) for s in pods + service),
        "Look at the CoreDNS pods: `kubectl -n kube-system get pods -l k8s-app=kube-dns -o wide`, "
        "then `describe` and `logs` of one that is not Ready; a Corefile error shows in the logs.",
        {"pods": [p.server for p in pods]},
    )


def service_routing_broken(obs: Observations, stats: Stats) -> Draft | None:
    service = [s for s in stats.path("service") if s.down]
    pods = stats.path("pod")
    if not service or not pods or not all(p.all.answering for p in pods):
        return None
    return Draft(
        "service_routing_broken",
        f"The kube-dns Service ({_servers(service)}) fails from this node while all {len(pods)} "
        "CoreDNS pods answer directly: the Service VIP does not lead to the pods.",
        tuple(_state(s) for s in service + pods),
        "Check kube-proxy on this node (its logs, and that its iptables or IPVS rules list the "
        "current CoreDNS endpoints); restart kube-proxy if its rules are stale.",
        {"service": [s.server for s in service], "pods": [p.server for p in pods]},
    )


def nodelocal_down(obs: Observations, stats: Stats) -> Draft | None:
    nodelocal = [s for s in stats.path("nodelocal") if s.down]
    behind = stats.path("service") or stats.path("pod")
    if not nodelocal or not behind or not any(s.all.answering for s in behind):
        return None
    return Draft(
        "nodelocal_down",
        f"NodeLocal DNSCache ({_servers(nodelocal)}) fails on this node while cluster DNS answers.",
        tuple(_state(s) for s in nodelocal + behind),
        "Check the node-local-dns pod on this node (`kubectl -n kube-system get pods -l "
        "k8s-app=node-local-dns -o wide`), its logs and its Corefile; restart it.",
        {"nodelocal": [s.server for s in nodelocal]},
    )


def upstream_unreachable(obs: Observations, stats: Stats) -> Draft | None:
    silent = [s for s in stats.path("upstream") if s.all.silent]
    if not silent:
        return None
    return Draft(
        "upstream_unreachable",
        f"{len(silent)} upstream server(s) do not answer: {_servers(silent)}.",
        tuple(_state(s) for s in silent),
        "Test the upstream from a CoreDNS pod's network namespace (`dig @<upstream>`); check "
        "routes, firewalls and security groups to it, and that it still runs.",
        {"upstreams": [s.server for s in silent]},
    )


def coredns_config_error(obs: Observations, stats: Stats) -> Draft | None:
    cluster = stats.path("pod") or stats.path("service")
    upstreams = stats.path("upstream")
    if not cluster or not upstreams:
        return None
    external_fail = all(s.kind("external").failing for s in cluster)
    internal_ok = all(s.kind("internal").answering or s.kind("internal").total == 0 for s in cluster)
    upstream_ok = any(u.kind("external").answering for u in upstreams)
    if not (external_fail and internal_ok and upstream_ok):
        return None
    return Draft(
        "coredns_config_error",
        "External names fail through CoreDNS while the upstream servers answer them directly: "
        "CoreDNS does not forward as it should.",
        tuple(
            f"{s.path} {s.server}: external names {s.kind('external').failed}/"
            f"{s.kind('external').total} failed ({s.kind('external').top_reason()})"
            for s in cluster
        )
        + tuple(
            f"upstream {u.server}: external names answer" for u in upstreams if u.kind("external").answering
        ),
        "Read the Corefile and any coredns-custom ConfigMap (`kubectl -n kube-system get cm "
        "coredns coredns-custom -o yaml`): check the forward block and its targets.",
        {},
    )


def coredns_api_unreachable(obs: Observations, stats: Stats) -> Draft | None:
    pods = stats.path("pod")
    if not pods:
        return None
    affected = [
        p
        for p in pods
        if p.kind("internal").failing
        and p.kind("external").answering
        and _api_failures(p.kind("internal")) * 2 > p.kind("internal").failed
    ]
    if not affected:
        return None
    return Draft(
        "coredns_api_unreachable",
        f"{len(affected)} CoreDNS pod(s) fail internal names but resolve external ones: they "
        "cannot read Services from the Kubernetes API.",
        tuple(
            f"pod {p.server}: internal {p.kind('internal').failed}/{p.kind('internal').total} "
            f"failed ({p.kind('internal').top_reason()}), external answer"
            for p in affected
        ),
        "Check the CoreDNS logs for API errors and that the pods reach the API server (its "
        "Service IP and port 443/6443); look at kube-proxy and the API server's health.",
        {"pods": [p.server for p in affected]},
    )


_API_REASONS = frozenset({Reason.SERVFAIL, Reason.TIMEOUT, Reason.REFUSED, Reason.NETWORK_ERROR})


def _api_failures(tally: Tally) -> int:
    """Failures of the kind a CoreDNS without the API gives (SERVFAIL, no answer), not NXDOMAIN."""
    return sum(n for reason, n in tally.reasons.items() if reason in _API_REASONS)


def response_truncated(obs: Observations, stats: Stats) -> Draft | None:
    cases = []
    for s in stats.servers.values():
        for (name, qtype, transport), result in s.latest.items():
            if transport != "udp" or result.reason is not Reason.TRUNCATED:
                continue
            over_tcp = s.latest.get((name, qtype, "tcp"))
            tcp = (
                f"{over_tcp.answer_count} records over TCP"
                if over_tcp and over_tcp.ok
                else "TCP not probed or failing"
            )
            cases.append(
                f"{s.path} {s.server}: {name} {qtype} truncated over UDP "
                f"({result.answer_count} records), {tcp}"
            )
    if not cases:
        return None
    return Draft(
        "response_truncated",
        f"{len(cases)} UDP answer(s) come back truncated (TC flag): clients must retry over TCP.",
        tuple(cases),
        "Let clients use TCP for these names (glibc: `options use-vc` in the pod dnsConfig; Go: a "
        "resolver that dials tcp), or reduce the number of endpoints behind the headless Service.",
        {},
    )


def upstream_tcp_unsupported(obs: Observations, stats: Stats) -> Draft | None:
    affected = [
        u for u in stats.path("upstream") if u.transport("udp").answering and u.transport("tcp").failing
    ]
    if not affected:
        return None
    return Draft(
        "upstream_tcp_unsupported",
        f"{len(affected)} upstream server(s) answer over UDP but not over TCP: {_servers(affected)}.",
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


RULES: tuple[Rule, ...] = (
    pod_network_broken,
    coredns_unavailable,
    service_routing_broken,
    nodelocal_down,
    upstream_unreachable,
    coredns_config_error,
    coredns_api_unreachable,
    response_truncated,
    upstream_tcp_unsupported,
)
