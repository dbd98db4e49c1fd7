"""The diagnosis report: causes first, then the observations behind them.

:class:`Report` is typed: ``doctor`` and ``/diagnose?format=text`` render it as
text (``exporter.text``), ``/diagnose`` and ``doctor --format json`` as the JSON
document :meth:`Report.as_dict` returns.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from exporter.cluster.readings import ClusterReadings
from exporter.diagnosis.model import Finding
from exporter.hops import order
from exporter.node.readings import NodeReadings
from exporter.probe.result import ProbeResult
from exporter.snapshot import Snapshot
from exporter.status import CollectorRun
from exporter.targets.discovery import DiscoveryReadings
from exporter.targets.plan import PathPlan
from exporter.vantage import Split, VantageReadings, splits


@dataclass(frozen=True, slots=True)
class Report:
    generated_at: float
    findings: tuple[Finding, ...]
    results: tuple[ProbeResult, ...]
    """The last round's results, by hop, server, name, type and transport."""
    source_errors: dict[str, str]
    """Target source -> why it could not be read in the last round."""
    collectors: dict[str, CollectorRun]
    node: NodeReadings | None = None
    cluster: ClusterReadings | None = None
    discovery: DiscoveryReadings | None = None
    plan: tuple[PathPlan, ...] = ()
    """The last round's plan, hop by hop, with why each target is in it."""
    known: dict[str, int] = field(default_factory=dict)
    """Hop -> servers known before the round chose its share (where it chose one)."""
    vantage: str = "pod"
    node_vantage: VantageReadings | None = None
    splits: tuple[Split, ...] = ()
    """Names that fail from the pod network while the node resolves them."""

    @property
    def failed(self) -> tuple[ProbeResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    @property
    def healthy(self) -> bool:
        return not self.findings and not self.failed and not self.source_errors and not self.splits

    def as_dict(self) -> dict[str, Any]:
        """One JSON-ready document: causes first, then the raw observations behind them."""
        return {
            "generated_at": self.generated_at,
            "healthy": self.healthy,
            "vantage": self.vantage,
            "causes": [f.as_dict() for f in self.findings],
            "fails_from_pods_works_from_node": [s.as_dict() for s in self.splits],
            "summary": {
                "probes": len(self.results),
                "failed": len(self.failed),
                "paths": sorted({r.path for r in self.results}, key=order),
            },
            "plan": [
                {
                    "path": share.path,
                    "targets": [{"server": server, "reason": reason} for server, reason in share.targets],
                    "known": self.known.get(share.path, len(share.targets)),
                    "probes": share.probes,
                    "queries": share.queries,
                }
                for share in self.plan
            ],
            "probes": [_result(r) for r in self.results],
            "source_errors": dict(self.source_errors),
            "collectors": {
                name: {"success": run.ok, "error": run.error} for name, run in sorted(self.collectors.items())
            },
            "node": self.node.as_dict() if self.node is not None else None,
            "cluster": self.cluster.as_dict() if self.cluster is not None else None,
            "discovery": self.discovery.as_dict() if self.discovery is not None else None,
            "node_vantage": self.node_vantage.as_dict() if self.node_vantage is not None else None,
        }


def build_report(snapshot: Snapshot) -> Report:
    """The report of ``snapshot``: the findings and the latest round's results."""
    rounds = snapshot.probes.rounds
    latest = rounds[-1] if rounds else None
    return Report(
        generated_at=time.time(),
        findings=snapshot.findings,
        results=tuple(sorted(latest.results, key=_result_order)) if latest else (),
        source_errors=dict(latest.source_errors) if latest else {},
        collectors=snapshot.status.runs,
        node=snapshot.node,
        cluster=snapshot.cluster,
        discovery=snapshot.discovery,
        plan=latest.plan.paths() if latest is not None and latest.plan is not None else (),
        known=dict(latest.targets.known) if latest is not None and latest.targets is not None else {},
        vantage=snapshot.config.vantage,
        node_vantage=snapshot.node_vantage,
        splits=splits(rounds, snapshot.node_vantage),
    )


def _result_order(result: ProbeResult) -> tuple[int, str, str, str, str]:
    return (order(result.path), result.server, result.name, result.qtype, result.transport)


def _result(result: ProbeResult) -> dict[str, Any]:
    return {
        "path": result.path,
        "server": result.server,
        "name": result.name,
        "qtype": result.qtype,
        "transport": result.transport,
        "result": "success" if result.ok else str(result.reason),
        "rcode": result.rcode,
        "latency_seconds": None if result.latency is None else round(result.latency, 6),
        "connect_seconds": None if result.connect is None else round(result.connect, 6),
        "answers": list(result.answers),
        "answer_count": result.answer_count,
        "truncated": result.truncated,
        "queries": result.queries,
        "detail": result.detail,
        "timestamp": result.timestamp,
    }
