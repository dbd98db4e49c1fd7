"""What a cause is: its catalog entry, its row of docs/causes.md, its alert's evidence, its rules."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from exporter.diagnosis.draft import Rule

Severity = Literal["critical", "warning"]
SEVERITY_ORDER: dict[str, int] = {"critical": 0, "warning": 1}


class Group(StrEnum):
    """The sections of docs/causes.md, in their order: where in the DNS path a cause lives."""

    COREDNS = "CoreDNS"
    SERVICE_ROUTING = "Service routing and kube-proxy"
    NETWORK = "Network and node"
    UPSTREAM = "Upstream DNS"
    CLIENT = "Client configuration"
    NODELOCAL = "NodeLocal DNSCache"
    API_OBJECTS = "API objects"


@dataclass(frozen=True, slots=True)
class AlertEvidence:
    """The PromQL whose value the cause's alert prints, and how to print it.

    A cause alert fires from ``k8s_dns_cause_active``; its description adds the raw
    metric behind the cause, read at alert time with the template ``query`` function,
    so the page shows the number an engineer would look up first.
    """

    text: str
    """Sentence with ``{v}`` where the value goes."""
    query: str
    format: str = "humanize"
    """Template function that prints the value: humanize, humanizePercentage, humanizeDuration."""


@dataclass(frozen=True, slots=True)
class Cause:
    """One documented cause: ``exporter/causes/<id>.py`` holds it as ``CAUSE``."""

    id: str
    """Stable: in ``k8s_dns_cause_active{cause}``, /diagnose, alert names and docs/runbooks/<id>.md."""
    severity: Severity
    title: str
    group: Group
    meaning: str
    """docs/causes.md, column "meaning" (Markdown)."""
    probe: str
    """docs/causes.md, column "probe": what the probes show."""
    signals: str
    """docs/causes.md, column "node / api": what the node and API readings show."""
    alert: AlertEvidence
    rules: tuple[Rule, ...]
    """The rules that name it; their drafts merge into one finding in this order."""
    explains: frozenset[str] = frozenset()
    """Causes whose symptoms this one produces: while it is active they are not named beside it."""
    probed: bool = False
    """Told from this node's probes, which a broken network on the node hides."""
    explains_probed: bool = False
    """Explains every ``probed`` cause as well (the node's network itself is at fault)."""
    standing: bool = False
    """Read from configuration or API objects: it does not flap, so its alert waits longer."""

    @property
    def order(self) -> tuple[int, int, str]:
        """By docs section, then critical before warning, then id."""
        return (list(Group).index(self.group), SEVERITY_ORDER[self.severity], self.id)
