"""A and AAAA queries sent at once from one socket collide in conntrack: insert_failed grows, or the
race probe loses answers the same queries sent one by one do not."""

from __future__ import annotations

from exporter.causes._unit import AlertEvidence, Cause, Group
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Observations
from exporter.diagnosis.stats import Stats

INSERT_FAILED_RISING = 1
"""insert_failed growth over the window that names the race."""

RACE_LOSS_RATIO = 0.1
"""Share of race probes with a lost answer (while no sequential query lost one) that names the race."""


def conntrack_race_a_aaaa(obs: Observations, stats: Stats) -> Draft | None:
    node = obs.node
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


CAUSE = Cause(
    id="conntrack_race_a_aaaa",
    severity="warning",
    title="Parallel A and AAAA queries collide in conntrack",
    group=Group.NETWORK,
    meaning=(
        "A and AAAA queries sent together from one socket collide in conntrack; one is lost and the client "
        "waits its full timeout."
    ),
    probe="`k8s_dns_race_probe_lost_total` rises, `k8s_dns_race_sequential_lost_total` does not",
    signals=(
        "node: `k8s_dns_node_conntrack_insert_failed_total`, `k8s_dns_node_conntrack_clash_resolve_total`"
    ),
    alert=AlertEvidence(
        text="conntrack insert failures per second on this node: {v}.",
        query="max(rate(k8s_dns_node_conntrack_insert_failed_total[5m]))",
    ),
    rules=(conntrack_race_a_aaaa,),
    scope="node",
)
