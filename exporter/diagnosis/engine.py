"""Run every rule over one snapshot; keep only the causes no other active cause explains."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from exporter.causes import CAUSES, SEVERITY_ORDER
from exporter.diagnosis.agreement import Comparison, compare_upstreams
from exporter.diagnosis.draft import Draft, Rule
from exporter.diagnosis.model import Finding, Observations
from exporter.diagnosis.stats import Stats

RULES: tuple[Rule, ...] = tuple(rule for cause in CAUSES.values() for rule in cause.rules)
"""Every cause's rules. Drafts of one cause merge in the order of its rules."""

PROBE_CAUSES = frozenset(cause.id for cause in CAUSES.values() if cause.probed)
"""Causes told from what this node's probes see, which a broken network on the node hides.
Not here: causes read from files and objects (the node resolv.conf listing Azure DNS, the pod
resolv.conf), which stay true whatever the network does."""

EXPLAINS: dict[str, frozenset[str]] = {
    cause.id: cause.explains | (PROBE_CAUSES if cause.explains_probed else frozenset())
    for cause in CAUSES.values()
    if cause.explains or cause.explains_probed
}
"""Cause -> causes whose symptoms it produces; those are not named beside it."""


def diagnose(
    observations: Observations,
    *,
    runbook_base: str = "docs/runbooks",
    rules: Sequence[Rule] = RULES,
    stats: Stats | None = None,
) -> list[Finding]:
    """The active causes, most severe first. A pure function of ``observations`` (``stats``: their
    statistics, when the caller has built them already)."""
    stats = stats or Stats(observations.rounds, observations.names)
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
                runbook=f"{runbook_base.rstrip('/')}/{cause.id}.md",
                facts=draft.facts,
            )
        )
    findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.cause))
    return findings


def upstream_comparisons(observations: Observations, *, stats: Stats | None = None) -> list[Comparison]:
    """How the upstreams answered each name they were asked, for ``k8s_dns_upstream_disagreement``."""
    return compare_upstreams(stats or Stats(observations.rounds, observations.names), observations.names)


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
