"""The network's DNS servers changed and clients still use the old list: the node sees its
resolv.conf's nameservers change; with the API, CoreDNS pods that started before the change."""

from __future__ import annotations

import time

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import cluster_of
from exporter.diagnosis.stats import Stats
from exporter.node import NodeReadings

RESOLV_CONF_CHANGE_HOLD = 3600.0
"""Seconds a change of the node's nameservers stays named (until restarts can be checked via the API)."""


def resolv_conf_modified(node: NodeReadings | None) -> float | None:
    """When the node's resolv.conf last changed (Unix time), from the node readings, if any.

    Node readings exist where the host files are mounted (the DaemonSet agent); cluster
    readings on the elected cluster instance. Both meet in one process only when a
    cluster-mode instance also reads a node's files; across instances the same check is
    a PromQL comparison (see docs/runbooks/node_dns_config_stale.md).
    """
    conf = node.resolv_conf if node is not None else None
    return conf.modified if conf is not None else None


def from_node(obs: Observations, stats: Stats) -> Draft | None:
    node = obs.node
    change = node.resolv_conf_change if node is not None else None
    if node is None or change is None:
        return None
    now = obs.now or time.time()
    if now - change.seen_at > RESOLV_CONF_CHANGE_HOLD:
        return None
    file = node.resolv_conf.file if node.resolv_conf is not None else "the node resolv.conf"
    modified = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(change.modified))
    return Draft(
        "node_dns_config_stale",
        f"The node's DNS servers changed ({file}, written {modified}): clients that read the old "
        "list (CoreDNS pods, long-running processes) keep using it until restarted.",
        (
            f"nameservers before: {', '.join(change.before) or 'none'}",
            f"nameservers now: {', '.join(change.after) or 'none'}",
        ),
        "Restart the node's network service (or reboot the node) so everything on it reads the new "
        "servers, then restart CoreDNS: `kubectl -n kube-system rollout restart deployment coredns`.",
        {"before": list(change.before), "after": list(change.after), "modified": change.modified},
    )


def from_api(obs: Observations, stats: Stats) -> Draft | None:
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


CAUSE = Cause(
    id="node_dns_config_stale",
    severity="info",
    title="The network's DNS servers changed; nodes or CoreDNS not restarted",
    group=Group.UPSTREAM,
    meaning="The network's DNS servers changed, but nodes or CoreDNS pods still use the old list.",
    probe="CoreDNS fails names the node's current upstreams answer",
    signals=(
        "node: `k8s_dns_node_resolv_conf_info`, `k8s_dns_node_resolv_conf_modified_timestamp_seconds`; api: "
        "`k8s_dns_coredns_pod_start_time_seconds`"
    ),
    alert=AlertEvidence(
        text="Newest node resolv.conf change: {v} ago.",
        query="time() - max(k8s_dns_node_resolv_conf_modified_timestamp_seconds)",
        format="humanizeDuration",
    ),
    rules=(from_node, from_api),
    standing=True,
)
