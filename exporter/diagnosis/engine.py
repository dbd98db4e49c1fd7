"""Run every rule over one snapshot; keep only the causes no other active cause explains."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from exporter.diagnosis.agreement import (
    Comparison,
    compare_upstreams,
    upstream_error,
    upstream_mixed_resolvers,
)
from exporter.diagnosis.catalog import CAUSES, SEVERITY_ORDER, runbook_url
from exporter.diagnosis.draft import Draft
from exporter.diagnosis.model import Finding, Observations
from exporter.diagnosis.rules_cluster import RULES as CLUSTER_RULES
from exporter.diagnosis.rules_node import RULES as NODE_RULES
from exporter.diagnosis.rules_pod_dns import RULES as POD_DNS_RULES
from exporter.diagnosis.rules_probe import RULES as PROBE_RULES
from exporter.diagnosis.rules_resolver import pod_resolv_conf_wrong
from exporter.diagnosis.stats import Stats

Rule = Callable[[Observations, Stats], Draft | None]

RULES: tuple[Rule, ...] = (
    *PROBE_RULES,
    upstream_mixed_resolvers,
    upstream_error,
    pod_resolv_conf_wrong,
    *NODE_RULES,
    *CLUSTER_RULES,
    *POD_DNS_RULES,
)

PROBE_CAUSES = frozenset(
    {
        "coredns_unavailable", "service_routing_broken", "nodelocal_down", "upstream_unreachable",
        "upstream_error", "upstream_tcp_unsupported", "coredns_config_error", "coredns_api_unreachable",
        "response_truncated", "dns_port_blocked", "coredns_overloaded",
    }
)  # fmt: skip
"""Causes told from what this node's probes see, which a broken network on the node hides.
Not here: causes read from files and objects (the node resolv.conf listing Azure DNS, the pod
resolv.conf), which stay true whatever the network does."""

EXPLAINS: dict[str, frozenset[str]] = {
    # When the pod network is down no probe can tell the hops apart; the node's own readings still can.
    "pod_network_broken": PROBE_CAUSES,
    # A full table drops new flows: every probe from this node fails with it, the pod network
    # looks broken, and the race probe loses answers. The table is the cause to name.
    "conntrack_table_full": PROBE_CAUSES | {"pod_network_broken", "conntrack_race_a_aaaa"},
    # Dead CoreDNS explains failures behind it.
    "coredns_unavailable": frozenset(
        {
            "service_routing_broken",
            "nodelocal_down",
            "coredns_config_error",
            "coredns_api_unreachable",
            "coredns_overloaded",
        }
    ),
    # Ready CoreDNS pods that time out behind a NetworkPolicy are blocked, not down.
    "dns_port_blocked": frozenset({"coredns_unavailable"}),
    # IPVS sending UDP to a removed endpoint is the Service's routing failing, with its reason.
    "ipvs_udp_stale": frozenset({"service_routing_broken"}),
    # An unreachable upstream explains errors seen through it.
    "upstream_unreachable": frozenset({"upstream_error", "coredns_config_error"}),
}
"""Cause -> causes whose symptoms it produces; those are not named beside it."""


def diagnose(
    observations: Observations,
    *,
    runbook_base: str = "docs/runbooks",
    rules: Sequence[Rule] = RULES,
) -> list[Finding]:
    """The active causes, most severe first. A pure function of ``observations``."""
    stats = Stats(observations.rounds, observations.names)
    drafts = merge([draft for rule in rules if (draft := rule(observations, stats)) is not None])
    active = {d.cause for d in drafts}
    explained = set().union(*(EXPLAINS.get(c, frozenset()) for c in active))
    findings = []
    for draft in drafts:
        if draft.cause in explained:
            continue
        cause = CAUSES[draft.cause]
        findings.append(
            Finding(
                cause=cause.id,
                severity=cause.severity,
                title=cause.title,
                summary=draft.summary,
                evidence=draft.evidence,
                fix=draft.fix,
                runbook=runbook_url(cause.id, runbook_base),
                facts=draft.facts,
            )
        )
    findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.cause))
    return findings


def upstream_comparisons(observations: Observations) -> list[Comparison]:
    """How the upstreams answered each name they were asked, for ``k8s_dns_upstream_disagreement``."""
    return compare_upstreams(Stats(observations.rounds, observations.names), observations.names)


def merge(drafts: Sequence[Draft]) -> list[Draft]:
    """One draft per cause: a cause seen by the probes and by the API reads as one finding."""
    by_cause: dict[str, Draft] = {}
    for draft in drafts:
        first = by_cause.get(draft.cause)
        if first is None:
            by_cause[draft.cause] = draft
            continue
        by_cause[draft.cause] = Draft(
            draft.cause,
            f"{first.summary} {draft.summary}",
            first.evidence + tuple(e for e in draft.evidence if e not in first.evidence),
            first.fix if draft.fix == first.fix else f"{first.fix} {draft.fix}",
            {**first.facts, **draft.facts},
        )
    return list(by_cause.values())


class Findings:
    """The latest diagnosis, shared between the round that computes it and the readers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._findings: tuple[Finding, ...] = ()
        self._comparisons: tuple[Comparison, ...] = ()

    def set(self, findings: Sequence[Finding], comparisons: Sequence[Comparison] = ()) -> None:
        with self._lock:
            self._findings = tuple(findings)
            self._comparisons = tuple(comparisons)

    def get(self) -> tuple[Finding, ...]:
        with self._lock:
            return self._findings

    def comparisons(self) -> tuple[Comparison, ...]:
        with self._lock:
            return self._comparisons
