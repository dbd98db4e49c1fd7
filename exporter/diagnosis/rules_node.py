"""Causes read from the node: conntrack, UDP loss, CPU, the node resolv.conf, the A+AAAA race probe.

Each rule reads :class:`~exporter.node.NodeReadings` (``Observations.node``);
"rising" means a counter grew over the readings' window (one sample per probe
round). The fill threshold comes from ``diagnosis.thresholds.conntrack_fill``;
the others are constants here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.stats import NO_REPLY, Stats
from exporter.node import NodeReadings

Rule = Callable[[Observations, Stats], Draft | None]

CONNTRACK_DROPS_RISING = 1
"""drop + early_drop growth over the window that names a full table."""
INSERT_FAILED_RISING = 1
"""insert_failed growth over the window that names the race."""
RACE_LOSS_RATIO = 0.1
"""Share of race probes with a lost answer (while no sequential query lost one) that names the race."""
UDP_ERRORS_RISING = 1
"""Udp InErrors (or RcvbufErrors) growth over the window that names an overloaded client."""
CPU_PRESSURE_HIGH = 0.8
"""PSI cpu 'some' share of the window: tasks waited for a CPU most of the time."""
CPU_BUSY_HIGH = 0.95
RESOLV_CONF_CHANGE_HOLD = 3600.0
"""Seconds a change of the node's nameservers stays named (until restarts can be checked via the API)."""


def _node(obs: Observations) -> NodeReadings | None:
    return obs.node if isinstance(obs.node, NodeReadings) else None


def _pct(ratio: float) -> str:
    return f"{ratio * 100:.1f}%"


def conntrack_table_full(obs: Observations, stats: Stats) -> Draft | None:
    node = _node(obs)
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
        evidence[0] += f" ({_pct(fill)} full; named from {_pct(limit)})"
    if grown is not None:
        evidence.append(
            f"over the last {grown.seconds:.0f}s: drop +{grown.conntrack_drop}, "
            f"early_drop +{grown.conntrack_early_drop}"
        )
    evidence.append(f"since boot: drop {ct.drop}, early_drop {ct.early_drop}")
    return Draft(
        "conntrack_table_full",
        "The node's conntrack table is "
        + (f"{_pct(fill)} full" if full and fill is not None else "dropping packets")
        + ": new UDP and TCP flows, DNS queries included, are dropped when no entry is free.",
        tuple(evidence),
        "Raise the table size on the node (sysctl net.netfilter.nf_conntrack_max, and nf_conntrack_buckets "
        "to match), find what fills it (`conntrack -L | awk '{print $1}' | sort | uniq -c`), and "
        "consider NodeLocal DNSCache, whose node-local traffic is not tracked.",
        {"entries": ct.entries, "limit": ct.limit, "fill_ratio": fill, "drops_in_window": drops},
    )


def conntrack_race_a_aaaa(obs: Observations, stats: Stats) -> Draft | None:
    node = _node(obs)
    if node is None:
        return None
    race = node.race
    grown = node.increases
    insert_failed = grown.conntrack_insert_failed if grown else None
    counters = insert_failed is not None and insert_failed >= INSERT_FAILED_RISING
    probes = (
        race.lost > 0 and race.sequential_lost == 0 and race.lost / max(race.probes, 1) >= RACE_LOSS_RATIO
    )
    if not counters and not probes:
        return None
    evidence = []
    if race.probes:
        evidence.append(
            f"race probes (A and AAAA together from one socket): {race.lost} answer(s) lost in "
            f"{race.probes} probe(s); the same queries sent one by one: {race.sequential_lost} lost"
        )
        evidence.extend(
            f"{t.path} {t.server} {t.name}: {t.lost} lost together, {t.sequential_lost} one by one"
            for t in race.targets
            if t.lost
        )
    if grown is not None:
        clash = grown.conntrack_clash_resolve
        evidence.append(
            f"over the last {grown.seconds:.0f}s: conntrack insert_failed +{insert_failed}"
            + (f", clash_resolve +{clash}" if clash is not None else "")
        )
    return Draft(
        "conntrack_race_a_aaaa",
        "A and AAAA queries sent at once from one source port lose answers on this node "
        "(conntrack insert races): clients wait their full timeout, 5 s by default.",
        tuple(evidence),
        "Stop sending both queries from one socket at once: glibc `options single-request-reopen` "
        "(or `single-request`) in the pod dnsConfig, glibc 2.33 or later, or NodeLocal DNSCache, "
        "whose traffic skips conntrack. musl (Alpine) cannot be told to: use another base image.",
        {"race_probes": race.probes, "race_lost": race.lost, "sequential_lost": race.sequential_lost},
    )


def client_overloaded(obs: Observations, stats: Stats) -> Draft | None:
    node = _node(obs)
    grown = node.increases if node is not None else None
    if node is None or grown is None:
        return None
    udp = max(grown.udp_in_errors or 0, grown.udp_receive_buffer_errors or 0)
    pressure, busy = grown.cpu_pressure_ratio, grown.cpu_busy_ratio
    cpu_high = (pressure is not None and pressure >= CPU_PRESSURE_HIGH) or (
        busy is not None and busy >= CPU_BUSY_HIGH
    )
    # Lost replies from servers that otherwise answer: a dead server has causes of its own.
    timeouts = sum(s.all.reasons[r] for s in stats.servers.values() if s.all.answering for r in NO_REPLY)
    if udp < UDP_ERRORS_RISING and not (cpu_high and timeouts):
        return None
    evidence = [
        f"over the last {grown.seconds:.0f}s: Udp InErrors +{grown.udp_in_errors}, RcvbufErrors "
        f"+{grown.udp_receive_buffer_errors}, SndbufErrors +{grown.udp_send_buffer_errors}, "
        f"Tcp RetransSegs +{grown.tcp_retransmitted_segments}"
    ]
    if pressure is not None:
        evidence.append(f"CPU pressure: some task waited for a CPU {_pct(pressure)} of the time")
    if busy is not None:
        evidence.append(f"CPU busy: {_pct(busy)} of all CPUs")
    if timeouts:
        evidence.append(f"{timeouts} probe(s) of answering servers got no reply in the diagnosis window")
    # Say only what the counters show: saturated CPUs with lost replies need no UDP error.
    seen = ["drops UDP it receives"] if udp >= UDP_ERRORS_RISING else []
    seen += ["runs with its CPUs saturated"] if cpu_high else []
    return Draft(
        "client_overloaded",
        f"This node {' and '.join(seen)}: DNS answers are lost before the client reads them.",
        tuple(evidence),
        "Find what saturates the node (`top`, `kubectl top pods -A --sort-by=cpu` for its pods) and "
        "move or limit it; enable NodeLocal DNSCache to cut per-node DNS traffic; raise "
        "net.core.rmem_default if receive buffers overflow.",
        {"udp_errors": udp, "cpu_pressure_ratio": pressure, "cpu_busy_ratio": busy},
    )


def node_dns_config_stale(obs: Observations, stats: Stats) -> Draft | None:
    node = _node(obs)
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


RULES: tuple[Rule, ...] = (
    conntrack_table_full,
    conntrack_race_a_aaaa,
    client_overloaded,
    node_dns_config_stale,
)
