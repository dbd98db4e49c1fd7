"""The node's conntrack table is full, or dropping flows: new UDP and TCP flows, DNS queries included,
are dropped when no entry is free."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.read import pct
from exporter.diagnosis.stats import Stats

CONNTRACK_DROPS_RISING = 1
"""drop + early_drop growth over the window that names a full table."""


def conntrack_table_full(obs: Observations, stats: Stats) -> Draft | None:
    node = obs.node
    if node is None or node.conntrack is None:
        return None
    ct = node.conntrack
    grown = node.increases
    drops = (grown.conntrack_drop or 0) + (grown.conntrack_early_drop or 0) if grown else 0
    fill = ct.fill_ratio
    limit = obs.thresholds.conntrack_fill
    full = fill is not None and fill >= limit
    if not full and drops < CONNTRACK_DROPS_RISING:
        return None
    evidence = [f"conntrack entries {ct.entries} of {ct.limit if ct.limit else 'unknown'} limit"]
    if fill is not None:
        evidence[0] += f" ({pct(fill)} full; named from {pct(limit)})"
    if grown is not None:
        evidence.append(
            f"over the last {grown.seconds:.0f}s: drop +{grown.conntrack_drop}, "
            f"early_drop +{grown.conntrack_early_drop}"
        )
    evidence.append(f"since boot: drop {ct.drop}, early_drop {ct.early_drop}")
    return Draft(
        "conntrack_table_full",
        "The node's conntrack table is "
        + (f"{pct(fill)} full" if full and fill is not None else "dropping packets")
        + ": new UDP and TCP flows, DNS queries included, are dropped when no entry is free.",
        tuple(evidence),
        "Raise the table size on the node (sysctl net.netfilter.nf_conntrack_max, and nf_conntrack_buckets "
        "to match), find what fills it (`conntrack -L | awk '{print $1}' | sort | uniq -c`), and "
        "consider NodeLocal DNSCache, whose node-local traffic is not tracked.",
        {"entries": ct.entries, "limit": ct.limit, "fill_ratio": fill, "drops_in_window": drops},
    )


CAUSE = Cause(
    id="conntrack_table_full",
    severity="warning",
    title="The node's conntrack table is full",
    group=Group.NETWORK,
    meaning="The node's conntrack table is full; new flows, DNS queries first, are dropped at peak times.",
    probe="timeouts on every path from this node at peaks",
    signals=(
        "node: `k8s_dns_node_conntrack_entries` vs `k8s_dns_node_conntrack_entries_limit`, "
        "`k8s_dns_node_conntrack_drop_total`, `k8s_dns_node_conntrack_early_drop_total`"
    ),
    alert=AlertEvidence(
        text="conntrack table on this node: {v} full.",
        query="max(k8s_dns_node_conntrack_entries / k8s_dns_node_conntrack_entries_limit)",
        format="humanizePercentage",
    ),
    rules=(conntrack_table_full,),
    # A full table drops new flows: every probe from this node fails with it, the pod network looks
    # broken, and the race probe loses answers. The table is the cause to name.
    explains=frozenset({"pod_network_broken", "conntrack_race_a_aaaa"}),
    explains_probed=True,
    scope="node",
)
