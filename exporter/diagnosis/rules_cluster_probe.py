"""Causes that need the cluster readings and the probes (or the node readings) together."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from exporter.cluster.readings import ClusterReadings
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.stats import Stats
from exporter.node import NodeReadings
from exporter.probe.result import Reason

Rule = Callable[[Observations, Stats], Draft | None]

IPVS_WINDOW = 330.0
"""IPVS keeps UDP flows to a removed endpoint for about five minutes; a little margin on top."""


def cluster_of(obs: Observations) -> ClusterReadings | None:
    cluster = obs.cluster
    return cluster if isinstance(cluster, ClusterReadings) and cluster.leader else None


def resolv_conf_modified(node: Any) -> float | None:
    """When the node's resolv.conf last changed (Unix time), from the node readings, if any.

    Node readings exist where the host files are mounted (the DaemonSet agent); cluster
    readings on the elected cluster instance. Both meet in one process only when a
    cluster-mode instance also reads a node's files; across instances the same check is
    a PromQL comparison (see docs/runbooks/node_dns_config_stale.md).
    """
    conf = node.resolv_conf if isinstance(node, NodeReadings) else None
    return conf.modified if conf is not None else None


def _host(server: str) -> str:
    return server.rsplit(":", 1)[0].strip("[]")


def dns_port_blocked(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None or cluster.policies is None or cluster.pods is None:
        return None
    policies = cluster.coredns_policies
    if not policies:
        return None
    blocked = []
    for server in stats.path("pod"):
        pod = cluster.pod_at(_host(server.server))
        if pod is not None and pod.ready and server.all.silent and server.all.reasons.get(Reason.TIMEOUT):
            blocked.append((server, pod))
    if not blocked:
        return None
    evidence = tuple(
        f"pod {s.server} ({pod.name}) is Ready, yet {s.all.reasons[Reason.TIMEOUT]}/{s.all.total} probes "
        "timed out"
        for s, pod in blocked
    ) + tuple(
        f"NetworkPolicy {p.name} selects the CoreDNS pods and "
        + ("admits port 53 from some sources only" if p.allows_dns else "admits no traffic to port 53")
        for p in policies
        if p.ingress
    )
    return Draft(
        "dns_port_blocked",
        f"{len(blocked)} Ready CoreDNS pod(s) do not answer from here while NetworkPolicies select them: "
        "port 53 is blocked on the way.",
        evidence,
        "Let UDP and TCP port 53 reach the CoreDNS pods from every namespace (an ingress rule with an "
        "empty namespaceSelector on ports 53/UDP and 53/TCP); then check security groups or NSGs "
        "between the nodes.",
        {"pods": [s.server for s, _ in blocked], "policies": [p.name for p in policies]},
    )


def ipvs_udp_stale(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    if cluster is None or cluster.kube_proxy_mode != "ipvs":
        return None
    recent = [(server, at) for server, at in cluster.endpoints_removed if obs.now - at <= IPVS_WINDOW]
    failing = [s for s in stats.path("service") if s.transport("udp").failing]
    pods = stats.path("pod")
    if not recent or not failing or (pods and not any(p.all.answering for p in pods)):
        return None
    removed_at = min(at for _, at in recent)
    first_failure = min(
        (r.timestamp for round_ in obs.rounds for r in round_.results if r.path == "service" and not r.ok),
        default=0.0,
    )
    if first_failure and first_failure < removed_at - 1.0:
        return None  # the Service failed before any endpoint went away: not this cause
    return Draft(
        "ipvs_udp_stale",
        "UDP to the kube-dns Service fails since a CoreDNS endpoint went away, and kube-proxy runs in "
        "IPVS mode: IPVS still sends some flows to the removed pod (for about 5 minutes).",
        tuple(f"endpoint {server} removed {obs.now - at:.0f}s ago" for server, at in recent)
        + tuple(
            f"service {s.server}: udp {s.transport('udp').failed}/{s.transport('udp').total} failed"
            for s in failing
        )
        + ("kube-proxy mode: ipvs",),
        "It clears by itself within about 5 minutes. To stop it: run NodeLocal DNSCache (it talks TCP "
        "to CoreDNS), or shorten the IPVS UDP timeout (kube-proxy --ipvs-udp-timeout), or upgrade the "
        "node kernel.",
        {"removed": [server for server, _ in recent]},
    )


def upstream_tcp_unsupported(obs: Observations, stats: Stats) -> Draft | None:
    """The API half: NodeLocal forwards over TCP and no forward block says prefer_udp."""
    cluster = cluster_of(obs)
    if cluster is None or cluster.nodelocal is None or not cluster.nodelocal.present:
        return None
    affected = [
        u for u in stats.path("upstream") if u.transport("udp").answering and u.transport("tcp").failing
    ]
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


def node_dns_config_stale(obs: Observations, stats: Stats) -> Draft | None:
    cluster = cluster_of(obs)
    changed = resolv_conf_modified(obs.node)
    if cluster is None or changed is None or cluster.pods is None or cluster.corefile is None:
        return None
    root = cluster.corefile.root_forward
    if root is None or not any(target.startswith("/") for target in root.targets):
        return None  # CoreDNS does not read the node's resolv.conf
    stale = [p for p in cluster.live_pods if p.start_time is not None and p.start_time < changed]
    if not stale:
        return None
    return Draft(
        "node_dns_config_stale",
        f"The node's resolv.conf changed after {len(stale)} CoreDNS pod(s) started: they still forward "
        "to the servers it listed before.",
        (
            f"node resolv.conf modified at {changed:.0f} (Unix time)",
            f"CoreDNS forwards to {' '.join(root.targets)}",
            *(f"pod {p.name} started at {p.start_time:.0f}" for p in stale if p.start_time is not None),
        ),
        "Restart the node network service (or the nodes) so resolv.conf is current everywhere, then "
        "restart CoreDNS: `kubectl -n kube-system rollout restart deployment coredns`.",
        {"pods": [p.name for p in stale], "resolv_conf_modified": changed},
    )


RULES: tuple[Rule, ...] = (dns_port_blocked, ipvs_udp_stale, upstream_tcp_unsupported, node_dns_config_stale)
