"""What a cause is: its catalog entry, its row of docs/causes.md, its alert's evidence, its rules."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from exporter.diagnosis.draft import Rule

Severity = Literal["critical", "warning", "info"]

SEVERITIES: dict[str, str] = {
    "critical": (
        "Live probe evidence that lookups pods make fail now, widely: on a share of the nodes, through the "
        "Service, or on every CoreDNS pod; not one node or one replica. Only `critical` pages."
    ),
    "warning": "A degradation or a partial failure (one node, one replica, one upstream): a ticket.",
    "info": (
        "A standing risk found in configuration (Corefile, versions, manifests), not a failure seen now: "
        "a ticket that can wait."
    ),
}
"""The severity model, written once: the alert rules, /diagnose, doctor and the docs say the same."""

SEVERITY_ORDER: dict[str, int] = {name: rank for rank, name in enumerate(SEVERITIES)}

Scope = Literal["cluster", "node"]


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
    scope: Scope = "cluster"
    """``node``: a fault of the node that reports it (its conntrack, its NodeLocal, its network); its
    alert is one per node and carries ``node`` and ``instance``. ``cluster``: one alert per cluster."""
    path: str | None = None
    """The probe path whose failures this cause explains in every node's view (``upstream`` for an
    upstream's fault): while its alert fires, the path's ticket-level symptom alerts are inhibited."""

    def __post_init__(self) -> None:
        # Every rule of a cause today can fire on one node's probes or one replica's state: none is
        # `critical` by itself; the symptom alerts page and list the active causes. A cause graded
        # critical must at least be told from live probes.
        if self.severity == "critical" and not self.probed:
            raise ValueError(f"{self.id}: critical needs live probe evidence (probed=True)")
        if self.severity == "info" and not self.standing:
            raise ValueError(f"{self.id}: info is for standing risks read from configuration (standing=True)")

    @property
    def order(self) -> tuple[int, int, str]:
        """By docs section, then severity (critical, warning, info), then id."""
        return (list(Group).index(self.group), SEVERITY_ORDER[self.severity], self.id)
