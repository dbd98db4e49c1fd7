"""What diagnosis reads (observations) and what it returns (findings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exporter.cluster.readings import ClusterReadings
from exporter.config import NameSpec, Thresholds
from exporter.node import NodeReadings
from exporter.probe.engine import Round


@dataclass(frozen=True, slots=True)
class DnsPlace:
    """Where the cluster DNS lives: the namespace, Service and pod selector discovery located (or the
    configured ones), so fix texts name what a person types, on any distribution."""

    namespace: str = "kube-system"
    service: str = "kube-dns"
    selector: str = "k8s-app=kube-dns"


@dataclass(frozen=True, slots=True, kw_only=True)
class Observations:
    """One snapshot of everything seen: recent probe rounds, node and cluster readings."""

    rounds: tuple[Round, ...]
    """The rounds of the diagnosis window, oldest first."""
    names: tuple[NameSpec, ...]
    configured_paths: frozenset[str]
    """Paths that are configured (a path with no servers still counts: it is expected to answer)."""
    node: NodeReadings | None = None
    """This node's readings, where the host files are mounted (the DaemonSet agent)."""
    cluster: ClusterReadings | None = None
    """The cluster readings (cluster mode); a standby's have ``leader`` False."""
    now: float = 0.0
    thresholds: Thresholds = field(default_factory=Thresholds)
    node_name: str | None = None
    """The node this agent runs on (``$NODE_NAME``), named in what it finds from there."""
    dns: DnsPlace = field(default_factory=DnsPlace)


@dataclass(frozen=True, slots=True)
class Finding:
    """An active cause, with the facts that revealed it and what to do."""

    cause: str
    severity: str
    title: str
    summary: str
    """One sentence an engineer reads first, with the numbers."""
    evidence: tuple[str, ...]
    fix: str
    runbook: str
    facts: dict[str, Any] = field(default_factory=dict)
    """Machine-readable evidence (servers, counts, reasons) for /diagnose."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "cause": self.cause,
            "severity": self.severity,
            "title": self.title,
            "summary": self.summary,
            "evidence": list(self.evidence),
            "fix": self.fix,
            "runbook": self.runbook,
            "facts": self.facts,
        }
